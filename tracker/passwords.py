"""The password policy (等保2.0 身份鉴别): length, character classes, no reuse, optional expiry.

The numbers are settings (tracker/config.py: RECTIFY_PASSWORD_MIN_LENGTH, _CLASSES, _HISTORY,
_MAX_AGE_DAYS). `problems()` says in Chinese what a password lacks; tracker/users.py refuses a
password with any problem wherever one is set (add, reset, change; web, API, CLI).
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from tracker.config import Settings, get_settings

# The four classes, in the order messages name them.
CLASSES: tuple[tuple[str, str], ...] = (
    ("大写字母", string.ascii_uppercase),
    ("小写字母", string.ascii_lowercase),
    ("数字", string.digits),
)
SYMBOL_LABEL = "符号"
MAX_LENGTH = 256


def _classes_of(password: str) -> list[str]:
    """The labels of the classes present; any other visible character counts as a symbol (-, _, !, 中文…)."""
    found = [label for label, chars in CLASSES if any(c in chars for c in password)]
    if any(not c.isspace() and not c.isascii() or (c.isascii() and c in string.punctuation) for c in password):
        found.append(SYMBOL_LABEL)
    return found


def problems(password: str, settings: Settings | None = None) -> list[str]:
    """What the password lacks under the policy, each as a Chinese phrase; empty when it is acceptable."""
    settings = settings or get_settings()
    password = password or ""
    out = []
    if len(password) < settings.password_min_length:
        out.append(f"长度至少 {settings.password_min_length} 位（现为 {len(password)} 位）")
    if len(password) > MAX_LENGTH:
        out.append(f"长度不能超过 {MAX_LENGTH} 位")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        out.append("不能包含换行、制表符等控制字符")
    present = _classes_of(password)
    need = settings.password_classes
    if len(present) < need:
        missing = [label for label, _ in CLASSES if label not in present]
        missing += [] if SYMBOL_LABEL in present else [SYMBOL_LABEL]
        out.append(
            f"须包含大写字母、小写字母、数字、符号中的至少 {need} 类（现有 {len(present)} 类，"
            f"还可加入：{'、'.join(missing)}）"
        )
    return out


def describe(settings: Settings | None = None) -> str:
    """The policy in one sentence, for forms."""
    settings = settings or get_settings()
    text = (
        f"至少 {settings.password_min_length} 位，包含大写字母、小写字母、数字、符号中的至少 "
        f"{settings.password_classes} 类"
    )
    if settings.password_history:
        text += f"，不能与最近 {settings.password_history} 次使用过的密码相同"
    return text


def expired(changed_at: datetime | None, now: datetime, settings: Settings | None = None) -> bool:
    """Whether a password set at `changed_at` has outlived RECTIFY_PASSWORD_MAX_AGE_DAYS (0: never)."""
    settings = settings or get_settings()
    days = settings.password_max_age_days
    return bool(days) and changed_at is not None and changed_at + timedelta(days=days) <= now


_SYMBOLS = "-_!@#%+=?"
_ALPHABET = [c for c in string.ascii_letters + string.digits if c not in "Il1O0o"]  # no look-alikes


def generate(length: int | None = None, settings: Settings | None = None) -> str:
    """A random password that satisfies the policy (demo and initial accounts): every class present."""
    settings = settings or get_settings()
    length = max(length or 0, settings.password_min_length, 12)
    picks = [secrets.choice([c for c in chars if c in _ALPHABET]) for _, chars in CLASSES]
    picks.append(secrets.choice(_SYMBOLS))
    picks += [secrets.choice(_ALPHABET) for _ in range(length - len(picks))]
    # shuffle with a CSPRNG
    for i in range(len(picks) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        picks[i], picks[j] = picks[j], picks[i]
    return "".join(picks)

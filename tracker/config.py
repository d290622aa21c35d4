"""Settings from the environment (RECTIFY_*), validated once per process by pydantic-settings.

`get_settings()` is the one accessor (cached; tests that change the environment call
`get_settings.cache_clear()`). A bad value raises `ConfigError`, whose message is one Chinese line
naming each bad variable, its value and what is accepted; the CLI prints it and exits with status 2
before doing anything (tracker/cli/__init__.py).

The notification settings are their own model (`Settings.notify`) because the channels, reminder
rules and scheduler take them as a parameter and tests pass variants (`model_copy(update=...)`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, get_args, get_origin
from zoneinfo import ZoneInfo

from annotated_types import Ge, Gt, Le
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
ENV_PREFIX = "RECTIFY_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
SmtpSecurity = Literal["none", "starttls", "ssl"]
EvidenceStore = Literal["directory", "database"]
# The engine is synchronous: only these drivers are installed and work (bare postgresql:// means psycopg2).
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")

# What a field accepts, in the error message, where its type and range do not say it well enough.
ACCEPTS_CRON = "应为 5 段的 crontab 表达式（分 时 日 月 周），如 0 8 * * *"
ACCEPTS_URL = "应为 http:// 或 https:// 开头的网址，如 http://127.0.0.1:8000"
ACCEPTS_DATABASE = "应为 sqlite:///文件路径 或 postgresql+psycopg://用户@主机/库名"
ACCEPTS_SECRET = (
    "应为至少 32 个字符的随机字符串，如 python3 -c 'import secrets; print(secrets.token_urlsafe(48))' 的输出"
)
ACCEPTS_DAYS_LIST = "应为逗号分隔的 1 到 365 之间的整数，如 30,7,1（留空则不发到期提醒）"
ACCEPTS_CLAIM = "应为 30 到 3600 之间的整数（秒），且不小于 RECTIFY_NOTIFY_TIMEOUT 的 4 倍"


class ConfigError(ValueError):
    """Bad settings in the environment; str() is the one line shown to the user."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("配置错误：" + "；".join(problems))


class _Env(BaseSettings):
    # Unknown RECTIFY_* variables are ignored: the other model reads them.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore", populate_by_name=True)


def _cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger  # only when a schedule is set: keeps start-up light

    value = " ".join(value.split())
    CronTrigger.from_crontab(value, timezone=TZ)  # raises ValueError on a bad field
    return value


class NotifySettings(_Env):
    """Reminders, their channels and the schedules (notifications/, workflows/)."""

    base_url: str = Field("http://127.0.0.1:8000", json_schema_extra={"accepts": ACCEPTS_URL})
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = Field("", repr=False)
    smtp_security: SmtpSecurity = "none"
    smtp_from: str = "rectify@localhost"
    # seconds per delivery attempt (HTTP or SMTP)
    timeout: float = Field(10.0, gt=0, le=600, validation_alias="RECTIFY_NOTIFY_TIMEOUT")
    # how long a delivery run holds the messages it took; after a crash they return to the queue then
    claim_seconds: int = Field(
        120,
        ge=30,
        le=3600,
        validation_alias="RECTIFY_NOTIFY_CLAIM_SECONDS",
        json_schema_extra={"accepts": ACCEPTS_CLAIM},
    )
    # robots/webhooks on loopback, private or link-local addresses (intranet receivers) are refused unless set
    channel_allow_private: bool = False
    # "deadline within N days" reminders, widest first; empty: none
    due_days: Annotated[tuple[int, ...], NoDecode] = Field((30, 7, 1), json_schema_extra={"accepts": ACCEPTS_DAYS_LIST})
    overdue_repeat_days: int = Field(7, ge=1, le=365)
    escalate_days: int = Field(30, ge=1, le=365)  # overdue longer than this → also the county's channels (督办)
    max_attempts: int = Field(8, ge=1, le=100, validation_alias="RECTIFY_NOTIFY_MAX_ATTEMPTS")  # then failed
    # first retry delay, doubled each attempt
    backoff_seconds: int = Field(60, ge=1, le=86400, validation_alias="RECTIFY_NOTIFY_BACKOFF_SECONDS")
    concurrency: int = Field(8, ge=1, le=64, validation_alias="RECTIFY_NOTIFY_CONCURRENCY")  # channels in parallel
    # messages a minute to one group robot (WeCom and DingTalk allow 20); 0: not paced
    robot_per_minute: int = Field(20, ge=0, le=600, validation_alias="RECTIFY_NOTIFY_ROBOT_PER_MINUTE")
    scheduler: bool = True  # False when Prefect deployments run the flows instead
    check_cron: str = Field("0 8 * * *", json_schema_extra={"accepts": ACCEPTS_CRON})  # Asia/Shanghai
    digest_cron: str = Field("30 8 * * mon", json_schema_extra={"accepts": ACCEPTS_CRON})
    yearend_cron: str = Field("0 9 1 12 *", json_schema_extra={"accepts": ACCEPTS_CRON})
    notify_minutes: int = Field(5, ge=1, le=1440)  # outbox delivery (and sent-back scan) interval
    # a run missed by less than this is caught up once at start
    misfire_grace_hours: float = Field(168.0, gt=0, le=8760)
    # scheduler lease; another process takes over after this without renewal
    lease_seconds: int = Field(60, ge=1, le=3600)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("claim_seconds")
    @classmethod
    def _claim_covers_sends(cls, value: int, info: ValidationInfo) -> int:
        # a send begun just before a run stops (it stops 3 timeouts before its claims lapse) must end in time
        timeout = info.data.get("timeout")
        if timeout is not None and value < 4 * timeout:
            raise ValueError("shorter than 4 timeouts")
        return value

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("due_days", mode="before")
    @classmethod
    def _due_days(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("not a list of integers")
            value = [int(p) for p in parts]
        if any(not isinstance(d, int) or not 1 <= d <= 365 for d in value):
            raise ValueError("out of range")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("check_cron", "digest_cron", "yearend_cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _cron(value)


class Settings(_Env):
    # database file and session key (embedded default), evidence (directory store), template overrides, Prefect home
    data_dir: Path = Field(ROOT / "var", validate_default=True)
    # empty: SQLite in data_dir
    database_url: str = Field("", validate_default=True, json_schema_extra={"accepts": ACCEPTS_DATABASE})
    # State shared by every web process (issue 11). The session signing key: required on PostgreSQL, where
    # several processes serve one database and must sign alike; unset on SQLite, one is made into data_dir.
    secret_key: Optional[SecretStr] = Field(
        None, min_length=32, repr=False, json_schema_extra={"accepts": ACCEPTS_SECRET, "secret": True}
    )
    # Evidence files: a directory (evidence_dir, which every serving machine must share) or the database.
    evidence_store: EvidenceStore = "directory"
    evidence_dir: Path = Field(None, validate_default=True)  # empty: data_dir/evidence
    yellow_days: int = Field(15, ge=1, le=365)  # deadline within this many days → yellow light
    stale_days: int = Field(30, ge=1, le=365)  # no progress for this many days → yellow light
    log_level: LogLevel = "INFO"
    access_log: bool = True  # uvicorn's access log under `rectify serve`
    # Limits on what comes in (issue 13). A request body over max_request_mb is refused (413) before it is
    # read; so is any multipart body without a valid login (401).
    max_request_mb: int = Field(120, ge=1, le=4096)
    evidence_max_files: int = Field(10, ge=1, le=1000)  # evidence files per progress post
    evidence_max_mb: int = Field(100, ge=1, le=4096)  # their total size per progress post
    import_max_rows: int = Field(10_000, ge=1, le=1_000_000)  # data rows of an imported ledger sheet
    # Password policy (tracker/passwords.py): length, character classes out of 4 (upper, lower, digit,
    # symbol), how many earlier passwords may not be reused, days until a password must be changed (0: never)
    password_min_length: int = Field(10, ge=6, le=128)
    password_classes: int = Field(3, ge=1, le=4)
    password_history: int = Field(5, ge=0, le=24)
    password_max_age_days: int = Field(0, ge=0, le=3650)
    # Sessions and logins (tracker/sessions.py, tracker/lockout.py, tracker/web/throttle.py). A session ends
    # after session_idle_minutes without a request and session_hours after the login, whatever happens.
    session_idle_minutes: int = Field(30, ge=1, le=10080)
    session_hours: int = Field(12, ge=1, le=720)
    login_max_failures: int = Field(5, ge=1, le=100)  # wrong passwords per (name, client address) before a lock
    login_lock_minutes: int = Field(15, ge=1, le=1440)
    # login attempts per minute from one client address / for one name (0: no limit); beyond them 429
    login_rate_per_address: int = Field(60, ge=0, le=100000)
    login_rate_per_name: int = Field(10, ge=0, le=100000)
    login_hash_concurrency: int = Field(1, ge=1, le=64)  # password checks at once per process (argon2 is costly)
    notify: NotifySettings = Field(default_factory=NotifySettings, exclude=True)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            value = ROOT / "var"
        return Path(value).expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value:
            data_dir = info.data.get("data_dir")
            return f"sqlite:///{data_dir / 'rectify.db'}" if data_dir else value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL") from None
        if url.drivername not in DATABASE_DRIVERS:
            raise ValueError(f"unsupported driver {url.drivername}")
        if url.get_backend_name() == "postgresql" and not url.database:
            raise ValueError("no database name")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("evidence_store", mode="before")
    @classmethod
    def _store_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("evidence_dir", mode="before")
    @classmethod
    def _evidence_dir(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            data_dir = info.data.get("data_dir")
            return data_dir / "evidence" if data_dir else ROOT / "var" / "evidence"
        return Path(value).expanduser().resolve()

    @property
    def embedded(self) -> bool:
        """The embedded default: SQLite, one machine (the session key may then live in the data dir)."""
        return self.database_url.startswith("sqlite")

    @property
    def templates_dir(self) -> Path:
        """Templates here override the packaged ones (same file names)."""
        return self.data_dir / "templates"


def env_name(model: type[BaseSettings], field: str) -> str:
    alias = model.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"


def _env_value(name: str) -> str:
    # pydantic-settings matches names case-insensitively; show what the user actually set
    for key, value in os.environ.items():
        if key.upper() == name.upper():
            return value
    return ""


def accepts(info: FieldInfo) -> str:
    """What a field accepts, in Chinese, from its type and range unless spelled out on the field."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "accepts" in extra:
        return str(extra["accepts"])
    kind = info.annotation
    if get_origin(kind) is Literal:
        return "可选值：" + "、".join(get_args(kind))
    if kind is bool:
        return "应为 1 或 0（也可写 true/false、yes/no、on/off）"
    low = next((m for m in info.metadata if isinstance(m, (Ge, Gt))), None)
    high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    if kind is int and isinstance(low, Ge) and high is not None:
        return f"应为 {low.ge} 到 {high} 之间的整数"
    if kind is float and low is not None and high is not None:
        bound = f"大于 {low.gt}" if isinstance(low, Gt) else f"不小于 {low.ge}"
        return f"应为{bound}、不超过 {high:g} 的数"
    return "格式不正确"


def _problems(exc: ValidationError, model: type[BaseSettings]) -> list[str]:
    by_loc = {env_name(model, f): f for f in model.model_fields} | {f: f for f in model.model_fields}
    seen, out = set(), []
    for err in exc.errors():
        field = by_loc.get(str(err["loc"][0]) if err["loc"] else "")  # an aliased field errs under its alias
        if field is None or field in seen:
            continue
        seen.add(field)
        name = env_name(model, field)
        info = model.model_fields[field]
        secret = isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
        value = f"（已隐藏，{len(_env_value(name))} 个字符）" if secret else _env_value(name)
        out.append(f"{name}={value} 无效，{accepts(info)}")
    return out


def load_settings() -> Settings:
    """Read and check every setting; ConfigError lists every bad one."""
    problems: list[str] = []
    try:
        notify = NotifySettings()
    except ValidationError as exc:
        problems += _problems(exc, NotifySettings)
        notify = NotifySettings.model_construct()
    try:
        settings = Settings(notify=notify)
    except ValidationError as exc:
        problems = _problems(exc, Settings) + problems
    if problems:
        raise ConfigError(problems)
    return settings


@lru_cache
def get_settings() -> Settings:
    return load_settings()

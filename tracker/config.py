"""Settings from the environment (RECTIFY_*), read once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    yellow_days: int  # deadline within this many days → yellow light
    stale_days: int  # no progress for this many days → yellow light
    notify: "NotifySettings" = field(default_factory=lambda: NotifySettings.from_env())

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def templates_dir(self) -> Path:
        """Templates here override the packaged ones (same file names)."""
        return self.data_dir / "templates"


@lru_cache
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("RECTIFY_DATA_DIR", ROOT / "var")).resolve()
    url = os.environ.get("RECTIFY_DATABASE_URL") or f"sqlite:///{data_dir / 'rectify.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=url,
        yellow_days=int(os.environ.get("RECTIFY_YELLOW_DAYS", "15")),
        stale_days=int(os.environ.get("RECTIFY_STALE_DAYS", "30")),
    )


def _env(name: str, default: str) -> str:
    return os.environ.get(f"RECTIFY_{name}", default)


@dataclass(frozen=True)
class NotifySettings:
    """Reminders, their channels and the schedules (notifications/, workflows/)."""

    base_url: str  # task links in messages: {base_url}/tasks/{id}
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_security: str  # none | starttls | ssl
    smtp_from: str
    timeout: float  # seconds per delivery attempt (HTTP or SMTP)
    due_days: tuple[int, ...]  # "deadline within N days" reminders
    overdue_repeat_days: int
    escalate_days: int  # overdue longer than this → also the county's channels (督办)
    max_attempts: int  # then the message is marked failed
    backoff_seconds: int  # first retry delay, doubled each attempt
    concurrency: int  # channels delivered in parallel
    scheduler: bool  # False when Prefect deployments run the flows instead
    check_cron: str  # crontab lines, Asia/Shanghai
    digest_cron: str
    yearend_cron: str
    notify_minutes: int  # outbox delivery (and sent-back scan) interval
    misfire_grace_hours: float  # a run missed by less than this is caught up once at start
    lease_seconds: int  # scheduler lease; another process takes over after this without renewal

    @classmethod
    def from_env(cls) -> "NotifySettings":
        return cls(
            base_url=_env("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", "25")),
            smtp_user=_env("SMTP_USER", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            smtp_security=_env("SMTP_SECURITY", "none"),
            smtp_from=_env("SMTP_FROM", "rectify@localhost"),
            timeout=float(_env("NOTIFY_TIMEOUT", "10")),
            due_days=tuple(sorted({int(x) for x in _env("DUE_DAYS", "30,7,1").split(",") if x.strip()}, reverse=True)),
            overdue_repeat_days=int(_env("OVERDUE_REPEAT_DAYS", "7")),
            escalate_days=int(_env("ESCALATE_DAYS", "30")),
            max_attempts=int(_env("NOTIFY_MAX_ATTEMPTS", "8")),
            backoff_seconds=int(_env("NOTIFY_BACKOFF_SECONDS", "60")),
            concurrency=int(_env("NOTIFY_CONCURRENCY", "8")),
            scheduler=_env("SCHEDULER", "1") not in ("0", "false", "off", "no"),
            check_cron=_env("CHECK_CRON", "0 8 * * *"),
            digest_cron=_env("DIGEST_CRON", "30 8 * * mon"),
            yearend_cron=_env("YEAREND_CRON", "0 9 1 12 *"),
            notify_minutes=int(_env("NOTIFY_MINUTES", "5")),
            misfire_grace_hours=float(_env("MISFIRE_GRACE_HOURS", "168")),
            lease_seconds=int(_env("LEASE_SECONDS", "60")),
        )

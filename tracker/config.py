"""Settings from the environment (RECTIFY_*), read once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass
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

"""How dates and times are shown to people: 2024年3月1日, in Asia/Shanghai."""
from __future__ import annotations

from datetime import date, datetime

from tracker.config import TZ


def cn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(TZ)
    return f"{cn_date(local)} {local:%H:%M}"

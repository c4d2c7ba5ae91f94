"""Time: UTC-aware in storage, Asia/Tokyo for people."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def now() -> dt.datetime:
    """The current time, UTC-aware. Tests move it with time-machine."""
    return dt.datetime.now(dt.UTC)


def today_jst() -> dt.date:
    return now().astimezone(JST).date()


def from_line_timestamp(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)

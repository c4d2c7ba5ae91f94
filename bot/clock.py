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


WEEKDAYS_JA = "月火水木金土日"


def format_jst(moment: dt.datetime, with_time: bool = True, lang: str = "ja") -> str:
    """12月5日(土) 17:00 — how dates are written for people (in English: Sat 5 Dec, 17:00)."""
    local = moment.astimezone(JST)
    if lang == "en":
        text = f"{local:%a} {local.day} {local:%b}"
        return f"{text}, {local:%H:%M}" if with_time else text
    text = f"{local.month}月{local.day}日({WEEKDAYS_JA[local.weekday()]})"
    return f"{text} {local:%H:%M}" if with_time else text


def format_date(day: dt.date) -> str:
    """2027年3月31日 — a date with its year (a term of office, a retirement), as people write it; a datetime is
    taken in JST."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(JST).date()
    return f"{day.year}年{day.month}月{day.day}日"


def outside_quiet_hours(moment: dt.datetime, start_hour: int = 21, end_hour: int = 8) -> dt.datetime:
    """The moment itself, or the end of the quiet hours (JST) it falls in: no push wakes people at night."""
    local = moment.astimezone(JST)
    if start_hour > end_hour:
        quiet = local.hour >= start_hour or local.hour < end_hour
    else:
        quiet = start_hour <= local.hour < end_hour
    if not quiet:
        return moment
    day = local.date() if local.hour < end_hour else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end_hour), JST).astimezone(dt.UTC)

"""Reading the dates in what a resident types: 再来週, 来週の水曜日, 来月の11日, 第2土曜日, 2027年7月中旬, 令和9/7/18,
2/1〜2/14, 4月から5月にかけて, こどもの日, GW, お盆, 年末年始, "next Saturday", "October"...

`read(text, today)` finds the date words, places them in time relative to today (JST) and says what is left of
the text. A phrase is a chain of words, each narrowing the one before (来月 → の11日; 2027年 → 7月 → 中旬);
chains joined by 〜 / - / から…まで / にかけて make a range, by と / 、 / ・ a list of days. A date that does not exist
(2月30日, 13月) is `bad`; a date-like word that is not understood (翌日, 第3週) is `unknown`, so the answer can say
so rather than show every event. National holidays come from `jpholiday`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import jpholiday

from bot.texts import t

DAY = dt.timedelta(days=1)
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
OPEN_END = dt.timedelta(days=365)  # 10月10日から / after October 10: a year from that day


# --------------------------------------------------------------------------- what a reading gives


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date  # inclusive
    words: str = ""  # the phrase understood, as typed (normalised): for the answer
    days: frozenset[dt.date] | None = None  # only these days of start..end (10月の土曜日, 10日と17日)
    open_end: bool = False  # 10月10日から: no end was said

    def passed(self, today: dt.date) -> bool:
        return self.end < today

    def includes(self, first: dt.date, last: dt.date) -> bool:
        """Whether something on the days first..last (inclusive) falls in the range."""
        if last < self.start or first > self.end:
            return False
        if self.days is None:
            return True
        return any(first <= day <= last for day in self.days)


@dataclass
class Reading:
    range: DateRange | None = None
    bad: str | None = None  # a date that does not exist: say so rather than guess
    unknown: str | None = None  # a date-like phrase that was not understood
    rest: str = ""  # the text without its date words


class Bad(Exception):
    """A date that does not exist (2月30日, 13月, 今月の第5水曜日)."""


# --------------------------------------------------------------------------- calendar helpers


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def _week(today: dt.date, offset: int) -> tuple[dt.date, dt.date]:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset)
    return monday, monday + dt.timedelta(days=6)


def _weekend(today: dt.date, offset: int) -> tuple[dt.date, dt.date]:
    monday = _week(today, offset)[0]
    return monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)


def _fiscal(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def _fiscal_of(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += DAY


def _nth_weekday(year: int, month: int, n: int, weekday: int) -> dt.date | None:
    first, last = _month(year, month)
    if n < 0:
        day = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
        return day
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    return day if day.month == month else None


@functools.lru_cache(maxsize=64)
def holidays_of(year: int) -> tuple[tuple[dt.date, str], ...]:
    """Japan's national holidays of the year (jpholiday: the law's names, 振替休日 and 国民の休日 included)."""
    return tuple(sorted(jpholiday.year_holidays(year)))


def _holiday(name: str) -> Callable[[int], tuple[dt.date, dt.date] | None]:
    def of_year(year: int) -> tuple[dt.date, dt.date] | None:
        found = next((day for day, law_name in holidays_of(year) if law_name == name), None)
        return (found, found) if found else None
    return of_year


def _fixed_day(month: int, day: int) -> Callable[[int], tuple[dt.date, dt.date]]:
    return lambda year: (dt.date(year, month, day), dt.date(year, month, day))


def _period(first: tuple[int, int], last: tuple[int, int]) -> Callable[[int], tuple[dt.date, dt.date]]:
    """A period of every year, from first (month, day) to last (month, day); one crossing New Year ends the year
    after it starts."""
    def of_year(year: int) -> tuple[dt.date, dt.date]:
        end_year = year + 1 if last < first else year
        return dt.date(year, *first), dt.date(end_year, *last)
    return of_year


def _nth_weekday_of(month: int, n: int, weekday: int) -> Callable[[int], tuple[dt.date, dt.date]]:
    def of_year(year: int) -> tuple[dt.date, dt.date]:
        day = _nth_weekday(year, month, n, weekday)
        assert day is not None
        return day, day
    return of_year


def _season(first_month: int, months: int) -> Callable[[int], tuple[dt.date, dt.date]]:
    def of_year(year: int) -> tuple[dt.date, dt.date]:
        end_year, end_month = _add_months(year, first_month, months - 1)
        return dt.date(year, first_month, 1), _month(end_year, end_month)[1]
    return of_year


# --------------------------------------------------------------------------- the words, placed in time


@dataclass(frozen=True)
class Span:
    start: dt.date
    end: dt.date
    days: frozenset[dt.date] | None = None

    @property
    def single(self) -> bool:
        return self.start == self.end or (self.days is not None and len(self.days) == 1)


@dataclass
class Atom:
    """One date word. `place(within, after, grace)` puts it in time: inside `within` (the span of the word it
    narrows, 来月 for の11日) or else the next one from `after` (today; a range's start for its end), where
    `grace` keeps yesterday's date as itself (9/30 on 10/1 is yesterday, not next year's)."""

    kind: str
    rank: float  # size: a word narrows one of a larger rank (来月の11日, 2027年7月中旬)
    place: Callable[[Span | None, dt.date, bool], Span]
    fixed: bool = False  # placed without context (今日, 来週, 2027/7/18): narrows nothing
    needs_host: bool = False  # 末, はじめ: a word only after a month or year (来月末)
    before_host: bool = False  # English order: the narrowing word first (late October, first Monday of May)
    value: int = 0  # a bare number's value (10〜20日)
    start: int = 0
    end: int = 0


def _fixed(kind: str, rank: float, span: Callable[[dt.date], tuple[dt.date, dt.date]]) -> Callable[..., Atom]:
    def make(today: dt.date) -> Atom:
        start, end = span(today)
        return Atom(kind, rank, lambda within, after, grace: Span(start, end), fixed=True)
    return make


def _next_of(of_year: Callable[[int], tuple[dt.date, dt.date] | None], within: Span | None, after: dt.date,
             grace: bool, phrase: str = "") -> Span:
    """The occurrence of a yearly day or period inside `within`, or the next one not over before `after`."""
    if within is not None:
        for year in range(within.start.year - 1, within.end.year + 1):
            found = of_year(year)
            if found and within.start <= found[0] <= within.end:
                return Span(*found)
        raise Bad(phrase)
    threshold = after - DAY if grace else after
    for year in range(after.year - 1, after.year + 5):
        found = of_year(year)
        if found and found[1] >= threshold:
            return Span(*found)
    raise Bad(phrase)


def _annual(kind: str, rank: float, of_year: Callable[[int], tuple[dt.date, dt.date] | None]) -> Atom:
    return Atom(kind, rank, lambda within, after, grace: _next_of(of_year, within, after, grace))


def _month_day(month: int, day: int) -> Atom:
    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise Bad
        def of_year(year: int) -> tuple[dt.date, dt.date] | None:
            try:
                found = dt.date(year, month, day)
            except ValueError:
                return None
            return found, found
        if not any(of_year(year) for year in (2024, 2025, 2026, 2027)):
            raise Bad  # 2月30日: no year has it (2月29日 has leap years)
        return _next_of(of_year, within, after, grace)
    return Atom("monthday", 1, place)


def _month_of_year(month: int) -> Atom:
    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        if not 1 <= month <= 12:
            raise Bad
        return _next_of(lambda year: _month(year, month), within, after, False)
    return Atom("month", 4, place)


def _day_of_month(day: int) -> Atom:
    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        if not 1 <= day <= 31:
            raise Bad
        if within is not None:
            found = next((d for d in _days(within.start, within.end) if d.day == day), None)
            if found is None:
                raise Bad
            return Span(found, found)
        threshold = after - DAY if grace and after.day > 1 else after  # 30日 on 10/1 is 10/30, not 9/30
        year, month = threshold.year, threshold.month
        for _ in range(14):
            if day <= calendar.monthrange(year, month)[1] and dt.date(year, month, day) >= threshold:
                return Span(dt.date(year, month, day), dt.date(year, month, day))
            year, month = _add_months(year, month, 1)
        raise Bad
    return Atom("dom", 1, place)


def _weekday(weekday: int, which: str = "") -> Callable[[dt.date], Atom]:
    """A weekday; which: "" (the next one, today included), "last" (the one before today)."""
    def make(today: dt.date) -> Atom:
        def place(within: Span | None, after: dt.date, grace: bool) -> Span:
            if within is not None:
                found = [d for d in _days(within.start, within.end) if d.weekday() == weekday]
                if not found:
                    raise Bad
                if within.days is not None:
                    found = [d for d in found if d in within.days]
                    if not found:
                        raise Bad
                return Span(found[0], found[0]) if len(found) == 1 else Span(found[0], found[-1],
                                                                              frozenset(found))
            if which == "last":
                day = today - dt.timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
            else:
                day = after + dt.timedelta(days=(weekday - after.weekday()) % 7)
            return Span(day, day)
        return Atom("weekday", 1.5, place)
    return make


def _nth(n: int, weekday: int) -> Atom:
    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        if not (1 <= n <= 5 or n == -1):
            raise Bad
        if within is not None:
            day = _nth_weekday(within.start.year, within.start.month, n, weekday)
            if day is None or not within.start <= day <= within.end:
                raise Bad
            return Span(day, day)
        year, month = after.year, after.month
        for _ in range(14):
            day = _nth_weekday(year, month, n, weekday)
            if day is not None and day >= after:
                return Span(day, day)
            year, month = _add_months(year, month, 1)
        raise Bad
    return Atom("nth", 1, place)


PARTS = {"上旬": (1, 10), "初旬": (1, 10), "はじめ": (1, 10), "初め": (1, 10), "始め": (1, 10), "月初": (1, 5),
         "月初め": (1, 10), "中旬": (11, 20), "半ば": (11, 20), "なかば": (11, 20), "下旬": (21, 31),
         "月末": (25, 31), "末": (25, 31), "終わり": (25, 31), "前半": (1, 15), "後半": (16, 31),
         "early": (1, 10), "mid": (11, 20), "late": (21, 31), "end of": (25, 31)}


def _part(word: str) -> Atom:
    first, last = PARTS[word]

    def of_month(year: int, month: int) -> Span:
        start, end = _month(year, month)
        return Span(start.replace(day=first), end if last == 31 else start.replace(day=last))

    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        if within is not None:
            length = (within.end - within.start).days
            if length >= 300:  # 2027年末, 来年はじめ, 今年度末: the year's (or fiscal year's) first or last month
                if first > 15:
                    return Span(within.end.replace(day=21), within.end)  # as 年末: 12月下旬 (年度末: 3月下旬)
                return of_month(within.start.year, within.start.month)
            if length <= 7:  # 来週前半 / 後半
                if word == "前半":
                    return Span(within.start, within.start + dt.timedelta(days=2))
                if word == "後半":
                    return Span(within.start + dt.timedelta(days=3), within.end)
                raise Bad
            return of_month(within.start.year, within.start.month)
        year, month = after.year, after.month
        span = of_month(year, month)
        if span.end < after:
            span = of_month(*_add_months(year, month, 1))
        return span

    return Atom("part", 3.5, place, needs_host=word in ("末", "はじめ", "初め", "始め", "終わり", "前半", "後半"))


def _weekend_of(selector_days: tuple[int, ...], kind: str) -> Callable[[dt.date], Atom]:
    """土日 / 週末 (Saturday and Sunday) or 平日 (Monday to Friday) of the word before (来週の土日, 10月の週末);
    alone, this week's (the coming weekend; the weekdays left this week)."""
    def make(today: dt.date) -> Atom:
        def place(within: Span | None, after: dt.date, grace: bool) -> Span:
            if within is None:
                if kind == "weekend":
                    start, end = _weekend(after, 0)
                    return Span(max(start, after), end)
                start, end = _week(after, 0 if after.weekday() <= 4 else 1)
                within = Span(max(start, after), end)
            found = [d for d in _days(within.start, within.end) if d.weekday() in selector_days
                     and (within.days is None or d in within.days)]
            if not found:
                raise Bad
            contiguous = (found[-1] - found[0]).days == len(found) - 1
            return Span(found[0], found[-1], None if contiguous else frozenset(found))
        return Atom(kind, 2, place)
    return make


def _any_holiday(within: Span | None, after: dt.date, grace: bool) -> Span:
    if within is not None:
        found = [d for year in range(within.start.year, within.end.year + 1) for d, _name in holidays_of(year)
                 if within.start <= d <= within.end]
        if not found:
            raise Bad
        return Span(found[0], found[0]) if len(found) == 1 else Span(found[0], found[-1], frozenset(found))
    for year in (after.year, after.year + 1):
        for day, _name in holidays_of(year):
            if day >= after:
                return Span(day, day)
    raise Bad


def _long_weekend(within: Span | None, after: dt.date, grace: bool) -> Span:
    """連休: the next three or more days off in a row (weekends and national holidays together)."""
    start = within.start if within is not None else after
    end = within.end if within is not None else after + dt.timedelta(days=400)
    off = {d for year in range(start.year, end.year + 2) for d, _name in holidays_of(year)}
    run: list[dt.date] = []
    for day in _days(start - dt.timedelta(days=3), end + dt.timedelta(days=3)):
        if day.weekday() >= 5 or day in off:
            run.append(day)
            continue
        if len(run) >= 3 and run[-1] >= start and run[0] <= end:
            return Span(run[0], run[-1])
        run = []
    raise Bad


def _bare(value: int) -> Atom:
    def place(within: Span | None, after: dt.date, grace: bool) -> Span:
        raise Bad
    return Atom("bare", 0, place, value=value)


# --------------------------------------------------------------------------- the words, as typed


K = "[〇零一二三四五六七八九十百千]+"
KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMBER = re.compile(rf"(?<=第){K}|(?<=令和){K}|(?<=平成){K}|(?<=令和)元|(?<=平成)元|"
                          rf"{K}(?=\s*(?:年|月|日|週|か月|ヶ月|ヵ月|け月|箇月))")
DASH = r"(?:〜|~|-|−|–|—|―|‐|ー)"
WEEKDAY_KANJI = {c: i for i, c in enumerate(WEEKDAYS_JA)}
WEEKDAY_KANA = {"げつ": 0, "か": 1, "すい": 2, "もく": 3, "きん": 4, "ど": 5, "にち": 6}
WEEKDAYS_WORDS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
                  "sunday": 6, "tues": 1, "thurs": 3}  # not "sun", "sat", "wed": English words too
MONTH_WORDS = {name.lower(): i for i, name in enumerate(MONTHS_EN) if name}
MONTH_WORDS.update({name.lower()[:3]: i for i, name in enumerate(MONTHS_EN) if name})
MONTH_WORDS["sept"] = 9
# "may" is a month only where a month is expected (in May, May 5, 5 May, May 2027, "May" alone)
MONTH_WORD = "(?:" + "|".join(sorted((w for w in MONTH_WORDS if w != "may"), key=len, reverse=True)) + \
    r"|(?<=\bin )may|(?<=\bof )may|(?<=\bearly )may|(?<=\bmid )may|(?<=\blate )may|^may(?=\s*$)|may(?=\s*\d))"
WEEKDAY_WORD = "(?:" + "|".join(sorted(WEEKDAYS_WORDS, key=len, reverse=True)) + ")"
ERAS = {"令和": 2018, "れいわ": 2018, "r": 2018, "平成": 1988, "へいせい": 1988, "h": 1988}
ERA = r"(?:令和|れいわ|平成|へいせい|(?<![a-z])[rh])"
ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1, "1st": 1, "2nd": 2, "3rd": 3,
           "4th": 4, "5th": 5}


def _kanji_value(text: str) -> int:
    if text == "元":
        return 1
    if not any(c in KANJI_UNITS for c in text):
        return int("".join(str(KANJI_DIGITS[c]) for c in text))
    total = current = 0
    for c in text:
        if c in KANJI_UNITS:
            total += (current or 1) * KANJI_UNITS[c]
            current = 0
        else:
            current = current * 10 + KANJI_DIGITS[c]
    return total + current


def _year(text: str, era: str | None = None) -> int:
    number = int(text)
    return ERAS[era] + number if era else number


def _ymd(y: int, m: int, d: int) -> Callable[[dt.date], Atom]:
    def make(today: dt.date) -> Atom:
        def place(within: Span | None, after: dt.date, grace: bool) -> Span:
            try:
                day = dt.date(y, m, d)
            except ValueError:
                raise Bad from None
            return Span(day, day)
        return Atom("ymd", 1, place, fixed=True)
    return make


def _ym(y: int, m: int) -> Callable[[dt.date], Atom]:
    def make(today: dt.date) -> Atom:
        def place(within: Span | None, after: dt.date, grace: bool) -> Span:
            if not 1 <= m <= 12 or not 1 <= y <= 9999:
                raise Bad
            return Span(*_month(y, m))
        return Atom("ym", 4, place, fixed=True)
    return make


def _y(y: int, fiscal: bool = False) -> Callable[[dt.date], Atom]:
    def make(today: dt.date) -> Atom:
        def place(within: Span | None, after: dt.date, grace: bool) -> Span:
            if not 1 <= y <= 9998:
                raise Bad
            return Span(*_fiscal(y)) if fiscal else Span(dt.date(y, 1, 1), dt.date(y, 12, 31))
        return Atom("fy" if fiscal else "year", 6, place, fixed=True)
    return make


def _in_days(n: int) -> Callable[[dt.date], Atom]:
    return _fixed("day", 1, lambda today: (today + dt.timedelta(days=n), today + dt.timedelta(days=n)))


def _in_weeks(n: int) -> Callable[[dt.date], Atom]:
    return _fixed("week", 3, lambda today: _week(today + dt.timedelta(weeks=n), 0))


def _in_months(n: int) -> Callable[[dt.date], Atom]:
    return _fixed("month", 4, lambda today: _month(*_add_months(today.year, today.month, n)))


def _in_years(n: int) -> Callable[[dt.date], Atom]:
    return _fixed("year", 6, lambda today: (dt.date(today.year + n, 1, 1), dt.date(today.year + n, 12, 31)))


def _within(unit: str, n: int) -> Callable[[dt.date], Atom]:
    """3日以内 / 今後1週間 / the next 7 days: from today."""
    def span(today: dt.date) -> tuple[dt.date, dt.date]:
        if unit == "month":
            year, month = _add_months(today.year, today.month, n)
            last = calendar.monthrange(year, month)[1]
            return today, dt.date(year, month, min(today.day, last))
        return today, today + dt.timedelta(days=n * (7 if unit == "week" else 1))
    return _fixed("span", 3, span)


UNIT = {"日": "day", "週": "week", "週間": "week", "か月": "month", "ヶ月": "month", "ヵ月": "month", "け月": "month",
        "箇月": "month", "月": "month", "年": "year", "day": "day", "days": "day", "week": "week",
        "weeks": "week", "month": "month", "months": "month", "year": "year", "years": "year"}


def _after(unit: str, n: int) -> Callable[[dt.date], Atom]:
    return {"day": _in_days, "week": _in_weeks, "month": _in_months, "year": _in_years}[UNIT[unit]](n)


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], dt.date], Atom], str, frozenset[str] | None]


FIRST_CHARS: dict[str, frozenset[str]] = {}  # a word list's pattern → the characters its words start with


def _words(*words: str) -> str:
    """A pattern for any of the words (the longest first), remembering the characters they start with."""
    pattern = "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"
    firsts: set[str] = set()
    for word in words:
        word = word.removeprefix(r"\b")
        if word.startswith("(?:the )?"):
            firsts.update(("t", word[len("(?:the )?")]))
        elif word[0] in "\\([.?*+":
            return pattern  # not a plain word: the rule always runs
        else:
            firsts.add(word[0])
    FIRST_CHARS[pattern] = frozenset(firsts)
    return pattern


def _rules() -> list[Rule]:
    rules: list[tuple[str, Callable[[re.Match[str], dt.date], Atom]]] = []

    def add(pattern: str, make: Callable[[re.Match[str], dt.date], Atom]) -> None:
        rules.append((pattern, make))

    def fixed(pattern: str, kind: str, rank: float, span: Callable[[dt.date], tuple[dt.date, dt.date]]) -> None:
        add(pattern, lambda m, today: _fixed(kind, rank, span)(today))

    def days(offset: int) -> Callable[[dt.date], tuple[dt.date, dt.date]]:
        return lambda today: (today + dt.timedelta(days=offset), today + dt.timedelta(days=offset))

    # days relative to today
    fixed(_words("きょう", "今日", "本日", "ほんじつ", "今夜", "こんや", "今晩", "こんばん", "今朝", "けさ",
                 r"\btoday\b", r"\btonight\b", r"\bthis evening\b"), "day", 1, days(0))
    fixed(_words("あした", "あす", "明日", "みょうにち", r"\btomorrow\b"), "day", 1, days(1))
    fixed(_words("あさって", "明後日", r"\b(?:the )?day after tomorrow\b"), "day", 1, days(2))
    fixed(_words("しあさって", "明々後日", "明明後日", "明後後日"), "day", 1, days(3))
    fixed(_words("きのう", "昨日", "さくじつ", r"\byesterday\b"), "day", 1, days(-1))
    fixed(_words("おととい", "おとつい", "一昨日", r"\b(?:the )?day before yesterday\b"), "day", 1, days(-2))
    fixed(_words("さきおととい", "一昨昨日"), "day", 1, days(-3))
    add(r"(\d{1,3})\s*(日|週間|週|か月|ヶ月|ヵ月|け月|箇月|年)\s*(?:後|あと|先)",
        lambda m, today: _after(m.group(2), int(m.group(1)))(today))
    add(r"(\d{1,3})\s*(日|週間|週|か月|ヶ月|ヵ月|け月|箇月|年)\s*前(?!半)",
        lambda m, today: _after(m.group(2), -int(m.group(1)))(today))
    add(r"\bin\s+(\d{1,3})\s+(days?|weeks?|months?|years?)\b",
        lambda m, today: _after(m.group(2), int(m.group(1)))(today))
    add(r"\b(\d{1,3})\s+(days?|weeks?|months?|years?)\s+(?:from now|later)\b",
        lambda m, today: _after(m.group(2), int(m.group(1)))(today))
    add(r"\b(\d{1,3})\s+(days?|weeks?|months?|years?)\s+ago\b",
        lambda m, today: _after(m.group(2), -int(m.group(1)))(today))
    add(r"(\d{1,3})\s*(日|週間|か月|ヶ月|ヵ月|け月|箇月)\s*以内",
        lambda m, today: _within(UNIT[m.group(2)], int(m.group(1)))(today))
    add(r"(?:今後|これから|この先|向こう|むこう)\s*の?\s*(\d{1,3})\s*(日|週間|か月|ヶ月|ヵ月|け月|箇月)\s*(?:間|以内)?",
        lambda m, today: _within(UNIT[m.group(2)], int(m.group(1)))(today))
    add(r"\b(?:the )?(?:next|coming|within(?: the next)?)\s+(\d{1,3})\s+(days?|weeks?|months?)\b",
        lambda m, today: _within(UNIT[m.group(2)], int(m.group(1)))(today))
    add(r"\bwithin\s+(?:a|one)\s+(week|month)\b", lambda m, today: _within(UNIT[m.group(1)], 1)(today))

    # weeks
    for words, offset in ((("今週", "こんしゅう", r"\bthis week\b"), 0),
                          (("来週", "らいしゅう", "翌週", r"\bnext week\b"), 1),
                          (("再来週", "さらいしゅう", "来々週", "来来週", "らいらいしゅう",
                            r"\b(?:the )?week after next\b"), 2),
                          (("先週", "せんしゅう", "前週", r"\blast week\b"), -1),
                          (("先々週", "先先週", "せんせんしゅう", r"\b(?:the )?week before last\b"), -2)):
        fixed(_words(*words), "week", 3, lambda today, o=offset: _week(today, o))
    for words, offset in ((("今週末", "こんしゅうまつ", r"\bthis weekend\b", r"\b(?:the )?weekend\b"), 0),
                          (("来週末", "らいしゅうまつ", r"\bnext weekend\b"), 1),
                          (("再来週末", "さらいしゅうまつ"), 2),
                          (("先週末", "せんしゅうまつ", r"\blast weekend\b"), -1)):
        fixed(_words(*words), "weekend", 2, lambda today, o=offset: (
            (max(_weekend(today, o)[0], today), _weekend(today, o)[1]) if o == 0 else _weekend(today, o)))
    add(_words("週末", "しゅうまつ", "土日", "どにち", "土・日", "土曜日曜", "土曜と日曜", "土曜日と日曜日"),
        lambda m, today: _weekend_of((5, 6), "weekend")(today))
    add(_words("平日", "へいじつ", r"\bweekdays\b"), lambda m, today: _weekend_of((0, 1, 2, 3, 4), "weekdays")(today))
    fixed(_words("週明け", "しゅうあけ", "週あけ", r"\bearly next week\b"), "day", 1,
          lambda today: (_week(today, 1)[0], _week(today, 1)[0]))

    # months
    for words, offset in ((("今月", "こんげつ", "本月", r"\bthis month\b"), 0),
                          (("来月", "らいげつ", "翌月", r"\bnext month\b"), 1),
                          (("再来月", "さらいげつ", "来々月", "来来月"), 2),
                          (("先月", "せんげつ", "前月", r"\blast month\b"), -1),
                          (("先々月", "先先月", "せんせんげつ"), -2)):
        fixed(_words(*words), "month", 4, lambda today, o=offset: _month(*_add_months(today.year, today.month, o)))
    add(_words(*[w for w in PARTS if w.isascii() is False]), lambda m, today: _part(m.group(0)))
    add(r"\b(early|mid|late|end of)[\s-]+(?=" + MONTH_WORD + r"\b|the month\b|this month\b|next month\b)",
        lambda m, today: replace(_part(m.group(1)), before_host=True))
    add(r"\bthe month\b", lambda m, today: _fixed("month", 4, lambda d: _month(d.year, d.month))(today))

    # years and fiscal years
    for words, offset in ((("今年", "ことし", "本年", r"\bthis year\b"), 0),
                          (("来年", "らいねん", "翌年", r"\bnext year\b"), 1),
                          (("再来年", "さらいねん"), 2),
                          (("去年", "昨年", "きょねん", "さくねん", r"\blast year\b"), -1),
                          (("一昨年", "おととし"), -2)):
        fixed(_words(*words), "year", 6, lambda today, o=offset: (dt.date(today.year + o, 1, 1),
                                                                  dt.date(today.year + o, 12, 31)))
    for words, offset in ((("今年度", "本年度", "こんねんど", "ほんねんど"), 0),
                          (("来年度", "次年度", "らいねんど"), 1),
                          (("昨年度", "前年度", "さくねんど"), -1)):
        fixed(_words(*words), "fy", 6, lambda today, o=offset: _fiscal(_fiscal_of(today) + o))
    fixed(_words("年内", r"\bby the end of the year\b"), "span", 3, lambda today: (today, dt.date(today.year, 12, 31)))
    fixed(_words("年度内"), "span", 3, lambda today: (today, _fiscal(_fiscal_of(today))[1]))

    # absolute dates: 2027年7月18日, 2027/7/18, 2027-07-18, 2027.7.18, 令和9年7月18日, R9/7/18, 令和9/7/18
    sep_y, sep_m = r"\s*(?:年|/|-|\.)\s*", r"\s*(?:月|/|-|\.)\s*"
    add(rf"(?<![\d.])(\d{{4}}){sep_y}(\d{{1,2}}){sep_m}(\d{{1,2}})(?:\s*日)?(?![\d.])",
        lambda m, today: _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))(today))
    add(rf"({ERA})\s*(\d{{1,2}}){sep_y}(\d{{1,2}}){sep_m}(\d{{1,2}})(?:\s*日)?(?![\d.])",
        lambda m, today: _ymd(_year(m.group(2), m.group(1)), int(m.group(3)), int(m.group(4)))(today))
    add(r"(?<![\d.])(\d{4})\s*(?:年\s*(\d{1,2})\s*月|[/.-]\s*(\d{1,2})(?![\d/.-]))",
        lambda m, today: _ym(int(m.group(1)), int(m.group(2) or m.group(3)))(today))
    add(rf"({ERA})\s*(\d{{1,2}})\s*(?:年\s*(\d{{1,2}})\s*月|[/.-]\s*(\d{{1,2}})(?![\d/.-]))",
        lambda m, today: _ym(_year(m.group(2), m.group(1)), int(m.group(3) or m.group(4)))(today))
    add(r"(?<![\d.])(\d{4})\s*年(?!\s*度)", lambda m, today: _y(int(m.group(1)))(today))
    add(rf"({ERA})\s*(\d{{1,2}})\s*年(?!\s*度)", lambda m, today: _y(_year(m.group(2), m.group(1)))(today))
    add(r"(?<![\d.])(\d{4})\s*年\s*度", lambda m, today: _y(int(m.group(1)), fiscal=True)(today))
    add(rf"({ERA})\s*(\d{{1,2}})\s*年\s*度", lambda m, today: _y(_year(m.group(2), m.group(1)), fiscal=True)(today))
    add(r"(?<![a-z0-9])(?:in\s+)?(20\d\d)\b(?![\d/.-])", lambda m, today: _y(int(m.group(1)))(today))
    add(r"\b(?:fy|fiscal(?: year)?)\s*(20\d\d)\b", lambda m, today: _y(int(m.group(1)), fiscal=True)(today))

    # dates without a year: 10月7日, 10/7, 7日, October 7, 7 October
    add(r"(?<![\d.])(\d{1,2})\s*月\s*(\d{1,2})\s*日?(?!\s*\d)",
        lambda m, today: _month_day(int(m.group(1)), int(m.group(2))))
    add(r"(?<![\d/.])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])", lambda m, today: _month_day(int(m.group(1)), int(m.group(2))))
    add(rf"\b({MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*(20\d\d)\b)?",
        lambda m, today: (_ymd(int(m.group(3)), MONTH_WORDS[m.group(1)], int(m.group(2)))(today) if m.group(3)
                          else _month_day(MONTH_WORDS[m.group(1)], int(m.group(2)))))
    add(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH_WORD})\b\.?(?:,?\s*(20\d\d)\b)?",
        lambda m, today: (_ymd(int(m.group(3)), MONTH_WORDS[m.group(2)], int(m.group(1)))(today) if m.group(3)
                          else _month_day(MONTH_WORDS[m.group(2)], int(m.group(1)))))
    add(r"(?<![\d.])(\d{1,2})\s*月(?!\s*\d)", lambda m, today: _month_of_year(int(m.group(1))))
    add(rf"\b({MONTH_WORD})\b\.?(?:\s+(20\d\d)\b)?",
        lambda m, today: (_ym(int(m.group(2)), MONTH_WORDS[m.group(1)])(today) if m.group(2)
                          else _month_of_year(MONTH_WORDS[m.group(1)])))
    add(r"(?<![\d.])(\d{1,2})\s*日(?!\s*(?:後|前|間|以内|あと))", lambda m, today: _day_of_month(int(m.group(1))))
    add(r"(?<![\d/.:])(\d{1,2})(?![\d/.:])", lambda m, today: _bare(int(m.group(1))))

    # weekdays: 水曜日, 水曜, (水), すいようび, Wednesday, next Saturday, 次の土曜, 先週の土曜
    prefix = r"(?:(?:次|つぎ|今度|こんど|この|毎週)\s*の?\s*)?"
    add(prefix + r"([月火水木金土日])\s*(?:曜|よう)\s*(?:日|び)?",  # also 水よう日, 水ようび
        lambda m, today: _weekday(WEEKDAY_KANJI[m.group(1)])(today))
    add(prefix + r"(げつ|か|すい|もく|きん|ど|にち)ようび?",
        lambda m, today: _weekday(WEEKDAY_KANA[m.group(1)])(today))
    add(r"\(\s*([月火水木金土日])\s*(?:曜\s*日?)?\s*\)", lambda m, today: _weekday(WEEKDAY_KANJI[m.group(1)])(today))
    add(rf"\b(?:(?:next|this|coming|on)\s+)?({WEEKDAY_WORD})s?\b\.?",
        lambda m, today: _weekday(WEEKDAYS_WORDS[m.group(1)])(today))
    add(rf"\blast\s+({WEEKDAY_WORD})\b", lambda m, today: _weekday(WEEKDAYS_WORDS[m.group(1)], "last")(today))
    add(r"第\s*(\d)\s*([月火水木金土日])\s*曜?\s*日?",
        lambda m, today: _nth(int(m.group(1)), WEEKDAY_KANJI[m.group(2)]))
    add(r"(?:最終|最後の)\s*([月火水木金土日])\s*曜?\s*日?", lambda m, today: _nth(-1, WEEKDAY_KANJI[m.group(1)]))
    add(rf"\b(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)\s+({WEEKDAY_WORD})\b(?:\s+(?:of|in))?",
        lambda m, today: replace(_nth(ORDINAL[m.group(1)], WEEKDAYS_WORDS[m.group(2)]), before_host=True))

    # national holidays by name (the law's names; jpholiday computes each year's dates)
    for names, law_name in (
        (("元日", "元旦", "がんじつ", "がんたん", r"\bnew year'?s day\b"), "元日"),
        (("成人の日", "成人式の日"), "成人の日"), (("建国記念の日", "建国記念日"), "建国記念の日"),
        (("天皇誕生日",), "天皇誕生日"), (("春分の日",), "春分の日"), (("昭和の日",), "昭和の日"),
        (("憲法記念日",), "憲法記念日"), (("みどりの日", "緑の日"), "みどりの日"),
        (("こどもの日", "子供の日", "子どもの日", "端午の節句", r"\bchildren'?s day\b"), "こどもの日"),
        (("海の日", r"\bmarine day\b"), "海の日"), (("山の日", r"\bmountain day\b"), "山の日"),
        (("敬老の日", r"\brespect for the aged day\b"), "敬老の日"), (("秋分の日",), "秋分の日"),
        (("スポーツの日", "すぽーつの日", "体育の日", r"\bsports day\b"), "スポーツの日"),
        (("文化の日", r"\bculture day\b"), "文化の日"),
        (("勤労感謝の日", r"\blabou?r thanksgiving day\b"), "勤労感謝の日"),
    ):
        add(_words(*names), lambda m, today, n=law_name: _annual("holiday", 1, _holiday(n)))
    add(_words("祝日", "祭日", "しゅくじつ", "祝祭日", r"\b(?:national |public )?holidays?\b"),
        lambda m, today: Atom("holiday", 1, _any_holiday))
    add(r"(?:\d\s*)?" + _words("連休", "れんきゅう", r"\blong weekend\b"),
        lambda m, today: Atom("holiday", 2.5, _long_weekend))
    # well-known days and the usual periods
    for names, of_year, rank in (
        (("大晦日", "大みそか", "おおみそか", r"\bnew year'?s eve\b"), _fixed_day(12, 31), 1),
        (("くりすますいぶ", "くりすます・いぶ", "くりすますいゔ", "くりすます・いゔ", r"\bchristmas eve\b"),
         _fixed_day(12, 24), 1),
        (("くりすます", r"\bchristmas\b", r"\bxmas\b"), _fixed_day(12, 25), 1),
        (("七夕", "たなばた", r"\btanabata\b"), _fixed_day(7, 7), 1),
        (("ひなまつり", "ひな祭り", "ひな祭", "雛祭り", "桃の節句"), _fixed_day(3, 3), 1),
        (("ばれんたいん", "ばれんたいんでー", r"\bvalentine'?s(?: day)?\b"), _fixed_day(2, 14), 1),
        (("ほわいとでー",), _fixed_day(3, 14), 1),
        (("はろうぃん", "はろうぃーん", r"\bhalloween\b"), _fixed_day(10, 31), 1),
        (("母の日", r"\bmother'?s day\b"), _nth_weekday_of(5, 2, 6), 1),
        (("父の日", r"\bfather'?s day\b"), _nth_weekday_of(6, 3, 6), 1),
        (("正月", "お正月", "おしょうがつ", "三が日", "三ヶ日", "三箇日", "年始", r"\bnew year\b"),
         _period((1, 1), (1, 3)), 5),
        (("年末", "ねんまつ", r"\b(?:the )?end of (?:the )?year\b"), _period((12, 21), (12, 31)), 5),
        (("年末年始", "ねんまつねんし", r"\bnew year holidays\b"), _period((12, 29), (1, 3)), 5),
        (("ごーるでんうぃーく", "ごーるでん・うぃーく", r"\bgw\b", r"\bgolden week\b"), _period((4, 29), (5, 5)), 5),
        (("お盆", "おぼん", "盆休み", "お盆休み", r"\bobon\b"), _period((8, 13), (8, 16)), 5),
        (("夏休み", "なつやすみ", "夏やすみ", r"\bsummer (?:vacation|holidays?|break)\b"),
         _period((7, 20), (8, 31)), 5),
        (("冬休み", "ふゆやすみ", "冬やすみ", r"\bwinter (?:vacation|holidays?|break)\b"),
         _period((12, 25), (1, 7)), 5),
        (("春休み", "はるやすみ", "春やすみ", r"\bspring (?:vacation|holidays?|break)\b"), _period((3, 25), (4, 7)), 5),
        (("春", r"\bspring\b"), _season(3, 3), 5), (("夏", r"\bsummer\b"), _season(6, 3), 5),
        (("秋", r"\bautumn\b", r"\bfall\b"), _season(9, 3), 5), (("冬", r"\bwinter\b"), _season(12, 3), 5),
    ):
        add(_words(*names), lambda m, today, f=of_year, r=rank: _annual("period" if r > 1 else "holiday", r, f))
    return [(re.compile(pattern, re.ASCII), make, _needs(pattern), FIRST_CHARS.get(pattern)) for pattern, make in rules]


def _needs(pattern: str) -> str:
    """What a text must hold for the rule to match ("digit", "latin" or ""): rules that cannot match are not run."""
    if pattern.startswith("\\b") and pattern.isascii():
        return "latin"  # English words (October 17, in 3 days)
    if re.search(r"\((?:20)?\\d", pattern) and not pattern.startswith("(?:\\d"):
        return "digit"  # a number is captured: 10月, 2027/7/18, 3日後
    return ""


RULES = _rules()
DIGIT, LATIN = re.compile(r"\d", re.ASCII), re.compile(r"[a-z]")
for _year_now in (dt.date.today().year, dt.date.today().year + 1):
    holidays_of(_year_now)  # jpholiday works out a year on first use (~0.3 ms): not during a resident's question
# what looks like a date although no rule above read it (翌日, 第3週, 10月頃の終わり): the answer says so
DATE_LIKE = re.compile(
    r"第\s*\d+\s*週|\d+\s*(?:年|月|日|週|旬|曜|か月|ヶ月|ヵ月|け月|箇月)|\d+\s*/\s*\d+|[月火水木金土日]\s*(?:曜|よう\s*[日び])|曜日|"
    r"(?:今|来|再来|先|前|翌|次|毎|昨|去|同|当|前の|次の|翌々|あと)\s*(?:週|月|年|日)|"
    r"上旬|中旬|下旬|初旬|月末|月初|年末|年始|年度|週末|週明け|連休|祝日|祭日|休日|令和|平成|昭和|"
    r"\b(?:yesterday|tomorrow|weekend|week|month|year|(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|"
    r"april|june|july|august|september|october|november|december)\b", re.ASCII)
RANGE_MARK = re.compile(rf"^\s*(?:の)?\s*(?:{DASH}|から|より|\bto\b|\buntil\b|\btill\b|\bthrough\b|\bthru\b)\s*$",
                        re.ASCII)
LIST_MARK = re.compile(r"^\s*(?:の)?\s*(?:と|、|,|・|や|か|\band\b|&|\bor\b)?\s*(?:の)?\s*$", re.ASCII)
CHAIN_GAP = re.compile(r"^\s*(?:の|,|、)?\s*$")
# words around a date that belong to it: 10月10日から / 5月までの / ごろ / 以降 / from / until
AFTER_WORDS = re.compile(r"^\s*(?:にかけて(?:の)?|までの間|までのあいだ|まで(?:の|に)?|の間|のあいだ|から(?:の)?|より|"
                         r"以降|以後|"
                         r"以前|ごろ|頃|前後|くらい|ぐらい|中|じゅう|\bonwards\b|\bon\b)", re.ASCII)
BEFORE_WORDS = re.compile(r"(?:\b(?:from|between|until|till|by|during|since|after|before|in|on|for|around)\s+|"
                          rf"(?:{DASH}|から)\s*)$", re.ASCII)
OPEN_AFTER = re.compile(r"^\s*(?:から|以降|以後|より|\bonwards\b|" + DASH + r")\s*(?!\s*\S*\d)", re.ASCII)


def _normalise(text: str) -> tuple[str, str]:
    """(what to show, what to match): NFKC with kanji numerals before date units as digits (十月十日 → 10月10日,
    第二 → 第2), lower case and katakana as hiragana for matching. Both have the same length."""
    display = unicodedata.normalize("NFKC", text)
    display = KANJI_NUMBER.sub(lambda m: str(_kanji_value(m.group(0))), display)
    lowered = display.lower()
    if len(lowered) != len(display):
        display = lowered
    match = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヴ" else c for c in lowered)  # not ヵ ヶ (か月)
    return display, match


def _tokens(match: str, today: dt.date, pos: int = 0, endpos: int | None = None) -> list[Atom]:
    """The date words, leftmost first and the longest where several start at one place. Where a word lost to
    one it overlapped (月末 in 10月末 to 10月), what is left after the winner is read again (末)."""
    endpos = len(match) if endpos is None else endpos
    found: list[tuple[int, int, int, Callable[[], Atom]]] = []
    has = {"": True, "digit": bool(DIGIT.search(match)), "latin": bool(LATIN.search(match))}
    chars = set(match[pos:endpos])
    for order, (pattern, make, needs, firsts) in enumerate(RULES):
        if not has[needs] or (firsts is not None and firsts.isdisjoint(chars)):
            continue  # the rule cannot match this text
        for m in pattern.finditer(match, pos, endpos):
            if m.end() > m.start():
                found.append((m.start(), -(m.end() - m.start()), order,
                              functools.partial(make, m, today)))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    atoms: list[Atom] = []
    taken_until = pos
    overlapped_into: list[int] = []  # where a word that lost ran into the text after the winner
    for start, negative_length, _order, make in found:
        if start < taken_until:
            if start - negative_length > taken_until:
                overlapped_into.append(taken_until)
            continue
        atom = make()
        atom.start, atom.end = start, start - negative_length
        atoms.append(atom)
        taken_until = atom.end
    for gap_start in sorted(set(overlapped_into)):
        gap_end = next((a.start for a in atoms if a.start >= gap_start), endpos)
        if gap_end > gap_start:
            atoms.extend(_tokens(match, today, gap_start, gap_end))
    atoms.sort(key=lambda a: a.start)
    return atoms


@dataclass
class _Chain:
    atoms: list[Atom]
    span: Span | None = None
    host: Span | None = None  # what the last word narrowed (来週 of 来週の土曜)
    start: int = 0
    end: int = 0
    hosted: list[Atom] = field(default_factory=list)


def _narrows(atom: Atom, previous: Atom) -> bool:
    if atom.fixed or atom.kind == "bare":
        return False
    if atom.kind == "weekday" and previous.rank <= 1:
        return True  # 10月10日(土): the weekday only repeats the date
    if atom.kind == "part" and previous.kind in ("month", "ym", "year", "fy", "week"):
        return True  # 来月末, 2027年7月中旬, 来週前半
    return atom.rank < previous.rank


def _unit_of(atom: Atom) -> str | None:
    return {"monthday": "dom", "dom": "dom", "ymd": "dom", "month": "month", "ym": "month"}.get(atom.kind)


def _as_unit(atom: Atom, unit: str) -> Atom:
    made = _day_of_month(atom.value) if unit == "dom" else _month_of_year(atom.value)
    made.start, made.end = atom.start, atom.end
    return made


def _resolve_bare(atoms: list[Atom], match: str) -> list[Atom]:
    """A bare number next to a range or list mark takes the unit of the other side (10〜20日, 4〜5月, 7/18-20)."""
    out = list(atoms)
    for i, atom in enumerate(out):
        if atom.kind != "bare":
            continue
        before = out[i - 1] if i > 0 else None
        after = out[i + 1] if i + 1 < len(out) else None
        if after is not None and after.kind != "bare" and _unit_of(after) and (
                RANGE_MARK.match(match[atom.end:after.start]) or LIST_MARK.match(match[atom.end:after.start])):
            out[i] = _as_unit(atom, str(_unit_of(after)))
        elif before is not None and before.kind != "bare" and _unit_of(before) and (
                RANGE_MARK.match(match[before.end:atom.start]) or
                (LIST_MARK.match(match[before.end:atom.start]) and match[before.end:atom.start].strip())):
            out[i] = _as_unit(atom, str(_unit_of(before)))
    return [a for a in out if a.kind != "bare"]


def _place_chain(chain: _Chain, after: dt.date, grace: bool, context: _Chain | None) -> None:
    """Place each word of the chain inside the one before; the first inside `context`'s host when it is the same
    kind of word (来週の土曜と日曜: 日曜 of 来週 too; 来週の月曜から水曜)."""
    span: Span | None = None
    host: Span | None = None
    previous: Atom | None = None
    for atom in chain.atoms:
        if previous is None:
            within = None
            if context is not None and context.host is not None and context.atoms[-1].kind == atom.kind:
                within = context.host
            span = atom.place(within, after, grace)
            host = within
        elif atom.kind == "weekday" and previous.rank <= 1 and span is not None and span.single:
            continue  # a weekday after a date: decoration
        else:
            host = span
            span = atom.place(span, after, grace)
        previous = atom
    chain.span, chain.host = span, host


def _union(spans: list[Span]) -> Span:
    spans = sorted(spans, key=lambda s: s.start)
    start, end = spans[0].start, max(s.end for s in spans)
    covered: set[dt.date] = set()
    for span in spans:
        covered.update(span.days if span.days is not None else _days(span.start, span.end))
    contiguous = len(covered) == (end - start).days + 1
    return Span(start, end, None if contiguous else frozenset(covered))


def _strip_particles(text: str) -> str:
    return text.strip(" \u3000のはをがにでへと、,・")


def read(text: str, today: dt.date) -> Reading:
    """The dates in the text, placed relative to today."""
    display, match = _normalise(text)
    atoms = _resolve_bare(_tokens(match, today), match)
    # a word that needs a host (末, はじめ) without one is not a date word
    atoms = [a for i, a in enumerate(atoms)
             if not a.needs_host or (i > 0 and CHAIN_GAP.match(match[atoms[i - 1].end:a.start])
                                     and atoms[i - 1].kind in ("month", "ym", "year", "fy", "week"))]

    chains: list[_Chain] = []
    for atom in atoms:
        last = chains[-1] if chains else None
        if last is not None and CHAIN_GAP.match(match[last.end:atom.start]) and _narrows(atom, last.atoms[-1]):
            last.atoms.append(atom)
            last.end = atom.end
        elif last is not None and last.atoms[-1].before_host and atom.rank > last.atoms[-1].rank and \
                re.match(r"^\s*(?:of|in|the)?\s*$", match[last.end:atom.start]):
            last.atoms.insert(len(last.atoms) - 1, atom)  # late October: October, then its late part
            last.end = atom.end
        else:
            chains.append(_Chain([atom], start=atom.start, end=atom.end))

    blanked = list(match)
    consumed: list[tuple[int, int]] = []
    spans: list[Span] = []
    bad: str | None = None
    open_end = False
    i = 0
    previous: _Chain | None = None
    while i < len(chains):
        chain = chains[i]
        try:
            # a list's later items come after the first (12月24日と25日; 10月と11月)
            after = previous.span.start if previous is not None and previous.span is not None else today
            _place_chain(chain, after, previous is None or previous.span is None, previous)
            assert chain.span is not None
            span = chain.span
            following = chains[i + 1] if i + 1 < len(chains) else None
            gap = match[chain.end:following.start] if following else ""
            if following is not None and RANGE_MARK.match(gap):  # A〜B, AからB(まで)
                _place_chain(following, span.start, False, chain)
                assert following.span is not None
                end = following.span
                if end.end < span.start:
                    span, end = end, span
                span = Span(span.start, max(end.end, span.end))
                consumed.append((chain.start, following.end))
                last_end = following.end
                i += 1
            else:
                consumed.append((chain.start, chain.end))
                last_end = chain.end
                leading = BEFORE_WORDS.search(match[:chain.start])
                tail = match[last_end:]
                if OPEN_AFTER.match(tail) and not (following is not None and LIST_MARK.match(gap)):
                    span, open_end = Span(span.start, span.start + OPEN_END), True  # 10月10日から / 以降
                elif re.match(r"^\s*(?:まで|以前|までに)", tail) or (
                        leading and re.search(r"(?:until|till|by|before|〜|~)\s*$", leading.group(0))
                        and not spans):
                    span = Span(min(today, span.start), span.end)  # 10月10日まで / until October
            spans.append(span)
            trailing = AFTER_WORDS.match(match[last_end:])
            if trailing:
                consumed.append((last_end, last_end + trailing.end()))
            leading = BEFORE_WORDS.search(match[:chain.start])
            if leading:
                consumed.append((leading.start(), chain.start))
        except Bad:
            following = chains[i + 1] if i + 1 < len(chains) else None
            end = following.end if following is not None and RANGE_MARK.match(match[chain.end:following.start]) \
                else chain.end
            if bad is None:
                bad = _strip_particles(display[chain.start:end])
            consumed.append((chain.start, end))
        previous = chains[i]
        i += 1

    for start, end in consumed:
        for k in range(start, end):
            blanked[k] = "\x00"
    left = "".join(blanked)
    rest = "".join(" " if c == "\x00" else display[k] for k, c in enumerate(left))
    unknown_at = [(m.start(), m.end()) for m in DATE_LIKE.finditer(left)]
    reading = Reading(rest=rest)
    if bad is not None:
        reading.bad = bad
        return reading
    if unknown_at:
        places = unknown_at + [(c.start, c.end) for c in chains]
        first, last = min(p[0] for p in places), max(p[1] for p in places)
        reading.unknown = _strip_particles(display[first:last])[:30] or display[first:last]
        reading.rest = rest[:first] + " " * (last - first) + rest[last:]  # what else the text says (a name?)
        return reading
    if spans:
        whole = _union(spans)
        first, last = min(c.start for c in chains), max(c.end for c in chains)
        reading.range = DateRange(whole.start, whole.end, _strip_particles(display[first:last]), whole.days,
                                  open_end)
    return reading


# --------------------------------------------------------------------------- saying a range


def _day(day: dt.date, lang: str, today: dt.date) -> str:
    values = {"year": day.year, "day": day.day}
    if lang == "en":
        values.update(month=MONTHS_EN[day.month], weekday=WEEKDAYS_EN[day.weekday()])
    else:
        values.update(month=day.month, weekday=WEEKDAYS_JA[day.weekday()])
    return t("event.dates.day" if day.year == today.year else "event.dates.day_year", lang, **values)


def _month_words(year: int, month: int, lang: str, today: dt.date) -> str:
    name: str | int = MONTHS_EN[month] if lang == "en" else month
    return t("event.dates.month" if year == today.year else "event.dates.month_year", lang, year=year, month=name)


def dates_of(found: DateRange, lang: str, today: dt.date) -> tuple[str, str]:
    """(the dates in words, the preposition's key): 10月7日(水) / Wed 7 October, 2027年7月, 10月12日(月)〜18日(日)."""
    start, end = found.start, found.end
    if found.days is not None and len(found.days) <= 4:
        days = sorted(found.days)
        return t("event.dates.list_sep", lang).join(_day(d, lang, today) for d in days), "event.dates.on"
    if found.open_end:
        return _day(start, lang, today), "event.dates.from"
    if start == end:
        return _day(start, lang, today), "event.dates.on"
    if start.day == 1 and end == _month(end.year, end.month)[1]:
        if (start.year, start.month) == (end.year, end.month):
            return _month_words(start.year, start.month, lang, today), "event.dates.in"
        if (start.month, end.month) == (1, 12) and start.year == end.year:
            return t("event.dates.year", lang, year=start.year), "event.dates.in"
    span = t("event.dates.span", lang, start=_day(start, lang, today), end=_day(end, lang, today))
    return span, "event.dates.between"


def describe(found: DateRange, lang: str, today: dt.date, *, preposition: bool = True) -> str:
    """The range for an answer: in Japanese the phrase with its dates (再来週（10月12日(月)〜10月18日(日)）; a date
    typed with numbers as its dates alone); in English its dates ("on Sat 10 October", "in October")."""
    dates, key = dates_of(found, lang, today)
    if lang == "en":
        return t(key, lang, dates=dates) if preposition else dates
    if found.open_end:
        dates = t("event.dates.from", lang, dates=dates)
    if not found.words or re.search(r"\d", found.words) or found.words == dates or (
            found.words.isascii() and len(found.words) > 2):  # typed with numbers, or in English: the dates say it
        return dates
    return f"{found.words}（{dates}）"


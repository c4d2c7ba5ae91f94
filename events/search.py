"""Understanding what a resident types about events: dates (今週末, 10月7日, 10/7, 土曜日, next week...), event
names and their readings (くみんまつり), venues (八幡屋公園) and categories (こども, まつり).

Text is NFKC-normalised, lower-cased, katakana folded to hiragana and a few kanji spellings folded to kana
(祭り → まつり), so full/half width, katakana/hiragana and 祭/まつり all meet. Dates are relative to today in JST.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from bot.texts import labels

KANJI_FOLDS = [("お祭り", "おまつり"), ("祭り", "まつり"), ("祭", "まつり"), ("子供", "こども"), ("子ども", "こども"),
               ("今日", "きょう"), ("明日", "あした"), ("明後日", "あさって")]
FILLERS = ["ありますか", "あります", "あるの", "ある", "おしえて", "教えて", "知りたい", "しりたい", "について",
           "はいつ", "いつ", "どこ", "なに", "何", "ですか", "です", "ください", "の予定", "予定",
           "開催", "やってる", "やる", "って", "?", "!", "、", "。", "~", "〜",
           "いべんと", "events", "event", "what's on", "whats on", "when is", "when", "is", "the", "in", "on",
           "please", "what", "are", "there", "any"]
EVENT_WORDS = ("いべんと", "event", "もよおし", "催し", "行事", "ぎょうじ", "what's on", "whats on")
CATEGORY_WORDS = {
    "こども": ("こども", "kids", "children", "family", "おやこ", "親子"),
    "まつり": ("まつり", "festival", "festa", "ふぇすた"),
    "講座": ("講座", "こうざ", "lecture", "class", "せみなー"),
    "会議": ("会議", "かいぎ", "meeting", "部会", "ぶかい"),
    "音楽": ("音楽", "おんがく", "music", "こんさーと", "concert"),
    "ものづくり": ("ものづくり", "factory", "工場", "こうじょう"),
}
WEEKDAYS = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6,
            "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
MONTHS_EN = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS_EN.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


@functools.lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """The form all matching works on (cached: event names are folded again for every question)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)  # katakana -> hiragana
    for kanji, kana in KANJI_FOLDS:
        text = text.replace(kanji, kana)
    return re.sub(r"[\s\u3000・「」『』()（）]+", "", text) if not re.search(r"[a-z]{2}", text) else " ".join(
        text.split())


# The categories' names in the text catalogue (まつり, Festivals...) are understood too: a button's label typed.
for _category, _words in CATEGORY_WORDS.items():
    CATEGORY_WORDS[_category] = (*_words, *(fold(w) for w in labels(f"category.{_category}")))


@dataclass
class DateRange:
    start: dt.date
    end: dt.date  # inclusive
    words: str  # the phrase understood, for the answer


@dataclass
class Query:
    """What the resident asked for."""

    text: str
    dates: DateRange | None = None
    bad_date: str | None = None  # a date that does not exist (2月30日): say so rather than guess
    categories: set[str] = field(default_factory=set)
    rest: str = ""  # what is left once dates, categories and filler words are taken out: a name or a venue
    wants_events: bool = False  # the word イベント / events on its own

    @property
    def has_intent(self) -> bool:
        return bool(self.dates or self.bad_date or self.categories or self.wants_events)


def _week(today: dt.date, offset_weeks: int) -> tuple[dt.date, dt.date]:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset_weeks)
    return monday, monday + dt.timedelta(days=6)


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _upcoming_year(today: dt.date, month: int, day: int | None = None) -> int:
    """A month or date without a year means the next one to come (this year's, unless it has passed)."""
    if day is None:
        return today.year if month >= today.month else today.year + 1
    try:
        candidate = dt.date(today.year, month, day)
    except ValueError:
        return today.year
    return today.year if candidate >= today - dt.timedelta(days=1) else today.year + 1


def parse_dates(folded: str, today: dt.date) -> tuple[DateRange | None, str | None, str]:
    """(range, a bad date the user typed, the text with the date words taken out)."""
    rules: list[tuple[str, object]] = [
        (r"今週末|こんしゅうまつ|週末|しゅうまつ|this weekend|weekend", "weekend"),
        (r"来週|らいしゅう|next week", "next_week"),
        (r"今週|こんしゅう|this week", "this_week"),
        (r"来月|らいげつ|next month", "next_month"),
        (r"今月|こんげつ|this month", "this_month"),
        (r"あさって", "day_after"),
        (r"きょう|today|tonight", "today"),
        (r"あした|tomorrow", "tomorrow"),
    ]
    for pattern, name in rules:
        match = re.search(pattern, folded)
        if not match:
            continue
        rest = folded[:match.start()] + " " + folded[match.end():]
        if name == "weekend":
            saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7) if today.weekday() != 6 else today
            sunday = saturday + dt.timedelta(days=1) if saturday.weekday() == 5 else saturday
            return DateRange(max(saturday, today), sunday, "今週末"), None, rest
        if name == "this_week":
            return DateRange(today, _week(today, 0)[1], "今週"), None, rest
        if name == "next_week":
            return DateRange(*_week(today, 1), "来週"), None, rest
        if name == "this_month":
            return DateRange(today, _month(today.year, today.month)[1], "今月"), None, rest
        if name == "next_month":
            year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            return DateRange(*_month(year, month), "来月"), None, rest
        day = {"today": 0, "tomorrow": 1, "day_after": 2}[str(name)]
        date = today + dt.timedelta(days=day)
        return DateRange(date, date, {0: "今日", 1: "明日", 2: "あさって"}[day]), None, rest

    for pattern in (r"(\d{1,2})月(\d{1,2})日?", r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])"):
        match = re.search(pattern, folded)
        if match:
            month, day = int(match.group(1)), int(match.group(2))
            rest = folded[:match.start()] + " " + folded[match.end():]
            try:
                date = dt.date(_upcoming_year(today, month, day), month, day)
            except ValueError:
                return None, f"{month}月{day}日", rest
            return DateRange(date, date, f"{month}月{day}日"), None, rest
    match = re.search(r"(\d{1,2})月", folded)
    if match:
        month = int(match.group(1))
        rest = folded[:match.start()] + " " + folded[match.end():]
        if not 1 <= month <= 12:
            return None, f"{month}月", rest
        start, end = _month(_upcoming_year(today, month), month)
        return DateRange(max(start, today), end, f"{month}月"), None, rest
    match = re.search(r"\b(" + "|".join(MONTHS_EN) + r")\b", folded)
    if match:
        month = MONTHS_EN[match.group(1)]
        start, end = _month(_upcoming_year(today, month), month)
        return DateRange(max(start, today), end, f"{month}月"), None, folded.replace(match.group(0), " ")
    match = re.search(r"([月火水木金土日])曜日?|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", folded)
    if match:
        weekday = WEEKDAYS[match.group(1) or match.group(2)]
        date = today + dt.timedelta(days=(weekday - today.weekday()) % 7)
        label = "月火水木金土日"[weekday]
        return DateRange(date, date, f"{label}曜日"), None, folded[:match.start()] + " " + folded[match.end():]
    return None, None, folded


def parse(text: str, today: dt.date) -> Query:
    folded = fold(text)
    query = Query(text=text)
    query.dates, query.bad_date, rest = parse_dates(folded, today)
    # Category words stay in `rest` too: "まつり" may also be part of a name (区民まつり).
    query.categories = {category for category, words in CATEGORY_WORDS.items() if any(w in rest for w in words)}
    if any(w in rest for w in EVENT_WORDS):
        query.wants_events = True
    for filler in sorted(FILLERS, key=len, reverse=True):
        if re.fullmatch(r"[a-z' ]+", filler):
            rest = re.sub(rf"\b{re.escape(filler)}\b", " ", rest)
        else:
            rest = rest.replace(filler, " ")
    # particles left at either end ("八幡屋公園の", "の区民まつり"); inside a name they stay (ぴくにっく)
    query.rest = " ".join(part.strip("はのをがにでへ") for part in rest.split()).strip()
    return query


@functools.lru_cache(maxsize=16384)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or frozenset([text])


def matches_name(rest: str, names: list[str]) -> float:
    """How well the leftover words name an event: 1.0 when they are part of a name; the share of the words a
    name covers (くみんまつり covers まつり by half); lower for a near miss (a typo)."""
    if not rest:
        return 0.0
    best = 0.0
    wanted = _bigrams(rest)
    for name in names:
        folded = fold(name)
        if not folded:
            continue
        if rest in folded:
            return 1.0
        if len(folded) >= 2 and folded in rest:
            best = max(best, len(folded) / len(rest))
        if not wanted & _bigrams(folded):
            continue  # nothing in common: no near miss to look for (keeps a question over 2,000 events fast)
        best = max(best, difflib.SequenceMatcher(None, rest, folded).ratio())
        # a near miss against a part of the name of the same length (区民まつる ~ 区民まつり)
        if len(folded) > len(rest) >= 3:
            for i in range(len(folded) - len(rest) + 1):
                best = max(best, difflib.SequenceMatcher(None, rest, folded[i:i + len(rest)]).ratio())
    return best

"""Understanding what a resident types about events: dates (read by events/dates.py: 今週末, 再来週, 来月の11日,
2027/7/18, 2/1〜2/14, こどもの日, GW, next Saturday...), event names and their readings (くみんまつり), venues
(八幡屋公園) and categories (こども, まつり).

Once the date words are taken out, the text is NFKC-normalised, lower-cased, katakana folded to hiragana and a few
kanji spellings folded to kana (祭り → まつり), so full/half width, katakana/hiragana and 祭/まつり all meet.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from bot.texts import labels
from events import dates
from events.dates import DateRange

__all__ = ["DateRange", "Query", "fold", "matches_name", "parse"]

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
class Query:
    """What the resident asked for."""

    text: str
    dates: DateRange | None = None
    bad_date: str | None = None  # a date that does not exist (2月30日): say so rather than guess
    unknown_date: str | None = None  # a date-like phrase not understood (翌日, 第3週): say so, never list everything
    categories: set[str] = field(default_factory=set)
    rest: str = ""  # what is left once dates, categories and filler words are taken out: a name or a venue
    wants_events: bool = False  # the word イベント / events on its own

    @property
    def has_intent(self) -> bool:
        return bool(self.dates or self.bad_date or self.unknown_date or self.categories or self.wants_events)


def parse(text: str, today: dt.date) -> Query:
    reading = dates.read(text, today)
    rest = fold(reading.rest)
    query = Query(text=text, dates=reading.range, bad_date=reading.bad, unknown_date=reading.unknown)
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

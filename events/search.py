"""Understanding what a resident types about events: dates (read by events/dates.py: 今週末, 再来週, 来月の11日,
2027/7/18, 2/1〜2/14, こどもの日, GW, next Saturday...), event names and their readings (くみんまつり), venues
(八幡屋公園), categories (こども, まつり), the usual questions (雨でもやる？ 駐車場ある？ 無料？: Topic) and whether
it is on (やってる？).

Once the date words are taken out, the text is NFKC-normalised, lower-cased, katakana folded to hiragana (jaconv)
and a few kanji spellings folded to kana (祭り → まつり), so full/half width, katakana/hiragana and 祭/まつり all
meet. Near misses (typos: 区民まつる, ちゅうしゃじょお) are scored with rapidfuzz.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import jaconv
from rapidfuzz import fuzz

from bot.texts import labels
from events import dates
from events.dates import DateRange
from events.schema import STATUS_TOPIC, Topic

__all__ = ["STATUS", "DateRange", "Query", "fold", "matches_faq", "matches_name", "parse"]

KANJI_FOLDS = [("お祭り", "おまつり"), ("祭り", "まつり"), ("祭", "まつり"), ("子供", "こども"), ("子ども", "こども"),
               ("車椅子", "くるまいす"), ("車いす", "くるまいす"), ("お手洗い", "といれ"),
               ("今日", "きょう"), ("明日", "あした"), ("明後日", "あさって")]
FILLERS = ["のときは", "のとき", "ときは", "どうなりますか", "どうなる", "どうする", "ありますか", "あります",
           "あるの", "ある", "おしえて", "教えて", "知りたい", "しりたい", "について", "はいつ", "いつ", "どこ",
           "なに", "何", "ですか", "です", "ください", "の予定", "予定", "開催", "やってる", "やる", "って", "?", "!",
           "、", "。", "~", "〜", "いべんと", "events", "event", "what's on", "whats on", "when is", "when", "is",
           "the", "in", "on", "please", "what", "are", "there", "any"]
_FILLERS_LONGEST_FIRST = sorted(FILLERS, key=len, reverse=True)
EVENT_WORDS = ("いべんと", "event", "もよおし", "催し", "行事", "ぎょうじ", "what's on", "whats on")
CATEGORY_WORDS = {
    "こども": ("こども", "kids", "children", "family", "おやこ", "親子"),
    "まつり": ("まつり", "festival", "festa", "ふぇすた"),
    "講座": ("講座", "こうざ", "lecture", "class", "せみなー"),
    "会議": ("会議", "かいぎ", "meeting", "部会", "ぶかい"),
    "音楽": ("音楽", "おんがく", "music", "こんさーと", "concert"),
    "ものづくり": ("ものづくり", "factory", "工場", "こうじょう"),
}


def is_category_word(word: str) -> bool:
    """The word (of a question's rest) is a category's word alone: kids, festivals, まつり, こど(も)."""
    words = _CATEGORY_WORDS_FOLDED
    return word in words or word.rstrip("s") in words or (len(word) >= 2 and any(w.startswith(word) for w in words))


@functools.lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """The form all matching works on (cached: event names are folded again for every question)."""
    text = jaconv.kata2hira(unicodedata.normalize("NFKC", text).lower())
    for kanji, kana in KANJI_FOLDS:
        text = text.replace(kanji, kana)
    return re.sub(r"[\s\u3000・「」『』()（）]+", "", text) if not re.search(r"[a-z]{2}", text) else " ".join(
        text.split())


# The usual questions, by the words residents use for them (folded below). A word found in the text is taken out of
# what names the event (わんぱくまつり 駐車場 → わんぱくまつり). STATUS: is it on (today)?
STATUS = STATUS_TOPIC
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    Topic.RAIN: ("if it rains", "rains", "rainy", "雨天の場合", "雨天時", "雨天", "雨の場合", "雨の日", "雨でも",
                 "雨なら", "雨だったら", "雨が降ったら", "雨", "あめのひ", "あめでも", "あめなら", "あめだったら",
                 "あめふったら", "小雨", "荒天", "天気", "てんき", "台風", "たいふう", "警報", "rain", "weather",
                 "storm"),
    Topic.PARKING: ("駐車場", "ちゅうしゃじょう", "駐車", "ちゅうしゃ", "ぱーきんぐ", "駐輪場", "ちゅうりんじょう",
                    "駐輪", "ちゅうりん", "車で", "くるまで", "車停め", "車をとめ", "車を停め", "くるまとめ",
                    "くるまをとめ", "自転車", "じてんしゃ", "parking", "park my car", "where to park", "car park",
                    "by car", "bicycle"),
    Topic.ACCESS: ("あくせす", "行き方", "いきかた", "最寄", "もより", "交通", "道順", "どうやって行",
                   "どうやっていく", "電車で", "でんしゃで", "ばすで", "ばす停", "地下鉄", "ちかてつ", "駅から",
                   "何駅", "なにえき", "access", "directions", "how to get", "get there", "nearest station",
                   "closest station", "by train", "by bus"),
    Topic.FEE: ("料金は", "料金", "りょうきん", "無料", "むりょう", "有料", "ゆうりょう", "いくら", "お金", "おかね",
                "費用", "入場料", "参加費", "ただ?", "fee", "free", "cost", "price", "how much"),
    Topic.BELONGINGS: ("持ち物", "持物", "もちもの", "持って行", "持ってい", "もってい", "持ってく", "もってく",
                       "持参", "必要なもの", "いるもの", "持ちもの", "what to bring", "to bring", "should i bring",
                       "need to bring"),
    Topic.FACILITIES: ("といれ", "お手洗い", "お手洗", "おてあらい", "飲食", "食べ物", "たべもの", "飲み物",
                       "のみもの", "屋台", "やたい", "弁当", "べんとう", "食事", "ごはん", "きっちんかー", "toilet",
                       "toilets", "restroom", "restrooms", "food", "drink", "drinks", "food stalls"),
    Topic.CONTACT: ("問い合わせ先", "問い合わせさき", "問合せ先", "問い合わせ", "問合せ", "問合わせ",
                    "といあわせさき", "といあわせ", "連絡先", "れんらくさき", "電話番号", "でんわ", "主催", "contact",
                    "phone", "who runs"),
    STATUS: ("やってますか", "やっていますか", "やってる", "やってます", "やっています", "やりますか", "やるの",
             "やる?", "開催される", "開催します", "開催され", "開催中", "中止", "ちゅうし", "延期", "えんき",
             "予定どおり", "予定通り", "あるのかな", "is it on", "still on", "going ahead", "happening", "cancelled",
             "canceled", "postponed"),
}
FREE_WORDS = ("無料", "むりょう", "ただ?", "ただで", "free")
# words whose typos are still read (long enough that a one-letter slip leaves them recognisable)
FUZZY_TOPIC_WORDS = 5
FUZZY_TOPIC_SCORE = 85


# The categories' names in the text catalogue (まつり, Festivals...) are understood too: a button's label typed.
for _category, _words in CATEGORY_WORDS.items():
    CATEGORY_WORDS[_category] = (*_words, *(fold(w) for w in labels(f"category.{_category}")))


@dataclass(frozen=True)
class Query:
    """What the resident asked for (frozen: parse() hands the same one to everyone who typed the same words)."""

    text: str
    dates: DateRange | None = None
    bad_date: str | None = None  # a date that does not exist (2月30日): say so rather than guess
    unknown_date: str | None = None  # a date-like phrase not understood (翌日, 第3週): say so, never list everything
    categories: frozenset[str] = frozenset()
    rest: str = ""  # what is left once dates, categories and filler words are taken out: a name or a venue
    wants_events: bool = False  # the word イベント / events on its own
    topics: tuple[str, ...] = ()  # Topic values and STATUS, in the order asked
    free: bool = False  # 無料 named: a filter (無料のイベント), or the fee topic of a named event

    @property
    def has_intent(self) -> bool:
        return bool(self.dates or self.bad_date or self.unknown_date or self.categories or self.wants_events)

    @property
    def wish(self) -> bool:
        """A wish or a judgement and nothing that asks (駐車場を増やしてください, トイレが汚いと思います, I want more
        parking): an opinion to offer sending, even about an event named, not a question to answer."""
        folded = fold(self.text)
        return _WISHES.search(folded) is not None and _ASKS.search(folded) is None

    @property
    def remark(self) -> bool:
        """A usual question's word inside a remark, not a question: a wish, or many other words beside it and nothing
        that asks (駅前の駐輪場が足りません). Words beside it may be an event's name: ask only when none is named."""
        folded = fold(self.text)
        return self.wish or (len(self.rest) >= REMARK_REST and _ASKS.search(folded) is None
                             and _STATES.search(folded) is not None)


REMARK_REST = 6  # characters left beside a topic's word from which a text without a question word is a remark
# what makes a text a question: a question mark, a question ending, a question word, asking for what there is
_ASKS = re.compile("|".join([r"[?？]",
                             r"(?:か|かな|の|かね)[。.!！\s]*$", r"いつ(?!も)", r"is\s+there", r"can\s+i", *"""
    どこ なに なん 何 いくら どう どれ だれ 誰 ある あり でき 使え つかえ 行け いけ 入れ はいれ おしえ 教え
    知りたい しりたい 大丈夫 だいじょうぶ 調べ しらべ 見せ みせ 知らせ しらせ
    what where when how info tell""".split()]), re.IGNORECASE)
# a Japanese sentence that states something (足りません, 困ります, 汚い), not a noun phrase asked (会場までの行き方)
_STATES = re.compile(r"(?:ません|ない|です|ます|でした|ました|だ|た|い)[。.!！\s]*$")
# what makes a short text a remark: a wish or a judgement (駐車場を増やしてください, トイレが汚いと思います)
_WISHES = re.compile("|".join([r"[てで](?:ください|下さい|くださ|ほしい|欲しい)", *"""
    願いします おねがい 困ります こまります 思います おもいます 足りない たりない 足りません たりません すぎ
    ひどい 不便 ふべん 狭 せまい せまかった 少な すくな 汚 きたな
    うるさ""".split(), r"\bi (?:want|wish|would like|hope)\b", r"\bwe need\b", r"\bnot enough\b",
    r"\btoo (?:few|small|far|dirty|expensive)\b", r"\bplease (?:add|make|build|increase|improve|fix|stop)\b"]),
    re.IGNORECASE)
KEPT_TEXT = 200  # questions up to this long are kept (a long text is rarely sent twice, and would fill memory)


def parse(text: str, today: dt.date) -> Query:
    """What the text asks for, read against `today`. Kept for the same words on the same day: a rich menu's button
    sends the same text for everyone who taps it, and a busy hour is many people asking the same."""
    return _parse_kept(text, today) if len(text) <= KEPT_TEXT else parse_uncached(text, today)


def parse_uncached(text: str, today: dt.date) -> Query:
    """parse(), read anew every time."""
    reading = dates.read(text, today)
    rest = fold(reading.rest)
    free = any(w in rest for w in _FREE) or "タダ" in text  # (ただ alone is a common word)
    topics, rest = _topics(rest)
    # Category words stay in `rest` too: "まつり" may also be part of a name (区民まつり).
    categories = frozenset(category for category, words in CATEGORY_WORDS.items() if any(w in rest for w in words))
    wants_events = any(w in rest for w in EVENT_WORDS)
    for filler in _FILLERS_LONGEST_FIRST:
        if re.fullmatch(r"[a-z' ]+", filler):
            rest = re.sub(rf"\b{re.escape(filler)}\b", " ", rest)
        else:
            rest = rest.replace(filler, " ")
    # particles left at either end ("八幡屋公園の", "の区民まつり"); inside a name they stay (ぴくにっく)
    # (a lone kana left by a typo's alignment, ちゅうしゃじょお → お, names nothing)
    parts = [part.strip("はのをがにでへもか") for part in rest.split()]
    rest = " ".join(p for p in parts if not re.fullmatch(r"[\u3041-\u309f]?", p)).strip()
    return Query(text=text, dates=reading.range, bad_date=reading.bad, unknown_date=reading.unknown,
                 categories=categories, rest=rest,
                 wants_events=wants_events, topics=tuple(topics), free=free)


_parse_kept = functools.lru_cache(maxsize=4096)(parse_uncached)
_TOPICS = {topic: tuple(dict.fromkeys(fold(w) if not w.isascii() else w for w in words))
           for topic, words in TOPIC_WORDS.items()}
_TOPIC_ORDER = sorted(((topic, word) for topic, words in _TOPICS.items() for word in words),
                      key=lambda pair: len(pair[1]), reverse=True)
_FREE = tuple(fold(w) for w in FREE_WORDS)
_CATEGORY_WORDS_FOLDED = frozenset(fold(w) for words in CATEGORY_WORDS.values() for w in words)
_IS_IT_ON = re.compile(r"^(?:is|are) .*\bon\s*\??\s*$")


def _topics(rest: str) -> tuple[list[str], str]:
    """The topics the text asks about, in its order, and the text with their words taken out. Longer words are
    looked for first, across topics (電車で is アクセス before 車で is 駐車場). A long word is still found with a
    slip (ちゅうしゃじょお, といあわせさき → といあわせ)."""
    found: dict[str, int] = {}
    for topic, word in _TOPIC_ORDER:
        if topic in found:
            continue
        if word.isascii() and re.search(r"[a-z]", word):  # whole English words only (rain, not raining)
            hit = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", rest)
            span = hit.span() if hit else None
        else:
            at = rest.find(word)
            span = (at, at + len(word)) if at >= 0 else None
        if span is not None:
            found[topic] = span[0]
            rest = rest[:span[0]] + " " + rest[span[1]:]
    if STATUS not in found and (on := _IS_IT_ON.search(rest)):  # is the festival on?
        found[STATUS] = on.start()
    for topic, words in _TOPICS.items():  # a slip in a long word, for a topic not found as written
        if topic in found or topic == STATUS:
            continue
        for word in words:
            if (len(word) >= FUZZY_TOPIC_WORDS and not word.isascii() and len(rest) >= len(word) - 1
                    and len(_bigrams(word) & _bigrams(rest)) >= 2):  # (a cheap look first: most texts share none)
                near = fuzz.partial_ratio_alignment(word, rest, score_cutoff=FUZZY_TOPIC_SCORE)
                if near is not None:
                    found[topic] = near.dest_start
                    rest = rest[:near.dest_start] + " " + rest[near.dest_end:]
                    break
    return sorted(found, key=lambda topic: found[topic]), rest


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
        best = max(best, fuzz.ratio(rest, folded) / 100)
        if " " in rest:  # English words in any order, some of the name's left out (wanpaku festival)
            best = max(best, fuzz.token_set_ratio(rest, folded) / 100 - 0.01)
        # a near miss against a part of the name of the same length (区民まつる ~ 区民まつり)
        if len(folded) > len(rest) >= 3:
            best = max(best, fuzz.partial_ratio(rest, folded) / 100)
    return best


# Words that carry no content of a question (ありますか, 大丈夫, できますか): taken out before questions are compared
_FUNCTION_WORDS = sorted((fold(w) for w in (
    "ありますか", "あります", "ありますか", "いいですか", "ですか", "ますか", "でしょうか", "できますか", "できる",
    "ください", "について", "大丈夫", "だいじょうぶ", "おしえて", "教えて", "知りたい", "どこ", "いつ", "なに", "何",
    "ですが", "けど", "ある", "いい", "?", "!", "、", "。")), key=len, reverse=True)
FAQ_KANA = 3  # a shared run this long in kana (ぺっと) names the question; with a kanji, two (授乳)


def _content(text: str) -> str:
    folded = fold(text)
    for word in _FUNCTION_WORDS:
        folded = folded.replace(word, " ")
    return folded


def _shared_run(a: str, b: str) -> str:
    """The longest run of characters in both (the strings are short: a question and a chat message)."""
    best, previous = "", [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        current = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1] and a[i - 1] != " ":
                current[j] = previous[j - 1] + 1
                if current[j] > len(best):
                    best = a[i - current[j]:i]
        previous = current
    return best


def matches_faq(text: str, faq: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The question of the event's own Q&A that the text asks, if one does: they share a content word, two
    characters with a kanji or three in kana, once function words are taken out (ペットは連れて行けますか ←
    ペット大丈夫？; 授乳室はありますか ← 授乳できる所は？; 車いすで参加できますか ← 車椅子でも大丈夫？)."""
    asked = _content(text)
    best, chosen = 0, None
    for pair in faq:
        run = _shared_run(_content(str(pair.get("q", ""))), asked)
        if (len(run) >= FAQ_KANA or (len(run) >= 2 and re.search(r"[\u4e00-\u9fff々]", run))) and len(run) > best:
            best, chosen = len(run), pair
    return chosen

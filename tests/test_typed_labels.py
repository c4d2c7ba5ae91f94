"""Every label of a button, quick reply or rich-menu area the bot offers is understood when typed, in both
languages: older users type what they see. The catalogue is bot.texts.BUTTON_KEYS; these tests walk it, and check
that what the bot really offers comes from it."""

from __future__ import annotations

import re
from typing import Any

import pytest

import demo
from bot import texts
from richmenu.menus import MENUS
from tests.fakeline.server import FakeLine
from tests.helpers import Bot, Phone, actions, link_member, new_user_id, work
from tests.helpers import texts as shown

NOT_UNDERSTOOD = (texts.JA["not_understood"].split("\n")[0], texts.EN["not_understood"].split("\n")[0])


@pytest.fixture
def ward(sessions: Any) -> None:
    with work(sessions) as unit:
        demo.load(unit)


def _understood(replies: list[dict[str, Any]]) -> bool:
    said = shown(replies)
    return bool(replies) and not any(n in said for n in NOT_UNDERSTOOD)


def _person(bot: Bot, line: FakeLine, kind: str, lang: str, n: int) -> Phone:
    if kind == "member":
        phone, _ = link_member(bot, line, f"委員{n}", "まちづくり部会")
    else:
        phone = Phone(bot, line, new_user_id())
        phone.follow()
    if lang == "en":
        phone.say("English")
    phone.say("イベント")  # something was shown: 「詳しく」, 「地図」 typed refer to it
    phone.new()
    return phone


@pytest.mark.parametrize("kind", ["resident", "member"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_button_label_in_the_catalogue_is_understood_typed(bot: Bot, line: FakeLine, ward: None, kind: str,
                                                                  lang: str) -> None:
    catalogue = texts.CATALOGUES[lang]
    missed = []
    for n, key in enumerate(texts.BUTTON_KEYS):
        label = re.sub(r"\{\w+\}", "2", catalogue.get(key) or texts.JA[key])
        phone = _person(bot, line, kind, lang, n)  # each label typed out of the blue, by someone new
        if not _understood(phone.say(label)):
            missed.append(f"{key}: {label}")
    assert missed == []


def test_the_rich_menus_offer_only_catalogue_labels() -> None:
    offered = set(texts.labels(*texts.BUTTON_KEYS))
    for buttons in MENUS.values():
        for button in buttons:
            assert button.label in offered
            if button.action["type"] == "message":
                assert button.action["text"] in offered


# Journeys through the bot: every button they offer, typed right where it was offered, is understood.
JOURNEYS = {
    "resident": ["ヘルプ", "通知設定", "イベント", "ご意見", "わんぱくまつり"],
    "member": ["ヘルプ", "会議・資料", "アンケート", "事前意見", "イベント"],
}


@pytest.mark.parametrize("kind", sorted(JOURNEYS))
def test_what_the_bot_offers_is_understood_typed_where_it_was_offered(bot: Bot, line: FakeLine, ward: None,
                                                                      kind: str) -> None:
    missed = []
    for n, start in enumerate(JOURNEYS[kind]):
        probe = _person(bot, line, kind, "ja", 100 + n)
        offered = [a for a in actions(probe.say(start)) if a["type"] != "uri"]
        for i, action in enumerate(offered):
            phone = _person(bot, line, kind, "ja", 200 + 10 * n + i)
            phone.say(start)  # the same place in the conversation
            label = action["label"].lstrip("✓")
            if not _understood(phone.say(label)):
                missed.append(f"{start} → {label}")
    assert missed == []

"""Small talk and a way out: greetings and thanks get a short friendly answer with the menu; a text the bot cannot
answer offers 「区役所に問い合わせる」 (the website, phone and hours) and sending it as ご意見 in one tap, kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakeline.server import FakeLine
from tests.helpers import AUTH, Bot, Phone, actions, new_user_id, texts


@pytest.mark.parametrize("said", ["こんにちは", "こんにちわ〜", "おはようございます！", "はじめまして。", "Hello",
                                  "hi!"])
def test_greetings_get_a_friendly_answer_with_the_menu(bot: Bot, line: FakeLine, said: str) -> None:
    answer = Phone(bot, line, new_user_id()).say(said)
    assert ("こんにちは。港区の区政会議" in texts(answer) or "Hello. This is the bot" in texts(answer))
    assert "わかりませんでした" not in texts(answer) and "イベント" in [a["label"] for a in actions(answer)]


@pytest.mark.parametrize("said", ["ありがとう", "ありがとうございました！", "助かりました", "thank you"])
def test_thanks_get_a_friendly_answer(bot: Bot, line: FakeLine, said: str) -> None:
    answer = Phone(bot, line, new_user_id()).say(said)
    assert "どういたしまして" in texts(answer) and "わかりませんでした" not in texts(answer)


def test_a_question_the_bot_cannot_answer_offers_the_office_and_keeps_the_text(bot: Bot, line: FakeLine,
                                                                               app_factory: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    question = "粗大ごみの出し方がわからない"
    lost = phone.say(question)
    assert "わかりませんでした" in texts(lost)
    labels = [a["label"] for a in actions(lost)]
    assert labels[:2] == ["区役所に問い合わせる", "ご意見として送る"]
    info = phone.tap("区役所に問い合わせる", lost)
    assert "https://www.city.osaka.lg.jp/minato/" in texts(info) and "お問い合わせ:" not in texts(info)  # no phone set
    kept = phone.tap("ご意見として送る", lost)
    assert "送る前に、あと少し おききします" in texts(kept)
    phone.tap("そのほか", kept)
    phone.say("名前なしで送る")
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion["text"] == question


def test_the_office_phone_and_hours_are_given_once_set(database_url: str, sessions: Any, line: FakeLine,
                                                       app_factory: Any) -> None:
    client = app_factory(office_phone="06-0000-0000", office_hours="平日 9:00〜17:30")
    phone = Phone(Bot(client, sessions), line, new_user_id())
    info = phone.say("区役所に問い合わせる")
    assert "お問い合わせ: 港区役所 06-0000-0000（平日 9:00〜17:30）" in texts(info)

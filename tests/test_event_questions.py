"""Residents' usual questions about an event (雨天時, 駐車場, アクセス, 料金, 持ち物, トイレ・飲食, 問い合わせ先, the
event's own Q&A) and the festival-day status (開催 / 中止 / 延期 / 内容変更 with a message): asked with the event's
name, right after looking at an event, or alone; set by staff in one tap through the API, shown on cards and answers,
pushed once to who should hear, not held by the quiet hours unless the event says so."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot import clock
from db.models import Delivery
from events import search
from events.schema import Topic
from tests.fakeline.server import FakeLine
from tests.helpers import AUTH, Bot, Phone, actions, api, new_user_id, texts

NOW = dt.datetime(2027, 5, 10, 12, 0, tzinfo=clock.JST)  # Mon
SPORTS_DAY = dt.datetime(2027, 5, 15, 9, 30, tzinfo=clock.JST)  # Sat


def _event(bot: Bot, title: str, starts: dt.datetime, **fields: Any) -> dict[str, Any]:
    body = {"title": title, "kind": "festival", "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(hours=5)).isoformat(), "venue": "市岡元町公園", "tags": ["まつり"],
            **fields}
    return api(bot.client, "POST", "/events", json=body)


@pytest.fixture
def festivals(bot: Bot) -> Any:
    with time_machine.travel(NOW, tick=True) as traveller:
        sports = _event(bot, "市岡スポーツ交流会", SPORTS_DAY, keywords=["すぽーつこうりゅうかい"], free=True, answers={
            "rain": "雨天の場合は体育館で行います。判断は当日7時、LINEでお知らせします。",
            "parking": "近くのコインパーキングをご利用ください。会場に駐車場はありません。",
            "access": "大阪メトロ「弁天町」駅から徒歩10分。市バス「市岡」下車すぐ。",
            "belongings": "運動靴、水筒、タオル"},
            faq=[{"q": "車いすでも参加できる競技はありますか", "a": "ボッチャがあります。"},
                 {"q": "お弁当を食べる場所はありますか", "a": "公園の東側の芝生でどうぞ。"}])
        flea = _event(bot, "築港フリーマーケット", SPORTS_DAY + dt.timedelta(days=7), free=False,
                      answers={"fee": "出店料1,000円（見学は無料）"}, tags=["まつり"])
        traveller.sports, traveller.flea = sports, flea  # type: ignore[attr-defined]
        yield traveller


def _said(phone: Phone, words: str) -> str:
    return texts(phone.say(words))


# --------------------------------------------------------------------------- understanding the question


@pytest.mark.parametrize(("words", "topics"), [
    ("駐車場はありますか", [Topic.PARKING]), ("ちゅうしゃじょう ある？", [Topic.PARKING]),
    ("ﾁｭｳｼｬｼﾞｮｳ", [Topic.PARKING]), ("車で行けますか", [Topic.PARKING]), ("ちゅうしゃじょお", [Topic.PARKING]),
    ("雨天時は？", [Topic.RAIN]), ("雨が降ったらどうなる", [Topic.RAIN]), ("台風のときは", [Topic.RAIN]),
    ("最寄り駅はどこ", [Topic.ACCESS]), ("行き方をおしえて", [Topic.ACCESS]), ("バスで行きたい", [Topic.ACCESS]),
    ("参加費はいくら", [Topic.FEE]), ("お金かかる？", [Topic.FEE]), ("何を持っていけばいい", [Topic.BELONGINGS]),
    ("もちもの", [Topic.BELONGINGS]), ("お手洗いは", [Topic.FACILITIES]), ("屋台は出ますか", [Topic.FACILITIES]),
    ("問合せ先", [Topic.CONTACT]), ("電話番号は", [Topic.CONTACT]), ("Is there parking?", [Topic.PARKING]),
    ("what should I bring", [Topic.BELONGINGS]), ("how much is it", [Topic.FEE]),
    ("雨でも開催されますか", [Topic.RAIN, search.STATUS]), ("中止ですか", [search.STATUS]),
    ("やってますか", [search.STATUS]),
])
def test_the_usual_questions_are_read_in_many_phrasings(words: str, topics: list[str]) -> None:
    assert search.parse(words, NOW.date()).topics == tuple(topics)


@pytest.mark.parametrize("frame", ["{}は？", "港区民まつりの{}", "{}", "Is there {} at the festival?"])
def test_every_topic_word_is_read_as_its_topic_in_any_frame(frame: str) -> None:
    """No word is shadowed by another topic's shorter word (電車で is アクセス, not 車で 駐車場) or by a date."""
    wrong = [(topic, word, search.parse(frame.format(word), NOW.date()).topics)
             for topic, words in search.TOPIC_WORDS.items() for word in words
             if topic not in search.parse(frame.format(word), NOW.date()).topics]
    assert wrong == []


@pytest.mark.parametrize("words", ["市岡スポーツ交流会", "来週のイベント", "ありがとう", "八幡屋公園", "こども",
                                   "区政会議の資料", "みなとピクニック"])
def test_words_that_ask_no_usual_question_are_left_alone(words: str) -> None:
    assert search.parse(words, NOW.date()).topics == ()


REMARKS = ["駅前の駐輪場が足りません", "トイレが汚いので掃除してほしい", "料金が高すぎると思います",
           "会場までのアクセスが悪いので改善してほしいです", "駐車場を増やしてください",
           "公園のトイレはいつも混んでいて困ります", "I want more parking spaces", "The toilets were too dirty",
           "駐車場が狭い", "トイレが少なかった"]
QUESTIONS = ["駐輪場は何時まで使えますか", "子どもと自転車で行きたいんですけど駐輪場ありますか",
             "駐車場を教えてください", "トイレ、おむつ替えできるところある", "ペット連れて行っても大丈夫な駐車場",
             "雨天時", "駐車場の場所を調べてください", "駐車場の地図を見せてください", "tell me about parking",
             "最寄駅から会場までの行き方", "トイレは少ないですか？", "参加費かかりますか"]


@pytest.mark.parametrize("words", REMARKS + QUESTIONS)
def test_a_usual_questions_word_in_a_remark_is_not_a_question(words: str) -> None:
    """駅前の駐輪場が足りません is an opinion (offered to send as ご意見), not a question to answer with parking."""
    query = search.parse(words, NOW.date())
    assert query.topics and query.remark is (words in REMARKS)


def test_a_remark_is_offered_as_an_opinion_not_answered_as_a_question(bot: Bot, line: FakeLine,
                                                                      festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.say("スポーツ交流会")  # just looked at an event: a remark is still not a question about it
    remark = phone.say("駐車場を増やしてください")
    assert "コインパーキング" not in texts(remark) and "ご意見として 区役所に送りますか" in texts(remark)
    assert [a["label"] for a in actions(remark)] == ["送る", "やめる"]
    assert "コインパーキング" in _said(phone, "駐車場はありますか")
    named = phone.say("スポーツ交流会の駐車場を増やしてほしい")  # a wish about an event named is an opinion too
    assert "コインパーキング" not in texts(named) and "ご意見として 区役所に送りますか" in texts(named)
    assert "コインパーキング" in _said(phone, "スポーツ交流会 駐車場 台数")  # many words, but its name: a question


# --------------------------------------------------------------------------- answers in the chat


def test_an_event_and_a_topic_get_that_answer_for_that_event(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    answer = phone.say("スポーツ交流会の駐車場")
    assert "■市岡スポーツ交流会（5月15日(土) 9:30〜14:30）" in texts(answer).replace("09:30", "9:30")
    assert "【駐車場】近くのコインパーキング" in texts(answer)
    assert "フリーマーケット" not in texts(answer)
    # the other answers it has are one tap away, and typing what a button says works
    labels = [a["label"] for a in actions(answer)]
    assert {"雨天時", "アクセス", "料金", "持ち物", "詳しく"} <= set(labels) and "駐車場" not in labels
    assert "【アクセス】大阪メトロ「弁天町」駅から" in texts(phone.tap("アクセス", answer))
    assert "雨天の場合は体育館" in _said(phone, "すぽーつこうりゅうかい 雨でもやる？")


def test_a_topic_right_after_looking_at_an_event_refers_to_it(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.say("フリーマーケット")
    fee = _said(phone, "料金は？")
    assert "築港フリーマーケット" in fee and "有料です。出店料1,000円" in fee
    # an answer it does not have says so, and offers the office (its phone and hours), not silence
    toilets = phone.say("トイレある？")
    assert "トイレ・飲食については、まだ情報がありません。" in texts(toilets)
    assert "区役所に問い合わせる" in [a["label"] for a in actions(toilets)]
    # hours later the question is no longer about that event
    festivals.shift(dt.timedelta(hours=3))
    assert "築港フリーマーケット" not in _said(phone, "持ち物は？")


def test_a_topic_alone_answers_for_the_coming_events_that_have_it(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    answer = _said(phone, "駐車場ありますか")
    assert "市岡スポーツ交流会" in answer and "コインパーキング" in answer
    assert "フリーマーケット" not in answer  # it has no parking answer
    assert "わかりませんでした" not in _said(Phone(bot, line, new_user_id()), "雨天時")


def test_free_is_a_filter_and_a_question(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    cards = phone.say("無料のイベント")
    assert "市岡スポーツ交流会" in texts(cards) and "築港フリーマーケット" not in texts(cards)
    assert "有料です" in _said(phone, "フリーマーケットは無料？")


def test_the_events_own_questions_are_answered(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.say("スポーツ交流会")
    assert "A. ボッチャがあります。" in _said(phone, "車椅子でも大丈夫？")
    assert "A. 公園の東側の芝生でどうぞ。" in _said(Phone(bot, line, new_user_id()), "交流会 お弁当")


def test_details_show_every_answer(bot: Bot, line: FakeLine, festivals: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    detail = texts(phone.tap("詳しく", phone.say("スポーツ交流会")))
    for words in ("よくある質問", "【雨天時】雨天の場合は体育館", "【駐車場】", "【アクセス】", "【料金】無料です。",
                  "【持ち物】運動靴", "Q. 車いすでも参加できる競技はありますか"):
        assert words in detail


def _refused(bot: Bot, method: str, path: str, status: int, **kw: Any) -> str:
    response = bot.client.request(method, "/api/v1" + path, headers=AUTH, **kw)
    assert response.status_code == status, response.text
    return response.text


def test_answers_are_checked_and_kept_through_the_api(bot: Bot, festivals: Any) -> None:
    event_id = festivals.sports["id"]
    changed = api(bot.client, "PATCH", f"/events/{event_id}", json={"answers": {"parking": "  あります（20台）  "},
                                                                     "faq": []})
    assert changed["answers"] == {"parking": "あります（20台）"} and changed["faq"] == []
    assert "rain" in _refused(bot, "PATCH", f"/events/{event_id}", 422, json={"answers": {"rain": "x" * 1001}})
    assert "weather" in _refused(bot, "PATCH", f"/events/{event_id}", 422, json={"answers": {"weather": "晴れ"}})
    assert "faq" in _refused(bot, "PATCH", f"/events/{event_id}", 422, json={"faq": [{"q": "", "a": "x"}]})


# --------------------------------------------------------------------------- the day's status


def _subscribed(bot: Bot, line: FakeLine, words: str) -> Phone:
    phone = Phone(bot, line, new_user_id())
    phone.tap("リマインドする", phone.say(words))
    phone.new()
    return phone


def test_the_day_status_is_shown_and_pushed_once(bot: Bot, line: FakeLine, festivals: Any, sessions: Any) -> None:
    subscriber = _subscribed(bot, line, "スポーツ交流会")
    asked = Phone(bot, line, new_user_id())
    asked.say("スポーツ交流会はいつ")
    asked.new()
    stranger = Phone(bot, line, new_user_id())
    stranger.say("こんにちは")
    stranger.new()
    festivals.move_to(dt.datetime(2027, 5, 15, 6, 40, tzinfo=clock.JST))  # in the quiet hours
    event_id = festivals.sports["id"]
    said = api(bot.client, "POST", f"/events/{event_id}/day-status",
               json={"status": "cancelled", "rain": True, "message": "雨のため、本日は中止します。"})
    assert said["notified"] == 2 and said["status"] == "rain_cancelled"
    bot.wait_idle()
    for phone in (subscriber, asked):  # at 6:40, not at 8:00: people are about to set out
        (push,) = [m for m in phone.new() if m.get("type") == "text"]
        assert push["text"].startswith("【雨天中止】市岡スポーツ交流会")
        assert "雨のため、本日は中止します。" in push["text"]
    assert stranger.new() == []
    # a second tap with the same word tells nobody again
    again = api(bot.client, "POST", f"/events/{event_id}/day-status",
                json={"status": "cancelled", "rain": True, "message": "雨のため、本日は中止します。"})
    assert again["notified"] == 0
    bot.wait_idle()
    assert subscriber.new() == []
    # 今日やってる？ and the event's name with やってる answer with the status and the message
    today = texts(stranger.say("今日やってる？"))
    assert "市岡スポーツ交流会" in today and "雨のため中止します。" in today and "雨のため、本日は中止します。" in today
    card = stranger.say("スポーツ交流会はやってますか")
    assert "【雨天中止】 市岡スポーツ交流会" in texts(card) and "06:40 更新" in texts(card)
    # the rain answer carries today's decision
    assert "雨天の場合は体育館" in texts(stranger.say("交流会 雨の日は")) and "中止します" in texts(card)


def test_held_postponed_and_changed(bot: Bot, line: FakeLine, festivals: Any) -> None:
    subscriber = _subscribed(bot, line, "フリーマーケット")
    event_id = festivals.flea["id"]
    for status, mark, words in (("held", "【開催】", "予定どおり開催します。"),
                                ("changed", "【内容変更】", "内容が変わりました。"),
                                ("postponed", "【延期】", "延期します。")):
        said = api(bot.client, "POST", f"/events/{event_id}/day-status",
                   json={"status": status, "message": f"{status}のお知らせ"})
        assert said["notified"] == 1
        bot.wait_idle()
        (push,) = subscriber.new()
        assert push["text"].startswith(mark) and words in push["text"] and f"{status}のお知らせ" in push["text"]
    # postponed: no reminder goes meanwhile, and the card says so
    reminders = api(bot.client, "GET", f"/events/{event_id}")["reminders"]
    assert {r["status"] for r in reminders} <= {"cancelled", "sent"}
    assert "【延期】 築港フリーマーケット" in texts(subscriber.say("フリーマーケット"))
    # a status chosen in the form afterwards drops the day's message, which was about the old one
    api(bot.client, "PATCH", f"/events/{event_id}", json={"status": "scheduled"})
    assert "postponedのお知らせ" not in texts(subscriber.say("フリーマーケット"))


@pytest.mark.quiet_hours
def test_a_day_notice_can_wait_for_the_morning(bot: Bot, line: FakeLine, festivals: Any, sessions: Any) -> None:
    event_id = festivals.flea["id"]
    api(bot.client, "PATCH", f"/events/{event_id}", json={"status_urgent": False})
    subscriber = _subscribed(bot, line, "フリーマーケット")
    festivals.move_to(dt.datetime(2027, 5, 22, 6, 30, tzinfo=clock.JST))
    said = api(bot.client, "POST", f"/events/{event_id}/day-status", json={"status": "held"})
    assert said["notices_at"].startswith("2027-05-21T23:00")  # 08:00 JST
    bot.wait_idle()
    assert subscriber.new() == []
    with sessions() as session:
        assert session.scalars(select(Delivery.status).where(Delivery.source.like(f"event:{event_id}:day:%"))).all() \
            == ["waiting"]
    festivals.move_to(dt.datetime(2027, 5, 22, 8, 0, 1, tzinfo=clock.JST))
    bot.wait_idle()
    assert "【開催】築港フリーマーケット" in texts(subscriber.new())


def test_a_wrong_day_status_is_refused_in_the_api(bot: Bot, festivals: Any) -> None:
    event_id = festivals.flea["id"]
    assert "status" in _refused(bot, "POST", f"/events/{event_id}/day-status", 422, json={"status": "rained"})
    assert "message" in _refused(bot, "POST", f"/events/{event_id}/day-status", 422,
                                 json={"status": "held", "message": "あ" * 501})
    _refused(bot, "POST", "/events/99999/day-status", 404, json={"status": "held"})
    festivals.move_to(SPORTS_DAY + dt.timedelta(days=8))  # the flea market is over: nobody is told of it now
    assert "over" in _refused(bot, "POST", f"/events/{event_id}/day-status", 422, json={"status": "held"})


def test_is_it_on_on_a_quiet_day_offers_what_is_coming(bot: Bot, line: FakeLine, festivals: Any) -> None:
    answer = Phone(bot, line, new_user_id()).say("やってる？")
    assert "今日と明日は、イベントはありません。" in texts(answer)
    assert "市岡スポーツ交流会" in [a["label"] for a in actions(answer)]


def test_english_readers_ask_the_same_questions(bot: Bot, line: FakeLine, festivals: Any) -> None:
    api(bot.client, "PATCH", f"/events/{festivals.sports['id']}", json={"title_en": "Ichioka Sports Meet"})
    phone = Phone(bot, line, new_user_id())
    phone.say("English")
    answer = texts(phone.say("Is there parking at the sports meet?"))
    assert "■Ichioka Sports Meet（Sat 15 May, 09:30–14:30）" in answer and "【Parking】近くのコインパーキング" in answer
    assert "フリーマーケット" not in answer
    assert "【Fee】Free." in texts(phone.say("how much is it"))


def test_a_question_after_the_events_name_written_apart_names_it(bot: Bot, line: FakeLine, festivals: Any) -> None:
    """The name, then a question the standard topics do not cover: the event's own Q&A, not every まつり."""
    answer = texts(Phone(bot, line, new_user_id()).say("市岡スポーツ交流会 車椅子の人も大丈夫？"))
    assert "A. ボッチャがあります。" in answer and "フリーマーケット" not in answer
    answer = texts(Phone(bot, line, new_user_id()).say("交流会 台風のときは"))
    assert "雨天の場合は体育館" in answer and "フリーマーケット" not in answer


def test_is_it_on_keeps_the_buttons_on_the_last_message(bot: Bot, line: FakeLine, festivals: Any) -> None:
    answer = Phone(bot, line, new_user_id()).say("スポーツ交流会 やってる？")
    assert answer[-1]["type"] == "flex" and "quickReply" in answer[-1] and "quickReply" not in answer[0]
    assert "雨天時" in [item["action"]["label"] for item in answer[-1]["quickReply"]["items"]]


def test_free_events_say_what_they_are(bot: Bot, line: FakeLine, festivals: Any) -> None:
    answer = Phone(bot, line, new_user_id()).say("タダのイベント")
    assert answer[0]["text"] == "無料のイベントは 1件です。" and "無料" in texts(answer[1:])

"""ご意見 by chat, 事前意見 from members, and staff answering them (pushed back to the sender in LINE)."""

from __future__ import annotations

import csv
import io
from typing import Any

import demo
from tests.fakeline.server import FakeLine
from tests.helpers import ADMIN, Bot, Phone, actions, link_member, new_user_id, texts, work

AUTH = {"Authorization": f"Bearer {ADMIN}"}


def test_a_resident_sends_an_opinion_and_staff_answer_it_in_line(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    start = phone.tap("ご意見")  # the greeting's quick reply
    assert [a["label"] for a in actions(start)] == ["区役所・区政のこと", "まちのこと", "そのほか", "やめる"]
    assert "入力して" in texts(phone.tap("まちのこと", start))
    assert "文字で入力してください" in texts(phone.sticker())
    ask_name = phone.say("天保山の夜景をもっと発信してほしいです。みなりんのグッズもほしい！")
    assert "お名前" in texts(ask_name)
    assert "受け付けました" in texts(phone.tap("名前なしで送る", ask_name))
    assert "わかりませんでした" in texts(phone.say("あいうえお"))  # the conversation is over

    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH, params={"status": "unread"}).json()
    assert opinion["category"] == "まちの魅力" and opinion["name"] is None and "夜景" in opinion["text"]
    marked = bot.client.patch(f"/api/v1/opinions/{opinion['id']}", headers=AUTH, json={"status": "in_progress"})
    assert marked.json()["status"] == "in_progress"
    answered = bot.client.post(f"/api/v1/opinions/{opinion['id']}/reply", headers=AUTH,
                               json={"text": "ありがとうございます。広報みなとで紹介します。"})
    assert answered.json()["status"] == "answered" and answered.json()["pushed"] is True
    bot.wait_idle()
    pushed = phone.new()
    assert "【区役所からのお返事】" in texts(pushed) and "広報みなとで紹介します" in texts(pushed)
    data = bot.client.get("/api/v1/opinions.csv", headers=AUTH).content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["番号", "種類", "分野", "会議", "お名前", "ご意見"] and rows[1][6] == "回答済"


def test_an_opinion_can_be_cancelled_and_names_are_kept_when_given(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.tap("区役所・区政のこと", phone.say("ご意見"))
    assert "やめました" in texts(phone.say("やめる"))
    assert bot.client.get("/api/v1/opinions", headers=AUTH).json() == []
    assert "入力中のものは ありません" in texts(phone.say("やめる"))  # nothing left to cancel
    phone.tap("そのほか", phone.say("ご意見"))
    phone.say("ベンチを増やしてください")
    phone.say("港 太郎")
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion["name"] == "港 太郎" and opinion["category"] == "その他"


def test_members_send_pre_meeting_opinions(bot: Bot, line: FakeLine, sessions: Any) -> None:
    with work(sessions) as unit:
        demo.load(unit)
    member, _ = link_member(bot, line, "まちの委員", "まちづくり部会")
    choose = member.say("事前意見")
    labels = [a["label"] for a in actions(choose)]
    assert labels == ["まちづくり部会", "区政会議 全体会議", "やめる"]
    member.tap("まちづくり部会", choose)
    assert "受け付けました" in texts(member.say("資料の3ページについて、区の考えを聞きたいです。"))
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion["kind"] == "pre_meeting" and opinion["name"] == "まちの委員" and opinion["event_id"]
    resident = Phone(bot, line, new_user_id())
    assert "委員の方が送るもの" in texts(resident.say("事前意見"))


def test_an_opinion_typed_straight_in_is_offered_to_send_and_nothing_typed_is_lost(bot: Bot, line: FakeLine
                                                                                    ) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    offer = phone.say("公園のベンチをふやしてください")
    assert "ご意見として 区役所に送りますか" in texts(offer) and "公園のベンチをふやしてください" in texts(offer)
    assert [a["label"] for a in actions(offer)] == ["送る", "やめる"]
    assert bot.client.get("/api/v1/opinions", headers=AUTH).json() == []  # never sent unasked
    ask = phone.tap("送る", offer)
    assert "送る前に" in texts(ask) and "まちのこと" in [a["label"] for a in actions(ask)]
    assert "お名前" in texts(phone.say("まちのこと"))  # the category's label typed chooses it; the text is kept
    assert "受け付けました" in texts(phone.say("名前なしで送る"))
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion["text"] == "公園のベンチをふやしてください" and opinion["category"] == "まちの魅力"
    # declined: nothing is stored
    offer = phone.say("駅前の道が暗くて危ないと思います")
    assert "送りますか" in texts(offer)
    assert "やめました" in texts(phone.tap("やめる", offer))
    assert len(bot.client.get("/api/v1/opinions", headers=AUTH).json()) == 1
    # not every unknown text is an opinion
    assert "わかりませんでした" in texts(phone.say("あいうえ"))


def test_text_typed_at_the_category_step_is_kept(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.say("ご意見")
    again = phone.say("ごみの収集日をLINEで知らせてほしい")
    assert "送る前に、あと少し おききします" in texts(again)
    phone.tap("区役所・区政のこと", again)
    phone.say("港 花子")
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion == {**opinion, "text": "ごみの収集日をLINEで知らせてほしい", "category": "区政情報",
                       "name": "港 花子"}


def test_a_too_long_opinion_is_kept_and_sent_in_parts(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.tap("そのほか", phone.say("ご意見"))
    long_text = "\n".join(f"{i}番目の段落です。" + "あ" * 290 for i in range(10))  # 3,079 characters
    said = phone.say(long_text)
    assert f"{len(long_text)}文字ありました" in texts(said) and "とってあります" in texts(said)
    assert bot.client.get("/api/v1/opinions", headers=AUTH).json() == []
    phone.tap("2回に分けて送る", said)
    phone.say("名前なしで送る")
    sent = sorted(bot.client.get("/api/v1/opinions", headers=AUTH).json(), key=lambda o: o["id"])
    assert [o["text"][:5] for o in sent] == ["（1/2）", "（2/2）"]
    assert "".join(o["text"][5:] for o in sent).replace("\n", "") == long_text.replace("\n", "")


def test_a_kept_opinion_is_never_replaced_by_what_is_typed_next(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.tap("送る", phone.say("公園のベンチをふやしてください"))
    again = phone.say("いべんと")  # not a category: the kept opinion stays and is shown
    assert "入力中のご意見:「公園のベンチをふやしてください」" in texts(again)
    assert "このアカウントでできること" in texts(phone.say("ヘルプ"))  # the menu's words still answer
    ask_name = phone.tap("まちのこと", phone.all()[-5:])
    assert "送る内容:「公園のベンチをふやしてください」" in texts(ask_name)
    phone.say("名前なしで送る")
    (opinion,) = bot.client.get("/api/v1/opinions", headers=AUTH).json()
    assert opinion["text"] == "公園のベンチをふやしてください"


def test_asking_to_send_an_opinion_starts_one_and_cancel_is_understood_in_any_case(bot: Bot, line: FakeLine
                                                                                    ) -> None:
    phone = Phone(bot, line, new_user_id())
    assert "どの分野のご意見ですか" in texts(phone.say("ご意見を送りたいです"))
    assert "受け取りました" not in texts(phone.all()[-1:])  # the wish to send is not taken as the opinion
    phone.tap("そのほか")
    assert "やめました" in texts(phone.say("cancel"))  # lower case, typed mid-opinion
    assert bot.client.get("/api/v1/opinions", headers=AUTH).json() == []

"""The feedback loop of opinions (issue #17, points 1, 2, 3, 5, 7): an opinion's life (受付 → 検討中 → 回答済 → 反映済
or 対応困難 with its reason, 担当課, due dates, the internal memo), opinions entered by staff, the answer pushed to
the sender quoting their own message, the one-tap rating and the live figures, the published table per meeting
(public page, CSV, .xlsx) with names only by consent, and 「わたしの意見」."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
import time_machine
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import clock, webhook_events
from db.base import transaction
from db.migrate import alembic_config
from db.models import AuditEntry, Department, Event, Opinion
from tests.fakeline.server import FakeLine
from tests.helpers import (
    ADMIN,
    SHIPPED_QUIET_HOURS,
    Bot,
    Phone,
    actions,
    api,
    csrf_of,
    link_member,
    logged_in,
    new_user_id,
    texts,
    wait_for,
)

AUTH = {"Authorization": f"Bearer {ADMIN}"}
MEMO = "内部メモ：担当者の私見ZQX"  # must never reach the sender or the public


@pytest.fixture
def bot(app_factory: Any, sessions: sessionmaker[Session]) -> Bot:
    """The app with no quiet hours, so the office's answers leave at once whatever the hour of the test."""
    return Bot(app_factory(quiet_hours_start=0, quiet_hours_end=0), sessions)


def say(phone: Phone, body: str) -> tuple[list[dict[str, Any]], str]:
    """Send a text as the phone does, and return the bot's answer and the quoteToken LINE gave the message."""
    event = webhook_events.text_message(phone.user_id, body)
    phone.tokens.add(event["replyToken"])
    phone.bot.send(event)
    return phone.new(), event["message"]["quoteToken"]


def send_opinion(phone: Phone, body: str) -> str:
    """A resident's ご意見 by chat (そのほか, no name); returns the quoteToken of the message it was typed in."""
    phone.tap("そのほか", phone.say("ご意見"))
    asked, token = say(phone, body)
    assert "お名前" in texts(asked)
    assert "受け付けました" in texts(phone.tap("名前なしで送る", asked))
    return token


def meeting(sessions: Any, title: str = "区政会議 全体会議（12月）", days: int = -3) -> int:
    starts = clock.now() + dt.timedelta(days=days)
    with transaction(sessions) as session:
        event = Event(title=title, kind="plenary", visibility="members", starts_at=starts,
                      ends_at=starts + dt.timedelta(hours=2))
        session.add(event)
        session.flush()
        return event.id


def department(sessions: Any, name: str) -> int:
    with transaction(sessions) as session:
        row = Department(name=name)
        session.add(row)
        session.flush()
        return row.id


def pushes_to(line: FakeLine, user_id: str) -> list[Any]:
    return [r for r in line.sent("push") if r.body["to"] == user_id]


# --------------------------------------------------------------------------- the answer quotes the sender; rating


def test_the_answer_quotes_the_senders_message_and_a_tap_changes_the_live_figures(bot: Bot, line: FakeLine
                                                                                  ) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    token = send_opinion(phone, "八幡屋公園のトイレを きれいにしてほしいです")
    figures = api(bot.client, "GET", "/opinions/figures")
    assert figures["overall"] == {**figures["overall"], "opinions": 1, "answered": 0, "share_answered": 0.0,
                                  "median_days": None, "rated": 0, "share_satisfied": None}
    target = figures["target"]
    assert target["indicator"] == "適切なフィードバックが行われたと感じる委員の割合"
    assert (target["target"], target["target_year"], target["baseline"]) == (80, "H31", 75)  # from the template
    assert figures["met"] is None

    (opinion,) = api(bot.client, "GET", "/opinions")
    assert opinion["status"] == "unread" and opinion["status_label"] == "受付" and opinion["source"] == "line"
    answered = api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "来月 清掃します。"})
    assert answered["pushed"] is True and answered["status"] == "answered"
    bot.wait_idle()
    (push,) = pushes_to(line, phone.user_id)
    first, question = push.body["messages"]
    assert first["type"] == "text" and first["quoteToken"] == token  # what the fake LINE server received
    assert "来月 清掃します。" in first["text"] and "【区役所からのお返事】" in first["text"]
    assert question["type"] == "template" and question["template"]["text"] == "この回答で 十分でしたか？"
    assert [a["label"] for a in question["template"]["actions"]] == ["十分", "まあ十分", "不十分"]
    pushed = phone.new()
    figures = api(bot.client, "GET", "/opinions/figures")["overall"]
    assert figures["answered"] == 1 and figures["share_answered"] == 100.0 and figures["median_days"] == 0.0

    asked = phone.tap("まあ十分", pushed)
    assert "ひとこと あれば 送ってください（なくても かまいません）" in texts(asked)
    assert [a["label"] for a in actions(asked)] == ["スキップする"]
    figures = api(bot.client, "GET", "/opinions/figures")
    assert figures["overall"]["rated"] == 1 and figures["overall"]["share_satisfied"] == 100.0
    assert figures["met"] is True
    # a double tap (another button of the same answer) changes nothing and says so plainly
    assert "もう お答えいただきました（まあ十分）" in texts(phone.tap("不十分", pushed))
    assert "ひとこと ありがとうございました" in texts(phone.say("もう少し早いと うれしいです"))
    (opinion,) = api(bot.client, "GET", "/opinions")
    assert opinion["rating"] == "mostly" and opinion["rating_comment"] == "もう少し早いと うれしいです"
    assert opinion["rated_at"] is not None

    # a second answer asks again; the first answer's buttons are stale
    api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "清掃を週2回にしました。"})
    bot.wait_idle()
    again = phone.new()
    assert again[-1]["template"]["text"] == "この回答で 十分でしたか？"
    assert "前の回答のもの" in texts(phone.tap("十分", pushed))
    assert api(bot.client, "GET", "/opinions")[0]["rating"] is None  # the new answer is not rated yet
    phone.tap("不十分", again)
    assert "ありがとうございました" in texts(phone.tap("スキップする"))
    figures = api(bot.client, "GET", "/opinions/figures")
    assert figures["overall"]["share_satisfied"] == 0.0 and figures["met"] is False
    assert figures["overall"]["ratings"] == {"enough": 0, "mostly": 0, "not_enough": 1}
    assert line.violations == []


def test_a_rating_typed_rates_the_latest_answer_and_buttons_of_others_are_refused(bot: Bot, line: FakeLine
                                                                                   ) -> None:
    phone = Phone(bot, line, new_user_id())
    assert "いま お答えいただく 回答は ありません" in texts(phone.say("十分"))  # nothing to rate yet
    send_opinion(phone, "駅前の自転車置き場を ふやしてください")
    (opinion,) = api(bot.client, "GET", "/opinions")
    api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "調べます。"})
    bot.wait_idle()
    pushed = phone.new()
    stranger = Phone(bot, line, new_user_id())  # a forwarded button: not theirs
    data = next(a for a in actions(pushed) if a["label"] == "十分")["data"]
    assert "前の回答のもの" in texts(stranger.postback(data))
    assert "ひとこと" in texts(phone.say("十分"))  # typed, not tapped
    assert "ありがとうございました" in texts(phone.say("スキップする"))
    (opinion,) = api(bot.client, "GET", "/opinions")
    assert opinion["rating"] == "enough" and opinion["rating_comment"] is None
    assert "もう お答えいただきました（十分）" in texts(phone.tap("まあ十分", pushed))


def test_an_opinion_in_parts_keeps_the_token_of_the_message_it_came_from(bot: Bot, line: FakeLine) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.tap("そのほか", phone.say("ご意見"))
    long_text = "\n".join(f"{i}番目の段落です。" + "あ" * 290 for i in range(10))
    said, token = say(phone, long_text)
    phone.tap("2回に分けて送る", said)
    phone.say("名前なしで送る")
    with bot.sessions() as session:
        parts = session.scalars(select(Opinion).order_by(Opinion.id)).all()
        assert [p.text[:5] for p in parts] == ["（1/2）", "（2/2）"]
        assert {p.quote_token for p in parts} == {token}
        second = parts[1].id
    api(bot.client, "POST", f"/opinions/{second}/reply", json={"text": "2つめの段落について、お答えします。"})
    bot.wait_idle()
    (push,) = pushes_to(line, phone.user_id)
    assert push.body["messages"][0]["quoteToken"] == token


def test_the_answer_written_at_night_quotes_the_sender_in_the_morning(app_factory: Any, sessions: Any,
                                                                       line: FakeLine) -> None:
    night = dt.datetime(2026, 10, 1, 22, 0, tzinfo=clock.JST)
    with time_machine.travel(night, tick=True) as traveller:
        bot = Bot(app_factory(**SHIPPED_QUIET_HOURS), sessions)  # 21:00–8:00
        phone = Phone(bot, line, new_user_id())
        token = send_opinion(phone, "夜の公園の照明を ふやしてください")
        (opinion,) = api(bot.client, "GET", "/opinions")
        assert api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "検討します。"})["pushed"]
        bot.wait_idle()
        assert pushes_to(line, phone.user_id) == []  # held by the quiet hours
        traveller.move_to(dt.datetime(2026, 10, 2, 8, 0, 1, tzinfo=clock.JST))
        wait_for(lambda: pushes_to(line, phone.user_id), 10, "the morning push")
        (push,) = pushes_to(line, phone.user_id)
        assert push.body["messages"][0]["quoteToken"] == token


# --------------------------------------------------------------------------- the life of an opinion


def test_status_moves_along_the_life_cycle_and_difficult_needs_a_reason(bot: Bot, line: FakeLine,
                                                                         sessions: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    send_opinion(phone, "図書館の開館時間を のばしてほしい")
    (opinion,) = api(bot.client, "GET", "/opinions")
    url = f"/api/v1/opinions/{opinion['id']}"

    def patch(**body: Any) -> Any:
        return bot.client.patch(url, headers=AUTH, json=body)

    refused = patch(status="answered")  # 回答済 comes with an answer
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "status"]
    assert patch(status="reflected").status_code == 422
    refused = patch(status="difficult")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "reason"]
    assert api(bot.client, "GET", "/opinions")[0]["status"] == "unread"  # nothing changed
    assert patch(status="in_progress").json()["status_label"] == "検討中"
    difficult = patch(status="difficult", reason="予算の都合で、今年度は むずかしいです。").json()
    assert difficult["status"] == "difficult" and difficult["status_label"] == "対応困難"
    assert patch(reason=None).status_code == 422  # the reason stays while 対応困難
    assert patch(status="in_progress").status_code == 200
    api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "土曜日だけ 1時間 のばします。"})
    assert api(bot.client, "GET", "/opinions")[0]["status"] == "answered"
    assert patch(status="reflected").json()["status_label"] == "反映済"
    assert patch(status="unread").status_code == 422  # no way back to 受付 once answered
    assert api(bot.client, "GET", "/opinions", params={"status": "reflected"})[0]["id"] == opinion["id"]
    with sessions() as session:
        lines = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "opinion.status",
                                                                AuditEntry.actor == "api")
                                .order_by(AuditEntry.id)).all()
    assert lines == ["受付 → 検討中", "検討中 → 対応困難: 予算の都合で、今年度は むずかしいです。", "対応困難 → 検討中",
                     "回答済 → 反映済"]


def test_staff_enter_opinions_assign_a_department_and_see_what_is_overdue(bot: Bot, line: FakeLine,
                                                                            sessions: Any) -> None:
    client = bot.client
    meeting_id = meeting(sessions)
    department_id = department(sessions, "協働まちづくり課")
    _, member_id = link_member(bot, line, "港 はるこ", "まちづくり部会")
    csrf = logged_in(client, sessions)

    form = {"csrf": csrf, "source": "meeting", "text": "会議の開始を 18時半にしてほしい", "member_id": str(member_id),
            "name_consent": "1", "department_id": str(department_id), "due_on": "2020-01-10", "memo": MEMO}
    refused = client.post("/console/opinions/new", data=form)  # said at a meeting: which meeting?
    assert refused.status_code == 422 and "会議をえらんでください" in refused.text
    assert "会議の開始を 18時半にしてほしい</textarea>" in refused.text  # what was typed is kept
    done = client.post("/console/opinions/new", data={**form, "event_id": str(meeting_id)}, follow_redirects=False)
    assert done.status_code == 303
    with sessions() as session:
        opinion = session.scalars(select(Opinion)).one()
        assert (opinion.source, opinion.event_id, opinion.member_id, opinion.name, opinion.name_consent) == \
            ("meeting", meeting_id, member_id, "港 はるこ", True)
        assert opinion.department_id == department_id and opinion.memo == MEMO
        entered = session.scalars(select(AuditEntry).where(AuditEntry.action == "opinion.enter")).one()
        assert entered.actor == "港 花子" and MEMO not in (entered.detail or "")
    page = client.get(f"/console/opinions/{opinion.id}").text
    assert "期限切れ" in page and MEMO in page  # staff see the memo in the console
    inbox = client.get("/console/opinions?overdue=1").text
    assert "会議の開始を 18時半にしてほしい" in inbox and "協働まちづくり課" in inbox
    assert "会議の開始を" not in client.get("/console/opinions?status=answered").text

    # the management form: only what it sends changes; 対応困難 without a reason is refused next to the field
    refused = client.post(f"/console/opinions/{opinion.id}/status", data={"csrf": csrf, "status": "difficult",
                                                                          "reason": ""})
    assert refused.status_code == 422 and 'id="error-reason"' in refused.text
    client.post(f"/console/opinions/{opinion.id}/status", data={"csrf": csrf, "status": "in_progress", "due_on": "",
                                                                "public_field": "1", "public": "1"})
    with sessions() as session:
        opinion = session.get(Opinion, opinion.id)
        assert opinion.status == "in_progress" and opinion.due_on is None and opinion.public
        assert opinion.department_id == department_id and opinion.memo == MEMO  # not sent: not changed
        changes = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "opinion.change")).all()
    assert changes == ["回答期限: （なし）、公開にする"]
    # the 担当課 list: added, renamed, retired (offered no more, kept on the opinion)
    client.post("/console/opinions/departments", data={"csrf": csrf, "name": "保健福祉課"})
    again = client.post("/console/opinions/departments", data={"csrf": csrf, "name": "保健福祉課"})
    assert again.status_code == 422 and "もうあります" in again.text
    client.post(f"/console/opinions/departments/{department_id}", data={"csrf": csrf, "active": "0"})
    names = [d["name"] for d in api(client, "GET", "/opinions/departments") if d["active"]]
    assert names == ["保健福祉課"]
    assert "協働まちづくり課（廃止）" in client.get(f"/console/opinions/{opinion.id}").text
    by_department = {d["name"]: d for d in api(client, "GET", "/opinions/figures")["departments"]}
    assert by_department["協働まちづくり課"]["opinions"] == 1 and by_department["保健福祉課"]["opinions"] == 0


def test_opinions_entered_through_the_api(bot: Bot, sessions: Any) -> None:
    meeting_id = meeting(sessions)
    created = bot.client.post("/api/v1/opinions", headers=AUTH, json={
        "source": "phone", "text": "電話でのご意見です", "event_id": meeting_id, "received_on": "2026-11-30"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["source"] == "phone" and body["status"] == "unread" and body["name_consent"] is False
    assert body["created_at"].startswith("2026-11-30T03:00")  # noon JST
    assert bot.client.post("/api/v1/opinions", headers=AUTH, json={
        "source": "paper", "text": "x", "event_id": 999999}).json()["detail"][0]["loc"] == ["body", "event_id"]
    # staff-entered: nobody to push to; the answer is recorded
    assert api(bot.client, "POST", f"/opinions/{body['id']}/reply", json={"text": "承りました。"})["pushed"] is False


# --------------------------------------------------------------------------- consent, the published table, privacy


def test_the_public_table_shows_only_public_opinions_names_only_with_consent_and_never_the_memo(
        bot: Bot, line: FakeLine, sessions: Any) -> None:
    client = bot.client
    meeting_id = meeting(sessions, days=5)
    other_meeting = meeting(sessions, "まちづくり部会（12月）", days=6)
    with transaction(sessions) as session:  # 事前意見 are for meetings to come, in the member's audience
        for event in session.scalars(select(Event)):
            event.visibility = "members"
    department_id = department(sessions, "総務課")
    agrees, _ = link_member(bot, line, "港 同意子", None)
    declines, _ = link_member(bot, line, "港 辞退男", None)
    silent, _ = link_member(bot, line, "港 無言", None)

    def pre_meeting(phone: Phone, body: str) -> list[dict[str, Any]]:
        choose = phone.say("事前意見")
        phone.tap(next(a["label"] for a in actions(choose) if a["label"].startswith("区政会議")), choose)
        said = phone.say(body)
        assert "受け付けました" in texts(said) and "会議の資料で お名前を出しても いいですか？" in texts(said)
        return said

    asked = pre_meeting(agrees, "資料の字を大きくしてください")
    assert "お名前を のせることがあります" in texts(agrees.tap("はい", asked))
    assert "お名前は 出しません" in texts(declines.tap("いいえ", pre_meeting(declines, "開始時間を早めてほしい")))
    pre_meeting(silent, "駐輪場の案内がほしい")  # no answer: no
    resident = Phone(bot, line, new_user_id())
    send_opinion(resident, "<script>alert('x')</script> 公園に 日かげを")
    with transaction(sessions) as session:
        rows = {o.text: o for o in session.scalars(select(Opinion))}
        resident_opinion = rows["<script>alert('x')</script> 公園に 日かげを"]
        resident_opinion.name = "港 太郎"  # a resident's name is never published
    opinions = {o["text"]: o for o in api(client, "GET", "/opinions")}
    hidden = opinions["駐輪場の案内がほしい"]
    assert hidden["name_consent"] is False and opinions["開始時間を早めてほしい"]["name_consent"] is False
    assert opinions["資料の字を大きくしてください"]["name_consent"] is True
    for text_, change in (("資料の字を大きくしてください", {"public": True}),
                          ("開始時間を早めてほしい", {"public": True, "status": "difficult",
                                                  "reason": "会場の都合で むずかしいです"}),
                          ("<script>alert('x')</script> 公園に 日かげを", {"public": True, "event_id": meeting_id}),
                          ("駐輪場の案内がほしい", {})):
        api(client, "PATCH", f"/opinions/{opinions[text_]['id']}", json={
            **change, "memo": MEMO, "department_id": department_id})
    api(client, "POST", f"/opinions/{opinions['資料の字を大きくしてください']['id']}/reply",
        json={"text": "次回から 14ポイントにします。"})
    api(client, "PATCH", f"/opinions/{opinions['駐輪場の案内がほしい']['id']}", json={"event_id": other_meeting,
                                                                               "public": True})
    bot.wait_idle()

    anonymous = client  # not logged in yet, and no token: as anyone on the web
    page = anonymous.get(f"/public/meetings/{meeting_id}/opinions")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("default-src 'none'")
    html = page.text
    assert "ご意見と区役所の対応・考え方" in html and "区政会議 全体会議（12月）" in html
    assert "資料の字を大きくしてください" in html and "港 同意子" in html and "次回から 14ポイントにします。" in html
    assert "開始時間を早めてほしい" in html and "港 辞退男" not in html and "会場の都合で むずかしいです" in html
    assert "対応困難" in html and "回答済" in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "<script>" not in html
    assert "港 太郎" not in html and "駐輪場の案内がほしい" not in html  # another meeting's
    assert MEMO not in html and "総務課" not in html and "港 花子" not in html
    assert "print" in anonymous.get("/console/static/public.css").text  # print-friendly
    assert anonymous.get("/public/meetings/999999/opinions").status_code == 404

    table = api(client, "GET", f"/opinions/meetings/{meeting_id}")
    assert [r["name"] for r in table["rows"]] == ["港 同意子", None, None]
    assert [r["status"] for r in table["rows"]] == ["回答済", "対応困難", "受付"]
    logged_in(client, sessions, role="viewer")
    raw = client.get(f"/console/opinions/meetings/{meeting_id}.csv").content.decode("utf-8-sig")
    assert "ご意見と区役所の対応・考え方" in raw and "港 同意子" in raw and "港 辞退男" not in raw
    assert MEMO not in raw and "総務課" not in raw and "駐輪場" not in raw
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/console/opinions/meetings/{meeting_id}.xlsx").content))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert "港 同意子" in cells and not any(MEMO in c for c in cells)
    assert "次回から 14ポイントにします。" in cells
    assert MEMO not in client.get("/console/opinions.csv").content.decode("utf-8-sig")  # the full export neither
    # what the senders read in LINE never carries the memo
    for phone in (agrees, declines, silent, resident):
        assert MEMO not in str(phone.all())
    assert "港 同意子" not in texts(resident.all())


def test_a_members_own_opinion_asks_whether_the_name_may_be_shown(bot: Bot, line: FakeLine) -> None:
    member, member_id = link_member(bot, line, "港 みなと", None)
    member.tap("まちのこと", member.say("ご意見"))
    asked = member.say("商店街に ベンチを おいてほしい")
    assert "会議の資料で お名前を出しても いいですか？" in texts(asked)
    assert [a["label"] for a in actions(asked)] == ["はい", "いいえ", "やめる"]
    assert "会議の資料で" in texts(member.say("どうしようかな"))  # asked again
    assert "受け付けました" in texts(member.tap("はい", member.all()[-1:]))
    (opinion,) = api(bot.client, "GET", "/opinions")
    assert opinion == {**opinion, "name": "港 みなと", "member_id": member_id, "name_consent": True,
                       "category": "まちの魅力"}


def test_members_see_their_own_loop_in_my_opinions(bot: Bot, line: FakeLine) -> None:
    member, _ = link_member(bot, line, "港 ななみ", None)
    menu = [a["label"] for a in actions(member.say("ヘルプ"))]
    assert "わたしの意見" in menu
    assert "まだ ご意見は ありません" in texts(member.tap("わたしの意見"))
    member.tap("そのほか", member.say("ご意見"))
    member.say("区役所の 案内表示を 大きくしてください")
    member.say("いいえ")
    member.tap("まちのこと", member.say("ご意見"))
    member.say("運河沿いの 歩道を 明るくしてほしい")
    member.say("はい")
    first, second = sorted(api(bot.client, "GET", "/opinions"), key=lambda o: o["id"])
    api(bot.client, "PATCH", f"/opinions/{first['id']}", json={"memo": MEMO, "status": "in_progress"})
    api(bot.client, "POST", f"/opinions/{second['id']}/reply", json={"text": "街灯を 3基 ふやします。"})
    bot.wait_idle()
    member.new()
    mine = texts(member.tap("わたしの意見", member.say("ヘルプ")))
    assert "ぜんぶで 2件" in mine
    assert "区役所の 案内表示を 大きくしてください" in mine and "状態: 検討中" in mine
    assert "運河沿いの 歩道を 明るくしてほしい" in mine and "状態: 回答済" in mine and "街灯を 3基 ふやします。" in mine
    assert mine.index("運河沿い") < mine.index("案内表示")  # latest first
    assert MEMO not in mine
    # a resident types it too; in English for English readers
    resident = Phone(bot, line, new_user_id())
    resident.say("English")
    assert "You have not sent any opinion yet" in texts(resident.say("My opinions"))


# --------------------------------------------------------------------------- the migration


def test_the_migration_keeps_what_was_there(tmp_path: Any) -> None:
    """0010 on a database with opinions of before: statuses as they were, the first answer's time and the member
    of a 事前意見 filled in, the 担当課 list seeded; and back down again."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009_members_subcommittees")
        conn.execute(text("INSERT INTO users (id, line_user_id, is_reachable, language, created_at) "
                          "VALUES (1, 'U1', 1, 'ja', '2026-11-01 00:00:00')"))
        conn.execute(text("INSERT INTO members (id, name, user_id, active, created_at) "
                          "VALUES (1, '港 委員', 1, 1, '2026-11-01 00:00:00')"))
        conn.execute(text("INSERT INTO opinions (id, user_id, kind, category, text, status, reply_text, replied_at, "
                          "created_at) VALUES (1, 1, 'pre_meeting', '事前意見', 'まえの意見', 'answered', '回答', "
                          "'2026-11-03 00:00:00', '2026-11-01 00:00:00')"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010_opinion_loop")
        row = conn.execute(text("SELECT status, first_replied_at, member_id, source, public, name_consent "
                                "FROM opinions")).one()
        assert (row.status, row.member_id, row.source, row.public, row.name_consent) == ("answered", 1, "line", 0, 0)
        assert str(row.first_replied_at).startswith("2026-11-03")
        names = conn.execute(text("SELECT name FROM departments ORDER BY id")).scalars().all()
        assert names == ["総務課", "協働まちづくり課", "窓口サービス課", "保健福祉課"]
        conn.execute(text("UPDATE opinions SET status = 'reflected'"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009_members_subcommittees")
        assert conn.execute(text("SELECT status FROM opinions")).scalar() == "answered"
    engine.dispose()


def test_the_console_inbox_shows_the_figures_next_to_the_target(bot: Bot, line: FakeLine, sessions: Any) -> None:
    csrf = logged_in(bot.client, sessions)
    assert csrf_of(bot.client.get("/console/opinions").text) == csrf
    page = bot.client.get("/console/opinions").text
    assert "フィードバックの状況" in page and "目標（H31）" in page and "80%" in page
    assert 'data-figure="overall.share_satisfied"' in page and "/console/static/opinions.js" in page
    assert bot.client.get("/console/opinions/figures.json").json()["target"]["target"] == 80

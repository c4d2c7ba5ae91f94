"""The council questionnaire end to end: link members, open a survey, answer in LINE, results and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import types
import uuid
from typing import Any

import pytest
from sqlalchemy import inspect, select

from bot import clock, postback
from bot import webhook_events as ev
from db.base import transaction
from db.models import AnonymousAnswerSet, Survey, SurveyReminder, SurveyResponse
from surveys import answering, service
from tests.fakeline.server import FakeLine
from tests.helpers import (
    AUTH,
    Bot,
    Phone,
    actions,
    api,
    ensure_subcommittee,
    handling_statements,
    link_member,
    logged_in,
    new_user_id,
    texts,
    work,
)

SCALE = ["そう思う", "どちらかといえばそう思う", "どちらかといえばそう思わない", "そう思わない"]


def open_survey(bot: Bot, template: str = "council-questionnaire", anonymous: bool = False,
                subcommittees: list[str] | None = None, hours: float = 24 * 7, **kw: Any) -> int:
    closes = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()
    survey = api(bot.client, "POST", "/surveys", json={
        "template_id": template, "closes_at": closes, "anonymous": anonymous,
        "subcommittees": subcommittees or [], "target_year": "H30", **kw})
    opened = api(bot.client, "POST", f"/surveys/{survey['id']}/open")
    assert opened["status"] == "open"
    bot.wait_idle()
    return int(survey["id"])


@pytest.fixture
def council(bot: Bot, line: FakeLine) -> list[Phone]:
    """Four linked members: three in まちづくり部会, one in 子育て部会; and one registered but not linked."""
    phones = [link_member(bot, line, f"委員{i}", "まちづくり部会")[0] for i in range(3)]
    phones.append(link_member(bot, line, "委員3", "子育て部会")[0])
    api(bot.client, "POST", "/members", json={"name": "未登録の委員", "subcommittee": "子育て部会"})
    for phone in phones:
        phone.new()
    return phones


def answer_all(phone: Phone, exchange: str = "そう思う", feedback: str = "どちらかといえばそう思う",
               reason: str | None = None, comment: str | None = None) -> list[dict[str, Any]]:
    """Answer the council questionnaire from its invitation to the thank-you."""
    phone.tap("回答をはじめる")
    phone.tap(exchange)
    if reason is not None:
        phone.say(reason)
    phone.tap(feedback)
    for label in ("十分とれた", "そう思う", "どちらかといえばそう思う", "そう思う"):
        phone.tap(label)
    phone.tap("資料の事前送付（1週間前）")
    phone.tap("✓資料の事前送付（1週間前）")  # untick
    phone.tap("部会ごとの配席")
    phone.tap("意見を求める項目の明確化")
    phone.tap("決定")
    summary = phone.say(comment) if comment is not None else phone.tap("スキップ")
    assert "回答の確認です" in texts(summary)
    return phone.tap("送信")


def test_members_link_with_a_one_time_code(bot: Bot, line: FakeLine, sessions: Any) -> None:
    ensure_subcommittee(sessions, "まちづくり部会")
    member = api(bot.client, "POST", "/members", json={"name": "港 一郎", "subcommittee": "まちづくり部会",
                                                       "term_end": "2027-03-31"})
    issued = api(bot.client, "POST", f"/members/{member['id']}/link-code")
    code = issued["code"]
    assert len(code) == 9 and code[4] == "-" and not set(code) & set("01OIL")
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    # full-width, lower case, with a space: still the code
    typed = code.lower().replace("-", "　").translate(str.maketrans("abcdefghjkmnpqrstuvwxyz23456789",
                                                                    "ａｂｃｄｅｆｇｈｊｋｍｎｐｑｒｓｔｕｖｗｘｙｚ２３４５６７８９"))
    assert "港 一郎さん、登録できました" in texts(phone.say(typed))
    listed = api(bot.client, "GET", "/members")
    assert listed[0]["linked"] and listed[0]["subcommittee"] == "まちづくり部会"
    # single use: a second account cannot use it
    other = Phone(bot, line, new_user_id())
    assert "もう使われています" in texts(other.say(code))


def test_wrong_codes_are_refused_and_five_lock_the_user_out(bot: Bot, line: FakeLine) -> None:
    member = api(bot.client, "POST", "/members", json={"name": "港 二郎"})
    code = api(bot.client, "POST", f"/members/{member['id']}/link-code")["code"]
    phone = Phone(bot, line, new_user_id())
    for _ in range(5):
        assert "登録コードがちがうようです" in texts(phone.say("AB3D-EF7H"))
    assert "しばらく登録できません" in texts(phone.say(code))  # even the right code, for a while
    assert not api(bot.client, "GET", "/members")[0]["linked"]


def test_expired_codes_are_refused(bot: Bot, line: FakeLine, sessions: Any) -> None:
    member = api(bot.client, "POST", "/members", json={"name": "港 三郎"})
    code = api(bot.client, "POST", f"/members/{member['id']}/link-code")["code"]
    from db.models import LinkCode

    with transaction(sessions) as session:
        session.scalars(select(LinkCode)).one().expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert "期限が切れています" in texts(Phone(bot, line, new_user_id()).say(code))


def test_unlink_and_relink_to_a_new_line_account(bot: Bot, line: FakeLine) -> None:
    old_phone, member_id = link_member(bot, line, "港 四郎", None)
    api(bot.client, "DELETE", f"/members/{member_id}/link")
    assert "委員の方は" in texts(old_phone.say("アンケート"))
    code = api(bot.client, "POST", f"/members/{member_id}/link-code")["code"]
    new_phone = Phone(bot, line, new_user_id())
    assert "港 四郎さん、登録できました" in texts(new_phone.say(code))
    assert "いま答えられるアンケートはありません" in texts(new_phone.say("アンケート"))


def test_answer_every_question_kind_go_back_and_send(bot: Bot, line: FakeLine, council: list[Phone],
                                                     sessions: Any) -> None:
    survey_id = open_survey(bot)
    phone = council[0]
    invitation = phone.new()
    assert len(invitation) == 1 and invitation[0]["type"] == "flex"
    assert "区政会議に関するアンケート" in texts(invitation) and "質問は 8問です" in texts(invitation)
    assert "記名のアンケートです" in texts(invitation)  # open_survey makes a named one

    first = phone.tap("回答をはじめる", invitation)
    assert texts(first).startswith("（1/8）区政会議で")
    assert [a["label"] for a in actions(first)] == [*SCALE, "中断"]
    second = phone.tap("そう思う")
    assert texts(second).startswith("（2/8）") and "フィードバック" in texts(second)
    back = phone.tap("戻る")
    assert texts(back).startswith("前の答えは「そう思う」でした。\n（1/8）")  # says what was chosen before
    reason = phone.tap("そう思わない")  # shows the follow-up question: now 9 questions
    assert texts(reason).startswith("（2/9）そう感じる理由")
    assert "スキップ" in [a["label"] for a in actions(reason)]
    assert texts(phone.say("  資料が直前に届くので、読む時間がありません。  ")).startswith("（3/9）")
    phone.tap("どちらかといえばそう思う")
    phone.tap("十分とれた")
    phone.say("そう思う")  # typing a choice's words counts as tapping it
    for label in ("どちらかといえばそう思う", "そう思う"):
        phone.tap(label)
    multi = phone.new()
    assert "よかったと思う取り組み" in texts(phone.all()[-1:])
    assert "決定" in [a["label"] for a in actions(phone.all()[-1:])]
    need_one = phone.tap("決定")
    assert "1つ以上えらんでから" in texts(need_one)
    # 特にない stands alone: ticking it unticks the others, and another choice unticks it
    ticked = phone.tap("部会ごとの配席")
    assert "✓部会ごとの配席" in [a["label"] for a in actions(ticked)]
    assert "えらんだもの: 部会ごとの配席" in texts(ticked)
    assert "よかったと思う取り組み" not in texts(ticked)  # a tap does not post the whole question again
    assert next(a["label"] for a in actions(ticked)) == "決定"  # first, once something is ticked
    ticked = phone.tap("特にない", ticked)
    assert "えらんだもの: 特にない\n" in texts(ticked) and "✓部会ごとの配席" not in str(actions(ticked))
    assert "ほかの選択を はずしました" in texts(ticked)
    ticked = phone.tap("資料の事前送付（1週間前）", ticked)
    said = "えらんだもの: 資料の事前送付（1週間前）\n「特にない」は ほかと いっしょには えらべないので、はずしました。"
    assert said in texts(ticked)  # said, not unticked silently
    ticked = phone.tap("部会ごとの配席", ticked)
    assert "はずしました" not in texts(ticked)
    assert "えらんだもの: 資料の事前送付（1週間前）、部会ごとの配席\n" in texts(ticked)
    ticked = phone.tap("✓資料の事前送付（1週間前）", ticked)  # unticked again
    assert "えらんだもの: 部会ごとの配席\n" in texts(ticked)
    ticked = phone.tap("特にない", phone.tap("✓部会ごとの配席", ticked))  # 特にない alone: nothing more to choose
    assert "「特にない」を えらびました。\nよければ「決定」を押してください。" in texts(ticked)
    ticked = phone.tap("部会ごとの配席", ticked)
    assert "えらんだもの: 部会ごとの配席\n「特にない」は" in texts(ticked)
    assert multi == []
    comment = phone.tap("決定")
    assert texts(comment).startswith("（9/9）") and "スキップ" in [a["label"] for a in actions(comment)]
    summary = phone.say("会議の時間をもう少し長くしてほしいです。")
    body = texts(summary)
    assert "回答の確認です" in body and "→ そう思わない" in body and "→ 部会ごとの配席" in body
    typed = phone.say("そう思う")  # typed on the summary: told what its two buttons do, and shown it again
    assert "「送信」を、なおすときは「修正」" in texts(typed) and "中断" not in texts(typed)
    assert [a["label"] for a in actions(typed)] == ["送信", "修正"]
    # each question by its short label: Q1 and Q3 no longer share one cut prefix
    assert "1. 意見交換は十分か\n　→ そう思わない" in body and "3. フィードバックは適切か\n" in body
    # 修正: jump to question 3 and change it, then back to the summary
    phone.tap("修正")
    phone.tap("3")
    again = phone.tap("どちらかといえばそう思わない")
    assert "回答の確認です" in texts(again)
    thanks = phone.tap("送信")
    assert "回答を送信しました" in texts(thanks)

    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    assert results["response_rate"]["answered"] == 1 and results["response_rate"]["audience"] == 5
    by_id = {q["id"]: q for q in results["questions"]}
    assert by_id["exchange_reason"]["texts"] == ["資料が直前に届くので、読む時間がありません。"]
    assert {c["label"]: c["count"] for c in by_id["feedback"]["choices"]}["どちらかといえばそう思わない"] == 1
    assert by_id["good_changes"]["choices"][2] == {"label": "部会ごとの配席", "count": 1, "percent": 100.0}
    # answers are final: the summary's buttons no longer change anything
    assert "送信済み" in texts(phone.tap("送信", summary))
    assert "回答を送信済みです" in texts(phone.say("アンケート"))  # not "no survey open"
    late = phone.say("そう思う")  # a choice typed afterwards: said to be in, not offered as ご意見
    assert "回答を送信済みです" in texts(late) and "ご意見として" not in texts(late)
    assert "ご意見として" in texts(phone.say("そう思いますが、資料はもう少し早くほしいです"))  # not a choice
    phone.tap("やめる")
    phone.say("ご意見")
    typed_in = phone.say("特にない")  # in another conversation, the words are its answer
    assert "送信済み" not in texts(typed_in) and "どの分野" in texts(typed_in)
    with sessions() as session:
        assert session.scalars(select(SurveyResponse)).one().status == "submitted"


def test_pause_and_resume_after_a_restart(bot: Bot, line: FakeLine, council: list[Phone], app_factory: Any,
                                          sessions: Any) -> None:
    open_survey(bot)
    phone = council[1]
    phone.tap("回答をはじめる")
    phone.tap("そう思う")
    phone.tap("そう思う")
    assert "中断しました" in texts(phone.tap("中断"))
    assert "わかりませんでした" in texts(phone.say("あいうえお"))  # out of the survey: normal chat again
    bot.client.__exit__(None, None, None)  # the server restarts

    phone.bot = Bot(app_factory(), sessions)
    resumed = phone.say("アンケート")
    assert texts(resumed).startswith("（3/8）会議の資料を")


def test_robustness_double_tap_old_button_stray_message_sticker(bot: Bot, line: FakeLine, council: list[Phone],
                                                                sessions: Any) -> None:
    open_survey(bot)
    phone = council[2]
    first = phone.tap("回答をはじめる")
    phone.tap("そう思う", first)
    assert phone.tap("そう思う", first) == []  # a double tap: already taken, nothing happens
    stale = phone.tap("そう思わない", first)  # an old question's other button
    assert "前の質問のボタンです" in texts(stale) and texts(stale).count("（2/8）") == 1
    stray = phone.say("今日は雨ですね")
    assert "アンケートの途中です" in texts(stray) and "（2/8）" in texts(stray)
    sticker = phone.sticker()
    assert "アンケートの途中です" in texts(sticker)
    # tampered or foreign postback data
    assert "もう使えません" in texts(phone.postback("v=1&a=survey.answer&s=x"))
    assert "もう使えません" in texts(phone.postback(postback.encode("survey.answer", s=999, t=1, q="x", c=0)))
    redelivered = ev.postback(phone.user_id, actions(sticker[-1:])[0]["data"])  # (2/8)'s そう思う
    phone.tokens.add(redelivered["replyToken"])
    bot.send(redelivered)
    bot.send({**redelivered, "deliveryContext": {"isRedelivery": True}})
    assert texts(phone.new()).count("（3/8）") == 1
    with sessions() as session:
        answers = session.scalars(select(SurveyResponse)).one().answers
        assert answers == {"exchange": "そう思う", "feedback": "そう思う"}


def test_non_member_with_a_forwarded_button_is_refused(bot: Bot, line: FakeLine, council: list[Phone]) -> None:
    open_survey(bot)
    invitation = council[0].new()
    resident = Phone(bot, line, new_user_id())
    resident.follow()
    assert "委員の方が答えるもの" in texts(resident.tap("回答をはじめる", invitation))
    assert "委員の方が答えるもの" in texts(resident.say("アンケート"))


def test_member_outside_the_audience_is_refused(bot: Bot, line: FakeLine, council: list[Phone]) -> None:
    open_survey(bot, subcommittees=["まちづくり部会"])
    invitation = council[0].new()
    assert council[3].new() == []  # 子育て部会: no invitation
    assert "対象の部会の委員の方" in texts(council[3].tap("回答をはじめる", invitation))


def test_a_tap_after_the_deadline_gets_a_polite_closed_message(bot: Bot, line: FakeLine, council: list[Phone],
                                                               sessions: Any) -> None:
    survey_id = open_survey(bot)
    phone = council[0]
    first = phone.tap("回答をはじめる")
    with transaction(sessions) as session:
        session.get(Survey, survey_id).closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert "しめきりました" in texts(phone.tap("そう思う", first))
    assert "いま答えられるアンケートはありません" in texts(phone.say("アンケート"))


def test_anonymous_answers_cannot_be_joined_back_to_members(bot: Bot, line: FakeLine, council: list[Phone],
                                                            sessions: Any) -> None:
    survey_id = open_survey(bot, anonymous=True)
    for phone in council[:3]:
        answer_all(phone, comment="匿名の意見です")
    with sessions() as session:
        rows = session.scalars(select(SurveyResponse)).all()
        assert all(r.status == "submitted" and r.answers == {} for r in rows)  # who answered, not what
        assert len(session.scalars(select(AnonymousAnswerSet)).all()) == 3
    columns = {c["name"] for c in inspect(sessions.kw["bind"]).get_columns("anonymous_answer_sets")}
    assert columns == {"id", "survey_id", "answers"}  # no member, no time: nothing to join on
    fks = inspect(sessions.kw["bind"]).get_foreign_keys("anonymous_answer_sets")
    assert [fk["referred_table"] for fk in fks] == ["surveys"]
    data = api(bot.client, "GET", f"/surveys/{survey_id}/results.csv").content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(data)))
    assert "氏名" not in header and "部会" not in header and "送信日時" not in header
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    assert "by_subcommittee" not in results["response_rate"]
    assert all("by_subcommittee" not in q for q in results["questions"])


def test_anonymous_results_with_fewer_than_three_answers_are_not_shown(bot: Bot, line: FakeLine,
                                                                        council: list[Phone]) -> None:
    survey_id = open_survey(bot, anonymous=True)
    answer_all(council[0])
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    assert all(q.get("suppressed") == "回答が3件未満のため表示しません" for q in results["questions"])
    assert all(i["positive_percent"] is None for i in results["indicators"])


def test_results_indicators_against_targets_and_exports(bot: Bot, line: FakeLine, council: list[Phone]) -> None:
    survey_id = open_survey(bot)
    answer_all(council[0], exchange="そう思う", feedback="そう思う")
    answer_all(council[1], exchange="どちらかといえばそう思う", feedback="そう思わない")
    answer_all(council[2], exchange="そう思わない", feedback="どちらかといえばそう思う", reason="時間が短い")
    answer_all(council[3], exchange="どちらかといえばそう思わない", feedback="そう思う", reason="発言しにくい")
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    assert results["response_rate"] == {
        "answered": 4, "audience": 5, "percent": 80.0,
        "by_subcommittee": [{"name": "まちづくり部会", "answered": 3, "audience": 3, "percent": 100.0},
                            {"name": "子育て部会", "answered": 1, "audience": 2, "percent": 50.0}]}
    exchange, feedback = results["indicators"]
    # exchange: 2 of 4 positive = 50% against the H30 target of 73% (baseline H29 48%)
    assert exchange["positive_percent"] == 50.0 and exchange["target"] == 73 and exchange["target_year"] == "H30"
    assert exchange["baseline"] == {"year": "H29", "percent": 48} and exchange["change_from_baseline"] == 2.0
    assert exchange["achieved"] is False and exchange["status"] == "未達成"
    # feedback: 3 of 4 positive = 75% against 77%
    assert feedback["positive_percent"] == 75.0 and feedback["status"] == "未達成"
    by_id = {q["id"]: q for q in results["questions"]}
    groups = {g["name"]: g for g in by_id["exchange"]["by_subcommittee"]}
    assert groups["まちづくり部会"]["answered"] == 3 and "choices" in groups["まちづくり部会"]
    suppressed = {"name": "子育て部会", "answered": 1, "suppressed": "回答が3件未満のため表示しません"}
    assert groups["子育て部会"] == suppressed

    raw = api(bot.client, "GET", f"/surveys/{survey_id}/results.csv").content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["番号", "氏名", "部会", "送信日時"] and rows[0][4] == "意見交換は十分か"
    assert len(rows) == 5 and {r[1] for r in rows[1:]} == {"委員0", "委員1", "委員2", "委員3"}
    assert "時間が短い" in [c for r in rows for c in r]
    summary = api(bot.client, "GET", f"/surveys/{survey_id}/summary.csv").content.decode("utf-8-sig")
    assert "回答率,,回答数 / 対象者,4 / 5,80.0" in summary and "判定,未達成" in summary
    svg = api(bot.client, "GET", f"/surveys/{survey_id}/charts/indicators.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "目標（H30） 73%" in svg.text
    assert "50%" in svg.text and "<svg" in svg.text
    assert "部会ごとの配席" in api(bot.client, "GET", f"/surveys/{survey_id}/charts/good_changes.svg").text


def test_reminders_go_only_to_those_who_have_not_finished_once_each(bot: Bot, line: FakeLine,
                                                                    council: list[Phone], sessions: Any,
                                                                    app_factory: Any) -> None:
    survey_id = open_survey(bot, hours=80)  # reminders due at 72 h (not yet) ... and 24 h before the close
    answer_all(council[0])
    for phone in council[1:]:
        assert "質問は 8問です" in texts(phone.new())  # the invitations
    with sessions() as session:
        reminders = session.scalars(select(SurveyReminder).order_by(SurveyReminder.due_at)).all()
        assert [r.status for r in reminders] == ["pending", "pending"]
    with transaction(sessions) as session:  # the first reminder falls due (at a daytime hour)
        first = session.scalars(select(SurveyReminder).order_by(SurveyReminder.due_at)).first()
        first.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    runtime = bot.client.app.state.runtime
    runtime.settings.quiet_hours_start = runtime.settings.quiet_hours_end = 0  # no quiet hours in this test
    bot.client.portal.call(runtime.run_surveys)
    bot.client.portal.call(runtime.run_surveys)  # a second tick sends nothing again
    bot.wait_idle()
    # a second process (a restart) finds nothing left to send
    other = app_factory(quiet_hours_start=0, quiet_hours_end=0)
    other.portal.call(other.app.state.runtime.run_surveys)
    bot.wait_idle()
    for phone in council[1:]:
        got = phone.new()
        assert len(got) == 1 and "まだ回答が終わっていません" in texts(got)
        assert actions(got)[0]["label"] == "続きから回答"
    assert all("まだ回答が終わっていません" not in texts([m]) for m in council[0].new())
    with sessions() as session:
        sent = session.scalars(select(SurveyReminder).where(SurveyReminder.status == "sent")).one()
        assert sent.recipients == 3 and sent.survey_id == survey_id
    # the reminder's button resumes the survey
    assert texts(council[1].tap("続きから回答")).startswith("（1/8）")


def test_reminders_wait_for_the_morning(bot: Bot, line: FakeLine, council: list[Phone], sessions: Any) -> None:
    open_survey(bot, hours=80)
    council[1].new()
    with transaction(sessions) as session:
        first = session.scalars(select(SurveyReminder).order_by(SurveyReminder.due_at)).first()
        first.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    runtime = bot.client.app.state.runtime
    hour = dt.datetime.now(clock.JST).hour
    # quiet hours around the present hour: it is "night" now
    runtime.settings.quiet_hours_start, runtime.settings.quiet_hours_end = hour, (hour + 1) % 24
    bot.client.portal.call(runtime.run_surveys)
    bot.wait_idle()
    assert council[1].new() == []
    with sessions() as session:
        assert session.scalars(select(SurveyReminder).order_by(SurveyReminder.due_at)).first().status == "pending"
    runtime.settings.quiet_hours_start, runtime.settings.quiet_hours_end = (hour + 2) % 24, (hour + 3) % 24
    bot.client.portal.call(runtime.run_surveys)  # morning: it goes
    bot.wait_idle()
    assert "まだ回答が終わっていません" in texts(council[1].new())


@pytest.mark.parametrize(("utc", "expected"), [
    ("2026-11-28T11:59:00", "2026-11-28T11:59:00"),  # 20:59 JST: still allowed
    ("2026-11-28T12:00:00", "2026-11-28T23:00:00"),  # 21:00 JST: waits for 8:00 the next morning
    ("2026-11-28T16:00:00", "2026-11-28T23:00:00"),  # 01:00 JST
    ("2026-11-28T22:59:00", "2026-11-28T23:00:00"),  # 07:59 JST
    ("2026-11-28T23:00:00", "2026-11-28T23:00:00"),  # 08:00 JST
])
def test_quiet_hours_move_a_push_to_eight_in_the_morning(utc: str, expected: str) -> None:
    moment = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert clock.outside_quiet_hours(moment, 21, 8) == dt.datetime.fromisoformat(expected).replace(tzinfo=dt.UTC)


def test_api_needs_the_token_and_validates_bodies(bot: Bot, council: list[Phone]) -> None:
    client = bot.client
    for method, path in [("GET", "/api/v1/members"), ("POST", "/api/v1/members"), ("GET", "/api/v1/survey-templates"),
                         ("POST", "/api/v1/surveys"), ("GET", "/api/v1/surveys/1/results"),
                         ("GET", "/api/v1/surveys/1/results.csv"), ("POST", "/api/v1/surveys/1/open")]:
        assert client.request(method, path).status_code == 401
        assert client.request(method, path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad = client.post("/api/v1/members", headers=AUTH, json={"name": ""})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "name"]
    closes = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    bad = client.post("/api/v1/surveys", headers=AUTH, json={"template_id": "council-questionnaire",
                                                             "closes_at": closes})
    assert bad.status_code == 422 and "closes_at" in bad.text
    bad = client.post("/api/v1/surveys", headers=AUTH, json={"template_id": "nope", "closes_at": "2099-01-01T00:00Z"})
    assert bad.status_code == 422 and "no template 'nope'" in bad.text
    bad = client.post("/api/v1/surveys", headers=AUTH, json={"template_id": "council-questionnaire",
                                                             "closes_at": "2099-01-01T00:00Z",
                                                             "subcommittees": ["ない部会"]})
    assert bad.status_code == 422 and "ない部会" in bad.text
    templates = api(client, "GET", "/survey-templates")
    assert {t["id"] for t in templates} == {"council-questionnaire", "management-evaluation"}


def test_management_evaluation_has_a_rating_and_optional_comment_per_issue(bot: Bot, line: FakeLine,
                                                                          council: list[Phone]) -> None:
    survey_id = open_survey(bot, template="management-evaluation", anonymous=False)
    phone = council[0]
    first = phone.tap("回答をはじめる")
    assert texts(first[-1:]).startswith("（1/12）経営課題1「区民主体のまちづくり」")
    for i in range(6):
        phone.tap("ある程度進んでいる")
        if i == 2:
            phone.say("健康づくりの講座をもっと増やしてほしい。")
        else:
            phone.tap("スキップ")
    phone.tap("送信")
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    by_id = {q["id"]: q for q in results["questions"]}
    assert by_id["issue3_comment"]["texts"] == ["健康づくりの講座をもっと増やしてほしい。"]
    assert by_id["issue6"]["answered"] == 1 and results["indicators"] == []


def test_editing_a_template_never_changes_a_running_survey(bot: Bot, council: list[Phone], sessions: Any,
                                                          monkeypatch: Any, tmp_path: Any) -> None:
    survey_id = open_survey(bot)
    source = service.definition.TEMPLATE_DIR / "council-questionnaire.yaml"
    (tmp_path / "council-questionnaire.yaml").write_text(
        source.read_text(encoding="utf-8").replace("十分とれた", "じゅうぶんとれた"), encoding="utf-8")
    monkeypatch.setattr(service.definition, "TEMPLATE_DIR", tmp_path)
    monkeypatch.setattr(service.definition.load_all, "__defaults__", (tmp_path,))
    with transaction(sessions) as session:
        versions = service.sync_templates(session)
        assert versions["council-questionnaire"].version == 2
        survey = session.get(Survey, survey_id)
        assert "十分とれた" in service.template_of(session, survey).questions[3].choices


def test_every_issued_code_is_one_the_bot_recognises(sessions: Any, monkeypatch: Any) -> None:
    from members import service as members_service

    # the first draws would make an all-digit code (seen once in CI) and then an all-letter one
    draws = iter("23456789" + "ABCDEFGH" + "AB3DEF7H")
    monkeypatch.setattr(members_service.secrets, "choice", lambda _alphabet: next(draws))
    with work(sessions) as unit:
        member = members_service.create(unit, members_service.MemberInput(name="港 五郎"))
        [(_member, code, _expires)] = members_service.issue_link_codes(unit, [member])
    assert code == "AB3D-EF7H"
    assert members_service.looks_like_code(code) == "AB3DEF7H"


def test_an_answer_costs_a_handful_of_statements(bot: Bot, line: FakeLine, council: list[Phone]) -> None:
    """An answer reads user, member, survey, response and state once each and writes the response, the next
    question and the event's outcome: at most 10 statements. The conversation row is not rewritten when it says
    the same as before, and the template version is read once, not for every answer."""

    open_survey(bot)
    phone = council[0]
    phone.tap("回答をはじめる")
    with handling_statements(bot.client.app.state.runtime) as handled:
        phone.tap("そう思う")
    assert len(handled) == 1
    assert len(handled[0]) <= 10, "\n".join(handled[0])
    assert not any(s.startswith("UPDATE conversations") for s in handled[0])
    assert not any("survey_template_versions" in s for s in handled[0])


def test_every_clients_changes_are_audited_with_their_actor(bot: Bot, line: FakeLine, sessions: Any) -> None:
    """The API (as `api`), the LINE user who links (by name) and the scheduler each leave their line."""
    from db.models import AuditEntry

    phone, member_id = link_member(bot, line, "港 六郎", "まちづくり部会")
    phone.say("ご意見")
    with sessions() as session:
        entries = [(e.actor, e.action, e.target) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries[:2] == [("api", "member.create", f"member:{member_id}"),
                           ("api", "member.codes", f"member:{member_id}")]
    actor, action, target = entries[2]
    assert actor.startswith("LINE ") and actor.endswith(f"({phone.user_id[:9]})")  # their LINE name, then the ID
    assert (action, target) == ("member.link", f"member:{member_id}")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    survey_id = api(bot.client, "POST", "/surveys", json={
        "template_id": "council-questionnaire", "opens_at": soon.isoformat(),
        "closes_at": (soon + dt.timedelta(days=7)).isoformat()})["id"]
    assert api(bot.client, "POST", f"/surveys/{survey_id}/open")["status"] == "scheduled"
    with sessions() as session:
        assert session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "survey.schedule")).one() == "api"
    with transaction(sessions) as session:
        session.get(Survey, survey_id).opens_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    bot.client.portal.call(bot.client.app.state.runtime.run_surveys)
    with sessions() as session:
        opened = session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.open")).one()
    assert (opened.actor, opened.target) == ("scheduler", f"survey:{survey_id}")


def test_help_and_the_menu_follow_who_is_asking(bot: Bot, line: FakeLine) -> None:
    resident = Phone(bot, line, new_user_id())
    greeting = resident.follow()
    assert "アンケート" not in [a["label"] for a in actions(greeting)]  # surveys are for members
    assert "通知設定" in [a["label"] for a in actions(greeting)]
    assert "登録コード" in texts(resident.say("ヘルプ"))
    member, _ = link_member(bot, line, "港 八郎", "まちづくり部会")
    helped = member.say("ヘルプ")
    assert "会議・資料" in texts(helped) and "事前意見" in texts(helped) and "登録コード" not in texts(helped)
    assert "アンケート" in [a["label"] for a in actions(helped)]


def test_an_english_reading_member_taps_survey_and_gets_the_survey(bot: Bot, line: FakeLine) -> None:
    member, _ = link_member(bot, line, "港 九郎", None)
    member.say("English")
    open_survey(bot)
    member.new()
    assert "Survey" in [a["label"] for a in actions(member.say("help"))]
    assert "十分に意見交換が行われていると感じますか" in texts(member.say("Survey"))  # the first question


def test_anonymous_exports_follow_the_pages_small_group_rule_and_not_the_order_sent(
        bot: Bot, line: FakeLine, council: list[Phone], sessions: Any, monkeypatch: Any) -> None:
    """Below three answers the console's and the API's answers CSV hold no answer (free text least of all), as the
    page shows none; from three they hold every answer set with no time, ordered by the answers themselves."""
    # Storage keys in the order sent (as a sequence or a time-ordered key would give): an export that fell back to
    # storage order would list the rows in the order sent, and this test would see it.
    keys = iter(range(1, 100))
    monkeypatch.setattr(answering, "uuid", types.SimpleNamespace(uuid4=lambda: uuid.UUID(int=next(keys))))
    survey_id = open_survey(bot, anonymous=True)
    logged_in(bot.client, sessions, role="viewer")
    template = next(t for t in api(bot.client, "GET", "/survey-templates") if t["id"] == "council-questionnaire")
    text_of = {q["id"]: q["short"] for q in template["questions"]}  # the columns carry the short labels
    suppressed = "回答が3件未満のため表示しません"
    sent = [("そう思わない", "一番目の人だけが書いた理由", "一番目の意見"),  # in the order sent
            ("そう思う", None, "二番目の意見"),
            ("どちらかといえばそう思う", None, "三番目の意見")]

    def exports() -> tuple[bytes, list[list[str]]]:
        by_api = api(bot.client, "GET", f"/surveys/{survey_id}/results.csv").content
        by_console = bot.client.get(f"/console/surveys/{survey_id}/answers.csv")
        assert by_console.status_code == 200 and by_console.content == by_api  # one function, one rule
        assert by_api.startswith(b"\xef\xbb\xbf")
        return by_api, list(csv.reader(io.StringIO(by_api.decode("utf-8-sig"))))

    for n, (exchange, reason, comment) in enumerate(sent[:2], start=1):
        answer_all(council[n - 1], exchange=exchange, reason=reason, comment=comment)
        raw, rows = exports()
        assert rows[0][0] == "番号" and not {"氏名", "部会", "送信日時"} & set(rows[0])
        assert rows[1:] == [[suppressed]], f"{n} answer(s) must not be exported"
        texts_so_far = [t for _e, r, c in sent[:n] for t in (r, c) if t]
        everything = [raw.decode("utf-8-sig"),
                      api(bot.client, "GET", f"/surveys/{survey_id}/summary.csv").content.decode("utf-8-sig"),
                      json.dumps(api(bot.client, "GET", f"/surveys/{survey_id}/results"), ensure_ascii=False),
                      bot.client.get(f"/console/surveys/{survey_id}/summary.csv").content.decode("utf-8-sig"),
                      bot.client.get(f"/console/surveys/{survey_id}").text]
        assert not [t for t in texts_so_far for page in everything if t in page]
        assert suppressed in everything[-1]  # the page says the same
        # nor how many answered each question: the follow-up's count would tell that the first answer was negative
        by_question = {q["id"]: q for q in api(bot.client, "GET", f"/surveys/{survey_id}/results")["questions"]}
        assert by_question["exchange_reason"]["answered"] is None and "回答 1件" not in everything[-1]

    answer_all(council[2], exchange=sent[2][0], comment=sent[2][2])
    raw, rows = exports()
    header, body = rows[0], rows[1:]
    assert not {"氏名", "部会", "送信日時"} & set(header)
    assert not [c for r in body for c in r if re.search(r"\d{1,2}:\d{2}|\d{4}[-/年]\d{1,2}", c)]  # no time at all
    assert [r[0] for r in body] == ["1", "2", "3"]
    column = {qid: header.index(text) for qid, text in text_of.items()}
    by_value = [("そう思う", "", "二番目の意見"), ("そう思わない", "一番目の人だけが書いた理由", "一番目の意見"),
                ("どちらかといえばそう思う", "", "三番目の意見")]  # sorted by the answers, first question first
    listed = [(r[column["exchange"]], r[column["exchange_reason"]], r[column["comment"]]) for r in body]
    assert listed == by_value and [c for _e, _r, c in listed] != [c for _e, _r, c in sent]
    assert api(bot.client, "GET", f"/surveys/{survey_id}/results.csv").content == raw  # the same every time
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    by_id = {q["id"]: q for q in results["questions"]}
    assert by_id["comment"]["texts"] == ["二番目の意見", "一番目の意見", "三番目の意見"]  # not the order sent
    assert by_id["exchange_reason"]["texts"] == ["一番目の人だけが書いた理由"]
    assert "二番目の意見" in bot.client.get(f"/console/surveys/{survey_id}").text


def test_a_member_linking_while_surveys_are_open_is_invited_at_once(bot: Bot, line: FakeLine) -> None:
    open_survey(bot, anonymous=True)
    phone, _ = link_member(bot, line, "あとから委員", None)
    linked = phone.all()[-2:]
    assert "登録できました" in texts(linked) and "いま答えられるアンケートが 1件あります" in texts(linked)
    assert "匿名のアンケートです" in texts(linked) and "回答をはじめる" in [a["label"] for a in actions(linked)]
    assert texts(phone.tap("回答をはじめる", linked)).startswith("（1/8）")

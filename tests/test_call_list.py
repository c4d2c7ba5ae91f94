"""Reminders with manners, and a call list (issue #17, point 6): after the last reminder, staff get a printable list
of the members who have not answered, with their phone and how they prefer to be reached (LINE / 電話 / 紙); answers
sent on paper are entered in the console and counted once in the response rate, named or anonymous as the survey
is, and audited without the answers."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot import clock
from db.base import transaction
from db.models import AnonymousAnswerSet, AuditEntry, Member, Survey, SurveyReminder, SurveyResponse
from main import create_app
from tests.fakeline.server import FakeLine
from tests.helpers import (
    AUTH,
    PASSWORD,
    SCREENSHOTS,
    Bot,
    Phone,
    api,
    browser_page,
    csrf_of,
    ensure_subcommittee,
    link_member,
    logged_in,
    make_settings,
    make_staff,
    screenshot,
    serve,
    texts,
)


@pytest.fixture
def client(app_factory: Any) -> Any:
    return app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600)


def member(bot: Bot, name: str, subcommittee: str | None = "まちづくり部会", **contact: Any) -> int:
    if subcommittee:
        ensure_subcommittee(bot.sessions, subcommittee)
    return int(api(bot.client, "POST", "/members", json={"name": name, "subcommittee": subcommittee,
                                                         **contact})["id"])


def open_survey(bot: Bot, *, anonymous: bool, subcommittees: list[str] | None = None) -> int:
    closes = (clock.now() + dt.timedelta(days=7)).isoformat()
    survey = api(bot.client, "POST", "/surveys", json={
        "template_id": "council-questionnaire", "closes_at": closes, "anonymous": anonymous,
        "subcommittees": subcommittees or []})
    api(bot.client, "POST", f"/surveys/{survey['id']}/open")
    bot.wait_idle()
    return int(survey["id"])


def remind_now(bot: Bot, *, which: int) -> None:
    """The survey's reminder number `which` (0: the first) falls due and the scheduler runs."""
    with transaction(bot.sessions) as session:
        reminder = session.scalars(select(SurveyReminder).order_by(SurveyReminder.due_at)).all()[which]
        reminder.due_at = clock.now() - dt.timedelta(minutes=1)
    bot.client.portal.call(bot.client.app.state.runtime.run_surveys)
    bot.wait_idle()


def answer_in_line(phone: Phone) -> None:
    phone.tap("回答をはじめる")
    phone.tap("そう思う")
    phone.tap("そう思う")
    for label in ("十分とれた", "そう思う", "そう思う", "そう思う", "特にない", "決定", "スキップ"):
        phone.tap(label)
    assert "回答を送信しました" in texts(phone.tap("送信"))


@pytest.fixture
def roster(bot: Bot, line: FakeLine) -> dict[str, Any]:
    """まちづくり部会: one who answers in LINE, one who asked for a call, one on paper (not linked), one who starts
    in LINE and stops, one who retires; 子育て部会: one outside the survey's audience."""
    answers, _ = link_member(bot, line, "回答 する子", "まちづくり部会")
    calls, calls_id = link_member(bot, line, "電話 たのむ", "まちづくり部会")
    api(bot.client, "PATCH", f"/members/{calls_id}", json={"phone": "06-6576-9625", "contact_method": "phone"})
    paper_id = member(bot, "紙 よし子", phone="０６－１２３４－５６７８", contact_method="paper")
    stops, stops_id = link_member(bot, line, "途中 やめ太", "まちづくり部会")
    api(bot.client, "PATCH", f"/members/{stops_id}", json={"contact_method": "line"})
    retired = member(bot, "退任 した人", phone="06-0000-0000", contact_method="phone")
    outside = member(bot, "ほかの 部会", "子育て部会", phone="06-1111-1111", contact_method="phone")
    return {"answers": answers, "calls": calls, "calls_id": calls_id, "paper_id": paper_id, "stops": stops,
            "stops_id": stops_id, "retired": retired, "outside": outside}


def rows_of(page: str) -> list[list[str]]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row,
                                                                                        re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_call_list_after_the_last_reminder_lists_who_has_not_answered(bot: Bot, line: FakeLine, sessions: Any,
                                                                         roster: dict[str, Any]) -> None:
    survey_id = open_survey(bot, anonymous=True, subcommittees=["まちづくり部会"])
    api(bot.client, "POST", f"/members/{roster['retired']}/retire")
    answer_in_line(roster["answers"])
    roster["stops"].tap("回答をはじめる")
    roster["stops"].tap("そう思う")
    roster["stops"].tap("中断")
    logged_in(bot.client, sessions, role="viewer")

    before = api(bot.client, "GET", f"/surveys/{survey_id}/call-list")
    assert before["ready"] is False and before["rows"] == [] and before["waiting"] == 3
    page = bot.client.get(f"/console/surveys/{survey_id}/calls").text
    assert "まだ作れません" in page and "次のリマインドは" in page and "電話 たのむ" not in page
    remind_now(bot, which=0)
    assert api(bot.client, "GET", f"/surveys/{survey_id}/call-list")["ready"] is False  # one more to go
    remind_now(bot, which=1)

    after = api(bot.client, "GET", f"/surveys/{survey_id}/call-list")
    assert after["ready"] is True and after["reminders_sent"] == 2
    assert [(r["name"], r["phone"], r["contact_label"], r["linked"], r["started"]) for r in after["rows"]] == [
        ("電話 たのむ", "06-6576-9625", "電話", True, False),  # those who asked for a call first
        ("紙 よし子", "06-1234-5678", "紙", False, False),
        ("途中 やめ太", None, "LINE", True, True)]
    page = bot.client.get(f"/console/surveys/{survey_id}/calls").text
    assert rows_of(page) == [
        ["電話 たのむ", "まちづくり部会", "06-6576-9625", "電話", "未回答", "□", ""],
        ["紙 よし子", "まちづくり部会", "06-1234-5678", "紙", "未回答・LINE未連携", "□", ""],
        ["途中 やめ太", "まちづくり部会", "（未登録）", "LINE", "途中まで回答", "□", ""]]
    assert "回答する子" not in page and "退任 した人" not in page and "ほかの 部会" not in page
    assert "答えた内容は電話で聞かないでください" in page  # anonymous: calls remind, they do not collect answers
    assert "紙の回答を入力" not in page  # a viewer enters nothing
    # a member who answers after all leaves the list
    answer_in_line(roster["calls"])
    assert [r["name"] for r in api(bot.client, "GET", f"/surveys/{survey_id}/call-list")["rows"]] == [
        "紙 よし子", "途中 やめ太"]


def paper_form(page: str, member_id: int, **answers: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf": csrf_of(page), "member_id": str(member_id)}
    data.update({f"q.{k}": v for k, v in answers.items()})
    return data


@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
def test_paper_answers_count_once_as_the_survey_is_named_or_anonymous(bot: Bot, line: FakeLine, sessions: Any,
                                                                     roster: dict[str, Any], anonymous: bool) -> None:
    survey_id = open_survey(bot, anonymous=anonymous, subcommittees=["まちづくり部会"])
    logged_in(bot.client, sessions, role="editor")
    form = bot.client.get(f"/console/surveys/{survey_id}/paper")
    assert form.status_code == 200
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', form.text)
    assert options[0] == (str(roster["paper_id"]), "紙 よし子（まちづくり部会）・紙")  # paper first
    assert "ほかの 部会" not in form.text
    assert api(bot.client, "GET", f"/surveys/{survey_id}")["answered"] == 0
    written = "資料は紙でほしいです"
    data = paper_form(form.text, roster["paper_id"], exchange="1", feedback="0", documents_early="2",
                      good_changes=["0", "2"], comment=written)
    done = bot.client.post(f"/console/surveys/{survey_id}/paper", data=data)
    assert done.status_code == 200 and "紙 よし子さんの紙の回答を入力しました" in done.text
    survey = api(bot.client, "GET", f"/surveys/{survey_id}")
    assert (survey["answered"], survey["audience"]) == (1, 5)
    expected = {"exchange": "どちらかといえばそう思う", "feedback": "そう思う", "documents_early": "あまりとれなかった",
                "good_changes": ["資料の事前送付（1週間前）", "部会ごとの配席"], "comment": written}
    with sessions() as session:
        response = session.scalars(select(SurveyResponse).where(SurveyResponse.member_id == roster["paper_id"])).one()
        assert response.status == "submitted"
        sets = session.scalars(select(AnonymousAnswerSet.answers)).all()
        if anonymous:  # apart from the member, who is only marked as having answered
            assert response.answers == {} and sets == [expected]
        else:
            assert response.answers == expected and sets == []
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.paper")).one()
        assert audit.actor == "港 花子" and "紙 よし子" in (audit.detail or "")
        assert written not in (audit.detail or "") and "そう思う" not in (audit.detail or "")

    # entered twice: refused, counted once
    again = bot.client.post(f"/console/surveys/{survey_id}/paper", data=data)
    assert again.status_code == 409 and "紙 よし子さんの回答はすでに入っています（二重には数えません）" in again.text
    twice = bot.client.post(f"/api/v1/surveys/{survey_id}/paper-answers", headers=AUTH, json={
        "member_id": roster["paper_id"], "answers": {"exchange": "そう思う"}})
    assert twice.status_code == 409
    assert api(bot.client, "GET", f"/surveys/{survey_id}")["answered"] == 1
    with sessions() as session:
        assert len(session.scalars(select(AnonymousAnswerSet)).all()) == (1 if anonymous else 0)
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.paper")).all()) == 1
    # the member is no longer offered, and no longer on the call list
    assert f'<option value="{roster["paper_id"]}"' not in bot.client.get(f"/console/surveys/{survey_id}/paper").text
    # a member who also answered in LINE cannot be entered from paper either
    answer_in_line(roster["answers"])
    with sessions() as session:
        answered_id = session.scalars(select(Member.id).where(Member.name == "回答 する子")).one()
    refused = bot.client.post(f"/api/v1/surveys/{survey_id}/paper-answers", headers=AUTH,
                              json={"member_id": answered_id, "answers": {"exchange": "そう思う"}})
    assert refused.status_code == 409
    # by the API too, for someone who prefers a call: 201 and counted
    entered = api(bot.client, "POST", f"/surveys/{survey_id}/paper-answers", json={
        "member_id": roster["calls_id"], "answers": {"exchange": "そう思わない", "feedback": None}})
    assert (entered["answered"], entered["audience"]) == (3, 5)
    results = api(bot.client, "GET", f"/surveys/{survey_id}/results")
    assert results["response_rate"]["answered"] == 3 and results["responses"] == 3


def test_a_paper_answer_that_does_not_fit_the_form_is_refused_next_to_its_question(
        bot: Bot, line: FakeLine, sessions: Any, roster: dict[str, Any]) -> None:
    survey_id = open_survey(bot, anonymous=True, subcommittees=["まちづくり部会"])
    logged_in(bot.client, sessions, role="editor")
    page = bot.client.get(f"/console/surveys/{survey_id}/paper").text
    data = paper_form(page, roster["paper_id"], exchange="9", good_changes=["0", "4"], comment="あ" * 2001)
    refused = bot.client.post(f"/console/surveys/{survey_id}/paper", data=data)
    assert refused.status_code == 422
    assert "選択肢から選んでください" in refused.text
    assert "「特にない」はほかの選択肢といっしょに選べません" in refused.text
    assert "2000文字までです（2001文字あります）" in refused.text
    assert f'<option value="{roster["paper_id"]}" selected>' in refused.text  # the member stays chosen
    assert 'value="0" checked> 資料の事前送付（1週間前）' in refused.text  # and the ticks stay
    blank = bot.client.post(f"/console/surveys/{survey_id}/paper", data=paper_form(page, roster["paper_id"]))
    assert blank.status_code == 422 and "回答がひとつも入っていません" in blank.text
    outside = bot.client.post(f"/console/surveys/{survey_id}/paper",
                              data=paper_form(page, roster["outside"], exchange="0"))
    assert outside.status_code == 422 and "このアンケートの対象の委員ではありません" in outside.text
    bad = bot.client.post(f"/api/v1/surveys/{survey_id}/paper-answers", headers=AUTH, json={
        "member_id": roster["paper_id"], "answers": {"exchange": "たぶん", "nothing": "x"}})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("body", "answers", "exchange"),
                                                               ("body", "answers", "nothing")}
    with sessions() as session:
        assert session.scalars(select(SurveyResponse).where(SurveyResponse.status == "submitted")).all() == []


def test_a_draft_survey_takes_no_paper_answers(bot: Bot, sessions: Any, roster: dict[str, Any]) -> None:
    survey = api(bot.client, "POST", "/surveys", json={
        "template_id": "council-questionnaire", "closes_at": (clock.now() + dt.timedelta(days=3)).isoformat()})
    refused = bot.client.post(f"/api/v1/surveys/{survey['id']}/paper-answers", headers=AUTH, json={
        "member_id": roster["paper_id"], "answers": {"exchange": "そう思う"}})
    assert refused.status_code == 409 and "has not opened" in refused.text
    csrf = logged_in(bot.client, sessions, role="viewer", name="見る 人")
    assert bot.client.get(f"/console/surveys/{survey['id']}/paper").status_code == 403
    assert bot.client.post(f"/console/surveys/{survey['id']}/paper",
                           data={"csrf": csrf, "member_id": roster["paper_id"]}).status_code == 403


# --------------------------------------------------------------------------- in the browser


def test_staff_print_the_call_list_and_enter_a_paper_answer(database_url: str, sessions: Any, line: FakeLine,
                                                            app_factory: Any) -> None:
    bot = Bot(app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600), sessions)
    ensure_subcommittee(sessions, "まちづくり部会")
    member(bot, "電話 たのむ", phone="06-6576-9625", contact_method="phone")
    paper_id = member(bot, "紙 よし子", phone="06-1234-5678", contact_method="paper")
    member(bot, "連絡 未設定")
    survey_id = open_survey(bot, anonymous=True)
    remind_now(bot, which=0)
    remind_now(bot, which=1)
    make_staff(sessions, name="区役所 花子", role="editor")
    app = create_app(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0,
                                   scheduler_tick_seconds=3600))
    with serve(app) as base, browser_page() as page:
        page.goto(base + f"/console/surveys/{survey_id}")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.click("a:has-text('電話リスト')")
        page.wait_for_selector("h1:has-text('電話リスト')")
        names = page.locator("table.call-list td.name").all_inner_texts()
        assert names == ["電話 たのむ", "紙 よし子", "連絡 未設定"]
        assert page.locator("table.call-list td.tel").all_inner_texts()[:2] == ["06-6576-9625", "06-1234-5678"]
        screenshot(page, "console-call-list")
        page.emulate_media(media="print")
        assert page.is_hidden("header.top") and page.is_hidden("text=印刷する")
        assert page.is_visible("table.call-list") and page.is_hidden("a:has-text('紙の回答を入力')")
        border = page.evaluate("getComputedStyle(document.querySelector('table.call-list td')).borderTopStyle")
        assert border == "solid"  # a grid to write on
        screenshot(page, "console-call-list-print")
        page.emulate_media(media="screen")

        page.click("table.call-list a:has-text('紙の回答を入力')")  # 紙 よし子's row
        page.wait_for_selector("h1:has-text('紙の回答を入力')")
        assert page.input_value("select[name=member_id]") == str(paper_id)
        page.check("input[name='q.exchange'][value='0']")
        page.check("input[name='q.feedback'][value='1']")
        page.check("input[name='q.good_changes'][value='2']")
        page.fill("textarea[name='q.comment']", "字が大きくて読みやすかったです")
        screenshot(page, "console-paper-form")
        page.click("button:has-text('この回答を登録する')")
        page.wait_for_selector("text=紙 よし子さんの紙の回答を入力しました")
        assert "（1 / 3人）" in page.inner_text("main")
        page.goto(base + f"/console/surveys/{survey_id}/calls")
        assert page.locator("table.call-list td.name").all_inner_texts() == ["電話 たのむ", "連絡 未設定"]
    with sessions() as session:
        assert session.get(Survey, survey_id).anonymous
        assert session.scalars(select(AnonymousAnswerSet.answers)).one()["comment"] == "字が大きくて読みやすかったです"
    assert (SCREENSHOTS / "console-call-list-print.png").exists()

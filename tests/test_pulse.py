"""A pulse after every meeting (issue #17, point 4) and the reminder cap (point 6): after each 全体会議 or 部会 ends
(plus PULSE_DELAY_MINUTES), its members get the two indicator questions as a short anonymous survey, once, never
during the quiet hours, with one reminder; cancelled meetings get none; two processes never make two pulses; the
console shows both indicators meeting by meeting against the baseline, the year's target and the yearly
questionnaire. At most SURVEY_MAX_REMINDERS reminders go per survey."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot import clock
from db.base import transaction
from db.models import (
    AnonymousAnswerSet,
    Delivery,
    Event,
    MeetingPulse,
    Member,
    Subcommittee,
    Survey,
    SurveyReminder,
    SurveyResponse,
)
from surveys import definition, results
from surveys import pulse as pulses
from surveys import service as surveys
from tests.fakeline.server import FakeLine
from tests.helpers import (
    AUTH,
    SHIPPED_QUIET_HOURS,
    Bot,
    Phone,
    actions,
    api,
    link_member,
    logged_in,
    people,
    texts,
    work,
)

JST = clock.JST


@pytest.fixture
def client(app_factory: Any) -> Any:
    """The app without quiet hours (the test that needs them sets them), and a scheduler that leaves the jobs to
    the test."""
    return app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600)


def meeting(bot: Bot, *, title: str = "第3回 まちづくり部会", subcommittee: str | None = "まちづくり部会",
            ends: dt.datetime | None = None, hours: float = 2) -> int:
    """A meeting through the API: a 部会 (of that 部会) or, without one, a 全体会議; ending at `ends`."""
    ends = ends or clock.now() - dt.timedelta(minutes=61)
    body: dict[str, Any] = {"title": title, "kind": "subcommittee" if subcommittee else "plenary",
                            "starts_at": (ends - dt.timedelta(hours=hours)).isoformat(), "ends_at": ends.isoformat(),
                            "visibility": "subcommittee" if subcommittee else "members"}
    if subcommittee:
        body["subcommittee"] = subcommittee
    return int(api(bot.client, "POST", "/events", json=body)["id"])


def run_pulses(bot: Bot) -> None:
    bot.client.portal.call(bot.client.app.state.runtime.run_pulses)
    bot.wait_idle()


def run_surveys(bot: Bot) -> None:
    bot.client.portal.call(bot.client.app.state.runtime.run_surveys)
    bot.wait_idle()


def invitations(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "flex" and "のふりかえり" in m.get("altText", "")]


@pytest.fixture
def council(bot: Bot, line: FakeLine) -> dict[str, list[Phone]]:
    """Three linked members of まちづくり部会, one of 子育て部会."""
    out = {"まちづくり部会": [link_member(bot, line, f"まち委員{i}", "まちづくり部会")[0] for i in range(3)],
           "子育て部会": [link_member(bot, line, "子育て委員", "子育て部会")[0]]}
    for phones in out.values():
        for phone in phones:
            phone.new()
    return out


# --------------------------------------------------------------------------- once, to the meeting's members


def test_a_pulse_goes_once_to_each_member_of_the_meeting_after_its_end(bot: Bot, line: FakeLine, sessions: Any,
                                                                      council: dict[str, list[Phone]],
                                                                      app_factory: Any) -> None:
    soon = meeting(bot, title="第4回 まちづくり部会", ends=clock.now() - dt.timedelta(minutes=30))  # not yet: 60 min
    ended = meeting(bot)
    run_pulses(bot)
    run_pulses(bot)  # a second tick makes nothing again
    other = app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600)  # a second process
    other.portal.call(other.app.state.runtime.run_pulses)
    bot.wait_idle()
    with sessions() as session:
        pulse = session.scalars(select(Survey).where(Survey.kind == "pulse")).one()
        assert pulse.event_id == ended and pulse.anonymous and pulse.status == "open"
        assert session.get(MeetingPulse, ended).survey_id == pulse.id
        assert session.get(MeetingPulse, soon) is None
        assert pulse.reminder_hours == [96] and len(session.scalars(select(SurveyReminder)).all()) == 1
        assert surveys.template_of(session, pulse).id == "council-questionnaire-pulse"
    for phone in council["まちづくり部会"]:
        got = phone.new()
        assert len(invitations(got)) == 1 and len(got) == 1
        assert "第3回 まちづくり部会" in texts(got) and "質問は 2問です" in texts(got) and "匿名" in texts(got)
    assert council["子育て部会"][0].new() == []  # not this meeting's member

    # answered as any survey: the two indicator questions, anonymously
    phone = council["まちづくり部会"][0]
    first = phone.tap("回答をはじめる")
    assert texts(first).startswith("（1/2）区政会議で") and "意見交換" in texts(first)
    assert texts(phone.tap("そう思う")).startswith("（2/2）")
    assert "回答の確認です" in texts(phone.tap("どちらかといえばそう思う"))
    assert "回答を送信しました" in texts(phone.tap("送信"))
    with sessions() as session:
        assert session.scalars(select(AnonymousAnswerSet.answers)).one() == {
            "exchange": "そう思う", "feedback": "どちらかといえばそう思う"}
        assert session.scalars(select(SurveyResponse.answers)).one() == {}

    # the later meeting's pulse, once its hour has passed
    with transaction(sessions) as session:
        event = session.get(Event, soon)
        event.starts_at -= dt.timedelta(minutes=40)
        event.ends_at -= dt.timedelta(minutes=40)
    run_pulses(bot)
    assert all(len(invitations(p.new())) == 1 for p in council["まちづくり部会"])


def test_a_plenary_asks_every_member_and_a_cancelled_or_long_past_meeting_none(
        bot: Bot, line: FakeLine, sessions: Any, council: dict[str, list[Phone]]) -> None:
    cancelled = meeting(bot, title="臨時 全体会議", subcommittee=None)
    api(bot.client, "PATCH", f"/events/{cancelled}", json={"status": "cancelled"})
    meeting(bot, title="第2回 全体会議", subcommittee=None, ends=clock.now() - dt.timedelta(days=3))  # too late now
    plenary = meeting(bot, title="第3回 全体会議", subcommittee=None)
    for phones in council.values():
        for phone in phones:
            phone.new()  # the cancellation notice
    run_pulses(bot)
    with sessions() as session:
        pulse = session.scalars(select(Survey).where(Survey.kind == "pulse")).one()
        assert pulse.event_id == plenary and pulse.audience_subcommittee_ids == []
    everyone = [p for phones in council.values() for p in phones]
    for phone in everyone:
        got = invitations(phone.new())
        assert len(got) == 1 and "第3回 全体会議" in texts(got)


def test_pulse_delay_zero_means_at_the_end(app_factory: Any, sessions: Any, line: FakeLine) -> None:
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600, pulse_delay_minutes=0)
    bot = Bot(client, sessions)
    phone, _ = link_member(bot, line, "すぐの委員", "まちづくり部会")
    phone.new()
    meeting(bot, ends=clock.now() + dt.timedelta(minutes=5))
    run_pulses(bot)
    assert phone.new() == []  # still in session
    with transaction(sessions) as session:
        event = session.scalars(select(Event)).one()
        event.ends_at = clock.now() - dt.timedelta(seconds=1)
    run_pulses(bot)
    assert len(invitations(phone.new())) == 1


def test_two_processes_at_the_same_moment_create_one_pulse(sessions: Any, monkeypatch: Any) -> None:
    """Both find the meeting due before either claims it; one creates the pulse, the other nothing (PostgreSQL:
    the second claim waits for the first's commit, then inserts nothing; SQLite: one writer at a time)."""
    people(sessions, members={"まちづくり部会": 3})
    with transaction(sessions) as session:
        sub = session.scalars(select(Subcommittee)).one()
        ends = clock.now() - dt.timedelta(hours=2)
        for n in range(3):
            session.add(Event(title=f"第{n + 1}回 まちづくり部会", kind="subcommittee", visibility="subcommittee",
                              subcommittee_id=sub.id, starts_at=ends - dt.timedelta(hours=2, minutes=n),
                              ends_at=ends - dt.timedelta(minutes=n)))
    barrier = threading.Barrier(2, timeout=3)
    found = pulses.due_meetings

    def due_together(*args: Any) -> list[Event]:
        due = found(*args)
        try:
            barrier.wait()  # both have read the same three meetings (SQLite: the second waits for the first)
        except threading.BrokenBarrierError:
            pass
        return due

    monkeypatch.setattr(pulses, "due_meetings", due_together)
    done: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            with work(sessions, "scheduler", quiet_hours_start=0, quiet_hours_end=0) as unit:
                done.append(pulses.run_due(unit))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(d["created"] for d in done) == [0, 3] or sum(d["created"] for d in done) == 3
    with sessions() as session:
        made = session.scalars(select(Survey.event_id).where(Survey.kind == "pulse")).all()
        assert sorted(made) == sorted(set(made)) and len(made) == 3
        invites = session.scalars(select(Delivery).where(Delivery.source.like("survey:%:invite"))).all()
        assert len(invites) == 9  # three members, three meetings, once each


# --------------------------------------------------------------------------- quiet hours


def test_a_meeting_ending_at_nine_pm_gets_its_pulse_in_the_morning_never_during_quiet_hours(
        app_factory: Any, sessions: Any, line: FakeLine) -> None:
    night = dt.datetime(2026, 12, 2, 20, 50, tzinfo=JST)
    with time_machine.travel(night, tick=True) as traveller:
        client = app_factory(scheduler_tick_seconds=3600, **SHIPPED_QUIET_HOURS)  # 21:00 to 8:00
        bot = Bot(client, sessions)
        phones = [link_member(bot, line, f"夜の委員{i}", "まちづくり部会")[0] for i in range(2)]
        for phone in phones:
            phone.new()
        meeting(bot, title="第5回 まちづくり部会", ends=dt.datetime(2026, 12, 2, 21, 0, tzinfo=JST))
        for moment in [(2, 21, 30), (2, 22, 0, 30), (2, 23, 30), (3, 3, 0), (3, 7, 59)]:
            traveller.move_to(dt.datetime(2026, 12, *moment, tzinfo=JST))
            run_pulses(bot)
            run_surveys(bot)
            assert [p.new() for p in phones] == [[], []], f"something was sent at {moment}"
        with sessions() as session:
            pulse = session.scalars(select(Survey).where(Survey.kind == "pulse")).one()  # made at 22:00, waiting
            assert pulse.status == "scheduled" and pulse.opens_at == dt.datetime(2026, 12, 3, 8, tzinfo=JST)
            assert session.scalars(select(Delivery).where(Delivery.source.like("survey:%"))).all() == []
        traveller.move_to(dt.datetime(2026, 12, 3, 8, 0, 30, tzinfo=JST))
        run_surveys(bot)  # morning: it opens and invites
        for phone in phones:
            assert len(invitations(phone.new())) == 1
        # one reminder, three days later, to whoever has not answered, by day
        phone = phones[0]
        phone.tap("回答をはじめる")
        phone.tap("そう思う")
        phone.tap("そう思う")
        phone.tap("送信")
        traveller.move_to(dt.datetime(2026, 12, 6, 8, 0, 30, tzinfo=JST))
        run_surveys(bot)
        run_surveys(bot)
        assert phone.new() == [] and "まだ回答が終わっていません" in texts(phones[1].new())
        traveller.move_to(dt.datetime(2026, 12, 9, 20, 0, tzinfo=JST))
        run_surveys(bot)
        assert phones[1].new() == []  # one reminder only
        with sessions() as session:
            sent = session.scalars(select(Delivery).where(Delivery.source.like("survey:%"))).all()
            assert len(sent) == 3
            for delivery in sent:  # nothing left or was due in the quiet hours
                local = (delivery.sent_at or delivery.next_attempt_at).astimezone(JST)
                assert 8 <= local.hour < 21, delivery.source


# --------------------------------------------------------------------------- the reminder cap


def test_at_most_the_set_number_of_reminders_go_per_survey(app_factory: Any, sessions: Any, line: FakeLine) -> None:
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0, scheduler_tick_seconds=3600)
    bot = Bot(client, sessions)
    phone, _ = link_member(bot, line, "港 一郎", None)
    closes = (clock.now() + dt.timedelta(days=7)).isoformat()
    refused = client.post("/api/v1/surveys", headers=AUTH, json={
        "template_id": "council-questionnaire", "closes_at": closes, "reminder_hours": [120, 72, 24]})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "reminder_hours"]
    assert "at most 2 reminders" in refused.text
    survey = api(client, "POST", "/surveys", json={"template_id": "council-questionnaire", "closes_at": closes,
                                                  "reminder_hours": [72, 24]})
    api(client, "POST", f"/surveys/{survey['id']}/open")
    bot.wait_idle()
    phone.new()
    # the office lowers the cap to one: both reminders fall due at once, one goes
    runtime = client.app.state.runtime
    runtime.settings.survey_max_reminders = 1
    with transaction(sessions) as session:
        for reminder in session.scalars(select(SurveyReminder)):
            reminder.due_at = clock.now() - dt.timedelta(minutes=1)
    run_surveys(bot)
    run_surveys(bot)
    got = phone.new()
    assert len([m for m in got if "まだ回答が終わっていません" in texts([m])]) == 1
    with sessions() as session:
        assert sorted(r.status for r in session.scalars(select(SurveyReminder))) == ["sent", "skipped"]
    # with a cap of one, a new survey keeps only the reminder nearest its close
    second = api(client, "POST", "/surveys", json={"template_id": "management-evaluation", "closes_at": closes})
    with sessions() as session:
        assert session.get(Survey, second["id"]).reminder_hours == [24]
    # and a pulse gets its one reminder only while the cap allows one
    with work(sessions, survey_max_reminders=0) as unit:
        assert surveys.capped_hours([pulses.REMINDER_HOURS], unit.settings.survey_max_reminders) == []


# --------------------------------------------------------------------------- the template marks the pulse


def test_the_template_marks_the_pulse_questions_and_a_bad_mark_is_refused() -> None:
    council = definition.load_all()["council-questionnaire"]
    pulse = definition.pulse_template(council)
    assert pulse is not None and [q.id for q in pulse.questions] == ["exchange", "feedback"]
    assert all(q.indicator for q in pulse.questions)
    assert definition.pulse_template(definition.load_all()["management-evaluation"]) is None
    assert definition.from_dict(pulse.to_dict()) == pulse
    text = ("id: t\ntitle: テスト\nquestions:\n  - id: a\n    kind: single\n    text: 質問\n"
            "    choices: [はい, いいえ]\n  - id: b\n    kind: text\n    text: 理由\n    pulse: true\n"
            "    show_if: {question: a, in: [いいえ]}\n")
    with pytest.raises(definition.TemplateError, match=r"bad.yaml:11: questions\[1\].pulse: is shown only after 'a'"):
        definition.parse(text, "bad.yaml")
    with pytest.raises(definition.TemplateError, match="pulse: must be true or false"):
        definition.parse(text.replace("pulse: true", "pulse: often"), "bad.yaml")


# --------------------------------------------------------------------------- the trend


def seed_trend(sessions: Any) -> dict[str, int]:
    """Three meetings of 令和8年度 with pulses (4, 2 and 3 answers) and the year's questionnaire (4 answers)."""
    people(sessions, members={"まちづくり部会": 4, "子育て部会": 2})
    answers = {
        0: [("そう思う", "そう思う"), ("どちらかといえばそう思う", "そう思わない"), ("そう思わない", "そう思う"),
            ("そう思う", "どちらかといえばそう思う")],  # 75% / 75%
        1: [("そう思う", "そう思う"), ("そう思う", "そう思う")],  # two answers: not shown
        2: [("そう思う", "そう思う"), ("そう思わない", "そう思わない"), ("どちらかといえばそう思わない", "そう思う")],
    }
    ids: dict[str, int] = {}
    with work(sessions, "scheduler", quiet_hours_start=0, quiet_hours_end=0) as unit:
        session = unit.session
        sub = session.scalars(select(Subcommittee).where(Subcommittee.name == "まちづくり部会")).one()
        for n, day in enumerate([dt.datetime(2026, 6, 10, 14, tzinfo=JST), dt.datetime(2026, 9, 2, 14, tzinfo=JST),
                                 dt.datetime(2026, 11, 25, 14, tzinfo=JST)]):
            event = Event(title=f"第{n + 1}回 {'全体会議' if n != 1 else 'まちづくり部会'}",
                          kind="plenary" if n != 1 else "subcommittee",
                          visibility="members" if n != 1 else "subcommittee",
                          subcommittee_id=sub.id if n == 1 else None, starts_at=day,
                          ends_at=day + dt.timedelta(hours=2))
            session.add(event)
            session.flush()
            pulse = pulses.create_pulse(unit, event)
            assert pulse is not None
            ids[f"pulse{n}"] = pulse.id
            for exchange, feedback in answers[n]:
                session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=pulse.id,
                                               answers={"exchange": exchange, "feedback": feedback}))
        yearly = surveys.create(unit, surveys.SurveyInput(
            template_id="council-questionnaire", title="区政会議に関するアンケート（令和8年度）", anonymous=True,
            opens_at=dt.datetime(2026, 12, 1, 10, tzinfo=JST), closes_at=clock.now() + dt.timedelta(days=30)))
        surveys.open_survey(unit, yearly)
        ids["yearly"] = yearly.id
        for exchange, feedback in [("そう思う", "そう思う"), ("そう思わない", "そう思う"), ("そう思う", "そう思わない"),
                                   ("そう思わない", "どちらかといえばそう思う")]:
            session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=yearly.id,
                                           answers={"exchange": exchange, "feedback": feedback}))
        members = session.scalars(select(Member).order_by(Member.id)).all()
        for key, count in [("pulse0", 4), ("pulse1", 2), ("pulse2", 3), ("yearly", 4)]:
            for member in members[:count]:
                session.add(SurveyResponse(survey_id=ids[key], member_id=member.id, status="submitted",
                                           submitted_at=clock.now()))
    return ids


def text_boxes(svg: str) -> tuple[float, float, list[tuple[str, float, float, float, float]]]:
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    out = []
    for node in root.iter(ns + "text"):
        size = float(node.get("font-size", root.get("font-size", "16")))
        width = results._width(node.text or "", size)
        x, y = float(node.get("x", 0)), float(node.get("y", 0))
        left = {"middle": x - width / 2, "end": x - width}.get(node.get("text-anchor", "start"), x)
        out.append((node.text or "", left, y - size * 0.88, left + width, y + size * 0.12))
    return float(root.get("width", 0)), float(root.get("height", 0)), out


def apart(svg: str) -> list[str]:
    width, height, boxes = text_boxes(svg)
    problems = [f"{t[0]} leaves the chart" for t in boxes if t[1] < 0 or t[3] > width or t[2] < 0 or t[4] > height]
    problems += [f"{a[0]} / {b[0]}" for i, a in enumerate(boxes) for b in boxes[i + 1:]
                 if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    return problems


def test_the_trend_shows_each_meeting_against_baseline_target_and_the_yearly_figure(
        bot: Bot, sessions: Any) -> None:
    ids = seed_trend(sessions)
    trend = api(bot.client, "GET", "/pulse-trend", params={"year": 2026})
    assert trend["year_label"] == "令和8年度" and [m["survey_id"] for m in trend["meetings"]] == [
        ids["pulse0"], ids["pulse1"], ids["pulse2"]]
    assert [m["kind"] for m in trend["meetings"]] == ["全体会議", "部会", "全体会議"]
    exchange, feedback = trend["indicators"]
    assert [p["label"] for p in exchange["points"]] == ["75%", "3件未満", "33.3%"]
    assert [p["percent"] for p in exchange["points"]] == [75.0, None, 33.3]
    assert [p["label"] for p in feedback["points"]] == ["75%", "3件未満", "66.7%"]
    assert exchange["baseline"] == {"year": "H29", "percent": 48} and exchange["target"] == 73
    assert exchange["target_label"] == "目標（H31）" and "令和8年度の目標はないため" in exchange["target_note"]
    assert feedback["target"] == 80 and feedback["baseline"]["percent"] == 75
    assert exchange["yearly"]["label"] == "50%" and feedback["yearly"]["label"] == "75%"
    # the two answers of the second meeting appear nowhere, in any format
    svg = api(bot.client, "GET", "/pulse-trend/exchange.svg", params={"year": 2026}).text
    assert "<svg" in svg and "75%" in svg and "33.3%" in svg and ">3件</text>" in svg and ">未満</text>" in svg
    assert "目標（H31） 73%" in svg and "基準値（H29） 48%" in svg and "年次アンケート（令和8年度）" in svg
    assert 'stroke-dasharray="5 3"' in svg and 'stroke-dasharray="2 3"' in svg  # not colour alone
    assert apart(svg) == []
    assert apart(api(bot.client, "GET", "/pulse-trend/feedback.svg", params={"year": 2026}).text) == []
    assert api(bot.client, "GET", "/pulse-trend", params={"year": 2025})["meetings"] == []
    assert bot.client.get("/api/v1/pulse-trend/nothing.svg", headers=AUTH).status_code == 404

    logged_in(bot.client, sessions, role="viewer")
    page = bot.client.get("/console/surveys/pulse?year=2026")
    assert page.status_code == 200
    assert "第2回 まちづくり部会" in page.text and "3件未満" in page.text and "75%" in page.text
    assert "年次アンケート（令和8年度）" in page.text and "目標（H31）" in page.text
    pulse_page = bot.client.get(f"/console/surveys/{ids['pulse1']}").text
    assert "会議ごとの推移を見る" in pulse_page and "回答が3件未満のため表示しません" in pulse_page
    listing = bot.client.get("/console/surveys").text
    assert "会議のふりかえり（会議ごとの推移）" in listing and "（会議のふりかえり）" in listing


@pytest.mark.parametrize(("points", "target", "baseline"), [
    ([0, 100, None, 50], 80, 75), ([73, 73, 48, 48], 73, 48), ([100] * 14 + [None, 0], 100, 100), ([], 50, 50)])
def test_trend_chart_labels_stand_apart_whatever_the_values(points: list[float | None], target: float,
                                                           baseline: float) -> None:
    meetings = [{"short_date": f"{1 + i % 12}/{10 + i}", "kind": "全体会議" if i % 2 else "部会"}
                for i in range(len(points))]
    trend = {"year_label": "令和8年度", "meetings": meetings, "indicators": [{
        "name": "十分に意見交換が行われていると感じる委員の割合", "target": target, "target_label": "目標（H31）",
        "baseline": {"year": "H29", "percent": baseline},
        "yearly": {"percent": 60.0, "label": "60%"},
        "points": [{"percent": p, "label": "3件未満" if p is None else f"{p:g}%"} for p in points]}]}
    svg = results.trend_chart(trend, 0)
    assert apart(svg) == [] and "十分に意見交換" in svg
    assert "十分に意見交換" not in results.trend_chart(trend, 0, titled=False).split("</title>", 1)[1]
    assert ("3件" in svg) == (None in points)


def test_a_pulse_invitation_card_is_valid_for_line(bot: Bot, line: FakeLine, council: dict[str, list[Phone]]
                                                   ) -> None:
    """(the fake LINE server validates every body; here: the card's button starts the pulse)"""
    meeting(bot)
    run_pulses(bot)
    card = council["まちづくり部会"][1].new()
    assert [a["label"] for a in actions(card)] == ["回答をはじめる"]


MEASURE = """() => [...document.querySelectorAll('.chart svg')].map(svg => {
  const frame = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  });
  return {frame: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom}, texts};
})"""


def measured(charts: list[dict[str, Any]]) -> list[str]:
    """Texts as Chromium drew them that overlap or leave their chart."""
    problems = []
    for n, chart in enumerate(charts):
        frame, boxes = chart["frame"], chart["texts"]
        problems += [f"chart {n}: {t['text']} is cut" for t in boxes
                     if t["left"] < frame["left"] - 0.5 or t["right"] > frame["right"] + 0.5]
        problems += [f"chart {n}: {a['text']} / {b['text']}" for i, a in enumerate(boxes) for b in boxes[i + 1:]
                     if a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
                     and a["top"] < b["bottom"] - 2 and b["top"] < a["bottom"] - 2]
    return problems


def test_the_trend_page_reads_on_screen_and_in_black_and_white_print(database_url: str, sessions: Any,
                                                                    line: FakeLine) -> None:
    from main import create_app
    from tests.helpers import PASSWORD, SCREENSHOTS, browser_page, make_settings, make_staff, screenshot, serve

    seed_trend(sessions)
    make_staff(sessions, name="区役所 花子", role="viewer")
    app = create_app(make_settings(database_url, line, scheduler_tick_seconds=3600))
    with serve(app) as base, browser_page() as page:
        page.goto(base + "/console/surveys")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.click("a:has-text('会議のふりかえり（会議ごとの推移）')")
        page.wait_for_selector("h1:has-text('会議のふりかえり')")
        if "令和8年度" not in page.inner_text("h1"):  # the suite may run in another fiscal year
            page.click("a:has-text('令和8年度')")
            page.wait_for_selector("h1:has-text('令和8年度')")
        text = page.inner_text("main")
        assert "十分に意見交換が行われていると感じる委員の割合" in text and "3件未満" in text
        assert "令和8年度の目標はないため、H31の目標と比べています" in text
        charts = page.evaluate(MEASURE)
        assert len(charts) == 2 and measured(charts) == []
        screenshot(page, "console-pulse-trend")
        page.emulate_media(media="print")
        assert page.is_hidden("header.top") and page.is_hidden("text=印刷する")
        assert measured(page.evaluate(MEASURE)) == []
        screenshot(page, "console-pulse-trend-print")
    from PIL import Image

    Image.open(SCREENSHOTS / "console-pulse-trend-print.png").convert("L").save(
        SCREENSHOTS / "console-pulse-trend-print-grey.png")

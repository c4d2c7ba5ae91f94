"""One quiet-hours policy (README, "Quiet hours"): an answer to what the person sent is never held; every other push
(survey invitations, the office's replies to opinions, broadcasts, reminders, change notices of events not near)
waits for the end of the quiet hours, without holding up the answers meanwhile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

import demo
from bot import clock
from db.models import AuditEntry, Delivery, Event
from tests.fakeline.server import FakeLine
from tests.helpers import Bot, Phone, api, link_member, new_user_id, texts, work

pytestmark = pytest.mark.quiet_hours  # the quiet hours as shipped

NIGHT = dt.datetime(2026, 10, 1, 22, 0, tzinfo=clock.JST)  # Thu 22:00 JST; quiet from 21:00 to 08:00


@pytest.fixture
def night(sessions: Any) -> Any:
    with time_machine.travel(NIGHT, tick=True) as traveller:
        with work(sessions) as unit:
            demo.load(unit)
        yield traveller


def _statuses(sessions: Any, source_prefix: str) -> list[str]:
    with sessions() as session:
        return [d.status for d in session.scalars(select(Delivery).where(Delivery.source.startswith(source_prefix)))]


def test_a_survey_opened_at_night_invites_in_the_morning_and_answers_are_not_held(
        bot: Bot, line: FakeLine, night: Any, sessions: Any) -> None:
    member, _ = link_member(bot, line, "夜の委員", None)
    member.new()
    closes = (NIGHT + dt.timedelta(days=7)).isoformat()
    survey = api(bot.client, "POST", "/surveys", json={"template_id": "council-questionnaire", "closes_at": closes})
    api(bot.client, "POST", f"/surveys/{survey['id']}/open")
    bot.wait_idle()
    assert member.new() == [] and set(_statuses(sessions, f"survey:{survey['id']}:invite")) == {"waiting"}
    # the member writes meanwhile: answered at once, not queued behind the waiting invitation
    assert "委員のみなさんが できること" in texts(member.say("ヘルプ"))
    night.move_to(dt.datetime(2026, 10, 2, 7, 59, tzinfo=clock.JST))
    bot.wait_idle()
    assert member.new() == []
    night.move_to(dt.datetime(2026, 10, 2, 8, 0, 1, tzinfo=clock.JST))
    bot.wait_idle()
    assert "回答をはじめる" in str(member.new())
    assert set(_statuses(sessions, f"survey:{survey['id']}:invite")) == {"sent"}


def test_the_offices_reply_to_an_opinion_waits_for_the_morning(bot: Bot, line: FakeLine, night: Any,
                                                                sessions: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.tap("そのほか", phone.say("ご意見"))
    phone.say("夜の公園の照明をふやしてください")
    phone.say("名前なしで送る")
    phone.new()
    night.move_to(dt.datetime(2026, 10, 2, 7, 33, tzinfo=clock.JST))
    (opinion,) = api(bot.client, "GET", "/opinions")
    assert api(bot.client, "POST", f"/opinions/{opinion['id']}/reply", json={"text": "検討します。"})["pushed"]
    bot.wait_idle()
    assert phone.new() == []
    with sessions() as session:  # the audit line says when it will really go
        detail = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "opinion.reply")).one()
    assert detail.startswith("LINEで10月2日(金) 08:00に送信")
    night.move_to(dt.datetime(2026, 10, 2, 8, 0, 1, tzinfo=clock.JST))
    bot.wait_idle()
    assert "検討します。" in texts(phone.new())


def test_a_change_to_a_near_event_is_sent_at_night_and_to_a_far_one_in_the_morning(
        bot: Bot, line: FakeLine, night: Any, sessions: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    with sessions() as session:
        far = session.scalars(select(Event).where(Event.title == "港区民まつり")).one()
    phone.say("港区民まつり")  # asked about it: they will hear of a change
    phone.new()
    api(bot.client, "PATCH", f"/events/{far.id}", json={"status": "cancelled"})
    bot.wait_idle()
    assert phone.new() == [] and set(_statuses(sessions, f"event:{far.id}:")) == {"waiting"}
    # an event tomorrow morning, cancelled tonight: people must hear before they set out
    tomorrow = api(bot.client, "POST", "/events", json={
        "title": "朝のラジオ体操", "kind": "event", "starts_at": "2026-10-02T07:00:00+09:00",
        "ends_at": "2026-10-02T07:30:00+09:00", "venue": "八幡屋公園"})
    phone.say("朝のラジオ体操")
    phone.new()
    api(bot.client, "PATCH", f"/events/{tomorrow['id']}", json={"status": "cancelled"})
    bot.wait_idle()
    assert "朝のラジオ体操" in texts(phone.new())

"""An event change that sends notices is asked about first (issue #15, point 6).

Moving an event, or 中止 / 雨天中止, pushes a notice to everyone who should hear. Before saving, the console shows
a page of its own (no script needed) 「この変更で N人にお知らせが届きます。よろしいですか？」 with 保存する / 戻る,
every typed field carried along; afterwards 「保存しました。N人にお知らせしました。」, or that the notices wait for
the morning (the quiet hours). N is counted by the same rule and audience as the sending. An event's
cancellation reads 「中止にしました」, never 「取り消しました」.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from bot import clock
from db.base import transaction
from db.models import AuditEntry, CategorySubscription, Delivery, Event, User
from events import service as events
from events.schema import EventInput
from tests.helpers import (
    EVENT_FORM as FORM,
)
from tests.helpers import (
    SHIPPED_QUIET_HOURS,
    SIZES,
    an_event,
    browser_page,
    logged_in,
    make_settings,
    make_staff,
    screenshot,
    served,
    work,
)
from tests.helpers import (
    console_log_in as _log_in,
)

NIGHT = dt.datetime(2026, 12, 2, 22, 0, tzinfo=clock.JST)  # Wed 22:00 JST: quiet until Thu 08:00


def pushes(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "push")) or 0)


def changed(form: dict[str, str], **values: str) -> dict[str, str]:
    return {**form, **values}


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


@pytest.fixture
def client(app_factory: Any) -> Any:
    return app_factory(quiet_hours_start=0, quiet_hours_end=0)




# --------------------------------------------------------------------------- over HTTP


def test_moving_an_event_asks_first_with_the_count_and_says_afterwards_how_many_heard(client, sessions, line):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    form = changed({"csrf": csrf, **FORM}, starts_at="2030-10-18T10:00", ends_at="2030-10-18T16:00",
                   venue="八幡屋公園 北側")
    asked = client.post(f"/console/events/{event_id}", data=form, follow_redirects=False)
    assert asked.status_code == 200
    assert "この変更で 3人にお知らせが届きます。よろしいですか？" in re.sub(r"<[^>]+>", "", asked.text)
    assert "保存する" in asked.text and "戻る" in asked.text
    assert "10月17日(木) 10:00" in asked.text and "10月18日(金) 10:00" in asked.text  # what changes
    carried = hidden(asked.text)
    assert {k: carried[k] for k in ("venue", "starts_at", "keywords", "description", "notify")} == {
        "venue": "八幡屋公園 北側", "starts_at": "2030-10-18T10:00", "keywords": "くみんまつり, 区民祭り",
        "description": "模擬店やステージがあります", "notify": "3"}
    assert carried["documents"].splitlines() == FORM["documents"].splitlines()
    with sessions() as session:  # nothing saved yet, nobody told
        assert session.get(Event, event_id).venue == "八幡屋公園"
    assert pushes(sessions) == 0

    back = client.post(f"/console/events/{event_id}", data={**carried, "csrf": csrf, "step": "back"})
    assert back.status_code == 200
    assert 'value="八幡屋公園 北側"' in back.text and 'value="2030-10-18T10:00"' in back.text
    assert pushes(sessions) == 0

    saved = client.post(f"/console/events/{event_id}", data={**carried, "csrf": csrf, "step": "save"},
                        follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "保存しました。3人にお知らせしました。" in page
    assert pushes(sessions) == 3
    with sessions() as session:
        event = session.get(Event, event_id)
        assert event.venue == "八幡屋公園 北側" and event.starts_at.astimezone(clock.JST).day == 18
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "event.change")).one()
        assert "3人に通知" in (entry.detail or "")


def test_the_count_asked_is_the_count_sent_and_a_changed_audience_is_asked_again(client, sessions, line):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    with sessions() as session:
        assert events.preview_update(session, session.get(Event, event_id), {"status": "cancelled"}).count == 3
    form = changed({"csrf": csrf, **FORM}, starts_at="2030-10-19T10:00", ends_at="2030-10-19T16:00")
    carried = hidden(client.post(f"/console/events/{event_id}", data=form).text)
    assert carried["notify"] == "3"
    with transaction(sessions) as session:  # one more subscriber since the page was shown
        newcomer = User(line_user_id="U" + "e" * 32, display_name="新しい人")
        session.add(newcomer)
        session.flush()
        session.add(CategorySubscription(user_id=newcomer.id, category="まつり"))
    again = client.post(f"/console/events/{event_id}", data={**carried, "csrf": csrf, "step": "save"})
    assert again.status_code == 200 and "お知らせが届く人数が変わりました（3人 → 4人）" in again.text
    assert hidden(again.text)["notify"] == "4" and pushes(sessions) == 0
    saved = client.post(f"/console/events/{event_id}", data={**hidden(again.text), "csrf": csrf, "step": "save"})
    assert "保存しました。4人にお知らせしました。" in saved.text and pushes(sessions) == 4


def test_a_change_that_tells_nobody_is_saved_at_once(client, sessions, line):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    saved = client.post(f"/console/events/{event_id}", data=changed({"csrf": csrf, **FORM}, venue="港区民センター"),
                        follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?notice=saved")
    page = client.get(saved.headers["location"]).text
    assert "保存しました。" in page and "お知らせしました" not in page and pushes(sessions) == 0


@pytest.mark.parametrize("reason, label", [("cancel", "中止"), ("rain", "雨天中止")])
def test_cancelling_asks_first_then_says_chuushi_and_a_second_click_tells_nobody_twice(client, sessions, line,
                                                                                        reason, label):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    form_page = client.get(f"/console/events/{event_id}").text
    assert "data-confirm" not in form_page.split(f'action="/console/events/{event_id}/cancel"')[1].split(">")[0]
    asked = client.post(f"/console/events/{event_id}/cancel", data={"csrf": csrf, "reason": reason})
    assert asked.status_code == 200
    text = re.sub(r"<[^>]+>", "", asked.text)
    assert "この変更で 3人にお知らせが届きます。よろしいですか？" in text and f"予定どおり → {label}" in text
    assert ">中止にする</button>" in asked.text and ">戻る</button>" in asked.text
    assert pushes(sessions) == 0
    back = client.post(f"/console/events/{event_id}/cancel", data={**hidden(asked.text), "csrf": csrf,
                                                                    "step": "back"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/console/events/{event_id}"
    with sessions() as session:
        assert session.get(Event, event_id).status == "scheduled"
    done = client.post(f"/console/events/{event_id}/cancel", data={**hidden(asked.text), "csrf": csrf,
                                                                    "step": "save"})
    assert "中止にしました。3人にお知らせしました。" in done.text and "取り消" not in done.text
    assert pushes(sessions) == 3
    twice = client.post(f"/console/events/{event_id}/cancel", data={**hidden(asked.text), "csrf": csrf,
                                                                     "step": "save"})
    assert twice.status_code == 409 and f"すでに{label}になっています" in twice.text
    assert pushes(sessions) == 3
    with sessions() as session:
        assert session.get(Event, event_id).status == ("rain_cancelled" if reason == "rain" else "cancelled")


def test_cancelling_through_the_status_field_asks_too(client, sessions, line):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    asked = client.post(f"/console/events/{event_id}", data=changed({"csrf": csrf, **FORM}, status="rain_cancelled"))
    assert "この変更で 3人にお知らせが届きます" in re.sub(r"<[^>]+>", "", asked.text)
    assert ">保存する</button>" in asked.text and pushes(sessions) == 0
    saved = client.post(f"/console/events/{event_id}", data={**hidden(asked.text), "csrf": csrf, "step": "save"})
    assert "保存しました。3人にお知らせしました。" in saved.text and pushes(sessions) == 3


def test_at_night_a_far_event_says_its_notices_wait_for_the_morning_and_a_near_one_goes_at_once(
        app_factory, sessions, line):
    with time_machine.travel(NIGHT, tick=True):
        far = an_event(sessions)
        client = app_factory(**SHIPPED_QUIET_HOURS)  # 21:00-08:00
        csrf = logged_in(client, sessions)
        asked = client.post(f"/console/events/{far}/cancel", data={"csrf": csrf, "reason": "cancel"})
        done = client.post(f"/console/events/{far}/cancel", data={**hidden(asked.text), "csrf": csrf})
        assert "中止にしました。3人へのお知らせは、夜間のため 12月3日(木) 08:00 に届きます。" in done.text
        with sessions() as session:
            assert {d.status for d in session.scalars(select(Delivery).where(Delivery.kind == "push"))} == {
                "waiting"}
        with work(sessions) as unit:  # a second event, tomorrow morning: people may be setting out
            near = events.create(unit, EventInput.model_validate({
                **FORM, "title": "朝市", "starts_at": dt.datetime(2026, 12, 3, 9, tzinfo=clock.JST),
                "ends_at": dt.datetime(2026, 12, 3, 12, tzinfo=clock.JST), "tags": ["まつり"], "keywords": [],
                "documents": []}))
        asked = client.post(f"/console/events/{near.id}/cancel", data={"csrf": csrf, "reason": "cancel"})
        assert "この変更で 1人にお知らせが届きます" in re.sub(r"<[^>]+>", "", asked.text)
        done = client.post(f"/console/events/{near.id}/cancel", data={**hidden(asked.text), "csrf": csrf})
        assert "中止にしました。1人にお知らせしました。" in done.text and "夜間のため" not in done.text


def test_no_event_page_says_torikeshi(client, sessions, line):
    event_id = an_event(sessions)
    csrf = logged_in(client, sessions)
    pages = [client.get("/console/events").text, client.get(f"/console/events/{event_id}").text]
    asked = client.post(f"/console/events/{event_id}/cancel", data={"csrf": csrf, "reason": "cancel"})
    pages += [asked.text, client.post(f"/console/events/{event_id}/cancel",
                                      data={**hidden(asked.text), "csrf": csrf}).text]
    pages += [client.get("/console/events").text, client.get(f"/console/events/{event_id}").text]
    assert all("取り消" not in page for page in pages)
    assert "中止" in pages[-2]


# --------------------------------------------------------------------------- in the browser


@pytest.mark.parametrize("size", SIZES)
def test_browser_a_move_and_a_cancellation_are_asked_about_with_the_count(database_url, sessions, line, size):
    event_id = an_event(sessions)
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0)) as base, \
            browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.on("dialog", lambda dialog: dialog.dismiss())  # no script confirmation should come: the page asks
        _log_in(page, base)
        page.goto(f"{base}/console/events/{event_id}")
        page.fill("input[name=starts_at]", "2030-10-18T10:00")
        page.fill("input[name=ends_at]", "2030-10-18T16:00")
        page.fill("input[name=venue]", "八幡屋公園 北側")
        page.click("button:has-text('保存')")
        page.wait_for_selector("#notify-question")
        assert page.inner_text("#notify-question") == "この変更で 3人にお知らせが届きます。よろしいですか？"
        screenshot(page, f"console-event-confirm-{width}")
        page.click("button:has-text('戻る')")  # the form again, as typed
        page.wait_for_selector("input[name=venue]")
        assert page.input_value("input[name=venue]") == "八幡屋公園 北側"
        assert page.input_value("input[name=starts_at]") == "2030-10-18T10:00"
        assert pushes(sessions) == 0
        page.click("button:has-text('保存')")
        page.wait_for_selector("#notify-question")
        page.click("button:has-text('保存する')")
        page.wait_for_selector("p.notice:has-text('保存しました。3人にお知らせしました。')")
        screenshot(page, f"console-event-saved-{width}")
        assert pushes(sessions) == 3

        page.click("button:has-text('中止にする')")
        page.wait_for_selector("#notify-question")
        assert "予定どおり → 中止" in page.inner_text("table.changes")
        screenshot(page, f"console-event-cancel-confirm-{width}")
        page.dblclick("button:has-text('中止にする')")  # a double click tells nobody twice
        page.wait_for_selector("p.notice:has-text('中止にしました。3人にお知らせしました。')")
        assert "取り消" not in page.content()
        screenshot(page, f"console-event-cancelled-{width}")
        assert pushes(sessions) == 6

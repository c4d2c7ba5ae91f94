"""The console's side of residents' questions and the festival day (issue #14, points 2 and 3): the event form holds
the answers to the usual questions (雨天時, 駐車場…), 無料 and the event's own Q&A, keeping what was typed after an
error; the event's page offers 当日の状況 (開催 / 中止 / 延期 / 内容変更 with a short message) in one tap, saying on
the page how many people will hear before the tap, and never telling them twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import clock
from db.models import Delivery, Event
from tests.helpers import (
    SIZES,
    an_event,
    browser_page,
    console_log_in,
    csrf_of,
    logged_in,
    make_settings,
    make_staff,
    screenshot,
    served,
)


def _soon() -> tuple[str, str]:
    """An event starting in three hours (JST, as the form's fields write it)."""
    start = (clock.now() + dt.timedelta(hours=3)).astimezone(clock.JST).replace(second=0, microsecond=0)
    return f"{start:%Y-%m-%dT%H:%M}", f"{start + dt.timedelta(hours=4):%Y-%m-%dT%H:%M}"


def day_pushes(sessions: Any, event_id: int) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.source.like(f"event:{event_id}:day:%"))) or 0


def test_the_day_panel_asks_again_when_the_count_changed(client: Any, sessions: Any) -> None:
    starts, ends = _soon()
    event_id = an_event(sessions, starts=starts, ends=ends)
    token = logged_in(client, sessions)
    page = client.get(f"/console/events/{event_id}").text
    assert 'id="day-status"' in page and "<strong>3人</strong>にすぐお知らせが届きます" in page
    assert "とどく文面" in page and "\n中止します。</pre>" in page  # the notice, before the tap (without script too)
    # the page said 2 (someone subscribed since): asked again, with the new count, nothing sent yet
    asked = client.post(f"/console/events/{event_id}/day", data={"csrf": token, "day": "cancelled", "notify": "2",
                                                                  "message": "強風のため中止します"})
    assert asked.status_code == 200 and "「中止」をお知らせする前に確認してください" in asked.text
    assert "2人 → 3人" in asked.text and day_pushes(sessions, event_id) == 0
    assert 'value="強風のため中止します"' in asked.text  # carried along
    done = client.post(f"/console/events/{event_id}/day", data={"csrf": csrf_of(asked.text), "day": "cancelled",
                                                                 "notify": "3", "message": "強風のため中止します"},
                       follow_redirects=True)
    assert "当日の状況を更新しました。3人にお知らせしました。" in done.text and day_pushes(sessions, event_id) == 3
    assert "強風のため中止します" in done.text
    # a viewer sees the state, not the buttons
    with sessions() as session:
        assert session.get(Event, event_id).status == "cancelled"
    refused = client.post(f"/console/events/{event_id}/day", data={"csrf": token, "day": "sunny", "notify": "3"})
    assert refused.status_code == 422 and "どれかを押してください" in refused.text


def test_a_long_day_message_is_refused_next_to_the_panel_and_kept(client: Any, sessions: Any) -> None:
    starts, ends = _soon()
    event_id = an_event(sessions, starts=starts, ends=ends)
    token = logged_in(client, sessions)
    long = "雨" * 501
    refused = client.post(f"/console/events/{event_id}/day", data={"csrf": token, "day": "changed", "notify": "3",
                                                                    "message": long})
    assert refused.status_code == 422 and "500" in refused.text and long in refused.text
    assert day_pushes(sessions, event_id) == 0


def test_the_form_keeps_the_answers_after_an_error(client: Any, sessions: Any) -> None:
    event_id = an_event(sessions)
    token = logged_in(client, sessions)
    form = {"csrf": token, "title": "港区民まつり", "kind": "festival", "status": "scheduled", "visibility": "public",
            "starts_at": "2030-10-17T10:00", "ends_at": "2030-10-17T16:00", "answer_parking": "ありません",
            "answer_rain": "小雨決行", "free": "free", "status_urgent": "on",
            "faq": "この行には区切りがない\nペットはいいですか | リードをつけてください"}
    refused = client.post(f"/console/events/{event_id}", data=form)
    assert refused.status_code == 422 and "1行目「この行には区切りがない」に「|」がありません" in refused.text
    assert refused.text.count("「|」がありません") == 2  # above the form, and next to the field
    assert ">ありません</textarea>" in refused.text and ">小雨決行</textarea>" in refused.text
    assert '<option value="free" selected>' in refused.text and "この行には区切りがない" in refused.text
    form["faq"] = "ペットはいいですか | リードをつけてください\n\n  雨具は？ ｜ かさを お持ちください"  # ｜ too
    saved = client.post(f"/console/events/{event_id}", data=form, follow_redirects=True)
    assert "保存しました。" in saved.text
    with sessions() as session:
        event = session.get(Event, event_id)
        assert event.answers == {"parking": "ありません", "rain": "小雨決行"} and event.free is True
        assert event.faq == [{"q": "ペットはいいですか", "a": "リードをつけてください"},
                             {"q": "雨具は？", "a": "かさを お持ちください"}]
        assert event.status_urgent is True
    form.pop("status_urgent")
    form["free"] = ""
    client.post(f"/console/events/{event_id}", data=form)
    with sessions() as session:
        event = session.get(Event, event_id)
        assert event.status_urgent is False and event.free is None


@pytest.mark.parametrize("size", SIZES)
def test_browser_the_day_status_in_one_tap(database_url: str, sessions: Any, line: Any, size: Any) -> None:
    starts, ends = _soon()
    event_id = an_event(sessions, starts=starts, ends=ends)
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, line)) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.on("dialog", lambda dialog: dialog.dismiss())
        console_log_in(page, base)
        page.goto(f"{base}/console/events/{event_id}")
        # on the day, the panel comes first, with the count before the tap
        assert page.locator("#day-status").bounding_box()["y"] < page.locator("input[name=title]").bounding_box()["y"]
        assert "3人" in page.inner_text("#day-count")
        screenshot(page, f"console-event-day-{width}")
        # the notice's words are on the page before the tap, with the message as it is typed
        preview = page.locator("#day-preview [data-preview-text]")
        assert preview.inner_text().splitlines()[1] == "中止します。"
        page.hover("#day-status button[value=held]")
        assert preview.inner_text().splitlines()[1] == "予定どおり開催します。"
        assert preview.inner_text().startswith("【開催】")
        page.fill("#day-status textarea[name=message]", "雨のため、本日は中止します。")
        page.check("#day-status input[name=rain]")
        page.hover("#day-status button[value=cancelled]")
        assert preview.inner_text().splitlines()[1:] == ["雨のため中止します。", "雨のため、本日は中止します。"]
        assert preview.inner_text().startswith("【雨天中止】")
        screenshot(page, f"console-event-day-preview-{width}")
        page.click("#day-status button[value=cancelled]")
        page.wait_for_selector("p.notice:has-text('当日の状況を更新しました。3人にお知らせしました。')")
        assert page.inner_text("#day-now") == "雨天中止"
        assert "雨のため、本日は中止します。" in page.inner_text("#day-status")
        screenshot(page, f"console-event-day-done-{width}")
        assert day_pushes(sessions, event_id) == 3
        # the panel keeps what was said: the same tap again (a double tap, or a second clerk) tells nobody twice
        assert page.input_value("#day-status textarea[name=message]") == "雨のため、本日は中止します。"
        assert page.is_checked("#day-status input[name=rain]")
        assert "同じひとことで押しても、だれにも送りません" in page.inner_text("#day-count")
        page.click("#day-status button[value=cancelled]")
        page.wait_for_selector("p.notice:has-text('同じ内容は もうお知らせしてあります')")
        assert day_pushes(sessions, event_id) == 3
        # the answers to the usual questions, in the same form as the rest
        page.fill("textarea[name=answer_parking]", "駐車場はありません")
        page.select_option("select[name=free]", "free")
        page.click("form.card button:has-text('保存')")
        page.wait_for_selector("p.notice:has-text('保存しました')")
        assert page.input_value("textarea[name=answer_parking]") == "駐車場はありません"
        screenshot(page, f"console-event-answers-{width}")


def test_far_from_its_day_the_page_links_down_to_the_day_panel(client: Any, sessions: Any) -> None:
    """Before the two days, 当日の状況 is under the form: a link at the top leads to it (on the day it is first)."""
    far = an_event(sessions)  # 2030
    logged_in(client, sessions)
    page = client.get(f"/console/events/{far}").text
    assert page.index('href="#day-status"') < page.index('name="title"') < page.index('id="day-status"')


def test_on_the_day_the_day_panel_comes_first_without_a_link(client: Any, sessions: Any) -> None:
    starts, ends = _soon()
    near = an_event(sessions, starts=starts, ends=ends)
    logged_in(client, sessions)
    page = client.get(f"/console/events/{near}").text
    assert 'href="#day-status"' not in page and page.index('id="day-status"') < page.index('name="title"')

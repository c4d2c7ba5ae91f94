"""Broadcasts in the console say what really happens and send once (issue #15: 5, 7 and the log of 15).

- Sent in the quiet hours (not 防災): the page says 「夜間のため、12月3日(木) 08:00 に送信します（予約済み）」, not
  「送信を開始しました」; a scheduled, started or sent broadcast has no send button, and a POST to send it again is
  refused with a plain message (a double click sends once).
- A text over 5,000 characters is not cut by the field: a live counter, and the server refuses it with the count
  next to the field, keeping the text.
- Without LINE (development) the per-recipient log says 「シミュレーターに表示（開発用）」, not 送信済み with 試行 0,
  and the page's heading says the same state as its body.

HTTP first, then the browser (tablet and desktop sizes; screenshots in test-artifacts/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from bot import clock
from broadcasts import service
from db.models import AuditEntry, Broadcast, Delivery
from tests.helpers import (
    PASSWORD,
    SHIPPED_QUIET_HOURS,
    browser_page,
    logged_in,
    make_settings,
    make_staff,
    people,
    screenshot,
    served,
    wait_for,
    work,
)

NIGHT = dt.datetime(2026, 12, 2, 22, 0, tzinfo=clock.JST)  # Wed 22:00 JST: quiet until Thu 08:00
HELD = "夜間のため、12月3日(木) 08:00 に送信します（予約済み）"
SIZES = [pytest.param((768, 1024), id="tablet"), pytest.param((1280, 800), id="desktop")]


def compose(client: Any, csrf: str, text: str = "港区からのお知らせです", **form: Any) -> Any:
    return client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "お知らせ", "audience": "residents", "type0": "text", "text0": text, **form},
        follow_redirects=False)


def draft(client: Any, csrf: str, **form: Any) -> str:
    created = compose(client, csrf, **form)
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


def sends(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action.in_(("broadcast.send", "broadcast.schedule")))) or 0)


def visible(html: str) -> str:
    """The page's text as read (tags and attributes left out)."""
    return re.sub(r"<[^>]+>", "", html)




# --------------------------------------------------------------------------- quiet hours and a second send


def test_a_broadcast_sent_in_the_quiet_hours_says_when_it_goes_and_cannot_be_sent_twice(app_factory, sessions, line):
    people(sessions, residents=2)
    with time_machine.travel(NIGHT, tick=True) as night:
        client = app_factory(**SHIPPED_QUIET_HOURS)  # 21:00-08:00
        csrf = logged_in(client, sessions)
        url = draft(client, csrf)
        preview = client.get(url).text
        assert "すぐに送る" in preview and "朝8時に送ります" in preview  # said before sending, too
        sent = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "2", "when": "now"},
                           follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"].endswith("?notice=held")
        page = client.get(sent.headers["location"]).text
        assert HELD in page and "送信を開始しました" not in page
        assert "12月3日(木) 08:00（予定）" in client.get("/console/broadcasts").text  # the history says so too
        assert "予約済み" in page and "/confirm" not in page and "人に送信する" not in page
        # a second send (the same form posted again, or a stale tab) is refused in plain words
        again = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "2", "when": "now"})
        assert again.status_code == 409
        assert "この配信は予約済みです（12月3日(木) 08:00 に送信します）。もう一度送る必要はありません" in again.text
        assert "/confirm" not in again.text
        later = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "2", "when": "later",
                                                    "scheduled_at": "2026-12-05T10:00"})
        assert later.status_code == 409
        with sessions() as session:
            broadcast = session.scalars(select(Broadcast)).one()
            assert broadcast.status == "scheduled"
            assert broadcast.scheduled_at.astimezone(clock.JST) < NIGHT + dt.timedelta(minutes=5)  # not moved
        assert sends(sessions) == 1 and line.sent("multicast") == []

        night.move_to(dt.datetime(2026, 12, 3, 8, 0, 2, tzinfo=clock.JST))
        wait_for(lambda: client.get(url + "/progress.json").json()["status"] == "done", 20, "the morning send")
        done = client.get(url).text
        assert "/confirm" not in done and "人に送信する" not in done
        refused = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "2", "when": "now"})
        assert refused.status_code == 409 and "この配信は送信しました（完了）。二度は送りません" in refused.text
        assert len(line.sent("multicast")) == 1 and sends(sessions) == 1


def test_an_urgent_broadcast_starts_at_night_and_says_so(app_factory, sessions, line):
    people(sessions, residents=1)
    with time_machine.travel(NIGHT, tick=True):
        client = app_factory(**SHIPPED_QUIET_HOURS)
        csrf = logged_in(client, sessions)
        url = draft(client, csrf, urgent="on")
        sent = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "1", "when": "now"},
                           follow_redirects=False)
        assert sent.headers["location"].endswith("?notice=started")
        assert "送信を開始しました" in client.get(sent.headers["location"]).text
        wait_for(lambda: line.sent("multicast"), 20, "the urgent multicast")


def test_a_broadcast_booked_for_a_time_says_that_time(app_factory, sessions, line):
    people(sessions, residents=1)
    client = app_factory(quiet_hours_start=21, quiet_hours_end=8)
    csrf = logged_in(client, sessions)
    url = draft(client, csrf)
    booked = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "1", "when": "later",
                                                 "scheduled_at": "2031-01-06T23:30"}, follow_redirects=False)
    assert booked.headers["location"].endswith("?notice=scheduled")
    page = client.get(booked.headers["location"]).text
    assert "送信を予約しました。1月7日(火) 08:00 に送信します（夜間は送らないため、朝に送ります）" in page
    assert "/confirm" not in page and "内容を直す" in page and "予約を取り消す" in page
    assert client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "1"}).status_code == 409
    assert sends(sessions) == 1


def test_two_sends_of_one_draft_at_the_same_moment_send_once(app_factory, sessions, line):
    people(sessions, residents=3)
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0)
    csrf = logged_in(client, sessions)
    url = draft(client, csrf)
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        statuses.append(client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "3", "when": "now"},
                                    follow_redirects=False).status_code)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)
    assert sorted(statuses) == [303, 409]
    wait_for(lambda: client.get(url + "/progress.json").json()["status"] == "done", 20, "done")
    assert len(line.sent("multicast")) == 1 and sends(sessions) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


# --------------------------------------------------------------------------- 5,000 characters


def test_a_text_over_5000_characters_is_refused_with_its_count_and_kept(app_factory, sessions, line):
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0)
    csrf = logged_in(client, sessions)
    form = client.get("/console/broadcasts/new").text
    textarea = re.search(r"<textarea name=\"text0\"[^>]*>", form)
    assert textarea and "maxlength" not in textarea.group(0)  # the field cuts nothing
    assert "0 / 5000文字" in form and "/console/static/counter.js" in form

    text = "港" * 5123
    refused = compose(client, csrf, text=text)
    assert refused.status_code == 422
    assert "5,123文字あります。5,000文字までにしてください" in refused.text
    field = re.search(r'<textarea name="text0"[^>]*>([^<]*)</textarea></label>\s*'
                      r'<p class="counter over"[^>]*>5123 / 5000文字（123文字多すぎます）</p>\s*'
                      r'<span class="field-error" role="alert">5,123文字あります。5,000文字までにしてください</span>',
                      refused.text)
    assert field and field.group(1) == text  # the error next to the field, and every character kept
    # LINE counts UTF-16 units: an emoji is two; line breaks count once, as the counter counts them
    emoji = compose(client, csrf, text="😀" * 2501)
    assert emoji.status_code == 422 and "5,002文字あります" in emoji.text
    in_lines = ("あ" * 99 + "\r\n") * 50  # 5,050 as posted (CR LF), 5,000 as the field shows
    assert compose(client, csrf, text=in_lines.rstrip() + "あ").status_code == 303
    assert compose(client, csrf, text="あ" * 5000).status_code == 303
    with sessions() as session:
        kept = session.scalars(select(Broadcast).order_by(Broadcast.id)).all()
        assert len(kept) == 2 and "\r" not in kept[0].messages[0]["text"]
    # a slot other than the first: its own field says so, the page says which
    second = compose(client, csrf, type1="text", text1="い" * 6000)
    assert second.status_code == 422 and "メッセージ 2: 6,000文字あります。5,000文字までにしてください" in second.text


# --------------------------------------------------------------------------- development: no LINE


def test_without_line_the_log_says_shown_in_the_simulator_and_the_heading_matches_the_body(
        app_factory, sessions, line):
    people(sessions, residents=2)
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0, line_channel_access_token="")
    csrf = logged_in(client, sessions)
    url = draft(client, csrf)
    client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "2", "when": "now"})
    wait_for(lambda: client.get(url + "/progress.json").json()["status"] == "done", 20, "done")
    progress = client.get(url + "/progress.json").json()
    assert progress["label"] == "完了" and progress["finished"] != "—"
    page = client.get(url).text
    heading = re.search(r'<h1>.*?<small class="status" data-field="label">([^<]+)</small>', page)
    body = re.search(r'状態: <strong data-field="label">([^<]+)</strong>', page)
    assert heading and body and heading.group(1) == body.group(1) == "完了"
    assert "シミュレーターに表示" in page and "LINEには送っていません" in page
    log = client.get(url + "/log").text
    assert visible(log).count("シミュレーターに表示（開発用）") == 2 and "送信済み" not in visible(log)
    rows = re.findall(r'<td class="st-outbox">[^<]+</td><td>([^<]+)</td>\s*<td>([^<]+)</td>', log)
    assert rows == [("—", "—")] * 2  # no send time, and no attempt: nothing went to LINE
    assert line.sent() == []


# --------------------------------------------------------------------------- in the browser


def _log_in(page: Any, base: str, name: str = "港 花子") -> None:
    page.goto(base + "/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('ログイン')")
    page.wait_for_selector("h1:has-text('ダッシュボード')")


@pytest.mark.parametrize("size", SIZES)
def test_browser_a_night_send_says_when_it_goes_and_a_double_click_sends_once(database_url, sessions, line, size):
    people(sessions, residents=4)
    make_staff(sessions)
    width, height = size
    settings = make_settings(database_url, line, **SHIPPED_QUIET_HOURS)
    with time_machine.travel(NIGHT, tick=True), served(settings) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.on("dialog", lambda dialog: dialog.accept())
        _log_in(page, base)
        page.goto(base + "/console/broadcasts/new")
        page.fill("input[name=title]", "夜のお知らせ")
        page.check("input[name=audience][value=residents]")
        page.fill("textarea[name=text0]", "あすの区民まつりは予定どおり開きます。")
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector("#recipient-count")
        page.dblclick("button.send")  # a double click: one send
        page.wait_for_selector(f"p.notice:has-text('{HELD}')")
        assert page.locator("button.send").count() == 0
        assert page.inner_text("h1 .status") == "予約済み"
        assert "12月3日(木) 08:00" in page.inner_text("#starts-at")
        screenshot(page, f"console-broadcast-held-{width}")
        assert sends(sessions) == 1
        with sessions() as session:
            assert session.scalars(select(Broadcast)).one().status == "scheduled"
        # the page of the booked broadcast, opened again: still no send button
        page.reload()
        assert page.locator("button.send").count() == 0 and page.locator("form[action$='/confirm']").count() == 0


@pytest.mark.parametrize("size", SIZES)
def test_browser_the_counter_counts_as_you_type_and_a_long_text_is_refused_and_kept(database_url, sessions, line,
                                                                                     size):
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0)) as base, \
            browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        _log_in(page, base)
        page.goto(base + "/console/broadcasts/new")
        counter = page.locator("#count0")
        assert counter.inner_text() == "0 / 5000文字"
        page.fill("input[name=title]", "長いお知らせ")
        page.check("input[name=audience][value=residents]")
        page.locator("textarea[name=text0]").type("港区民まつり😀")
        assert counter.inner_text() == "8 / 5000文字"  # the emoji counts two, as LINE counts it
        page.fill("textarea[name=text0]", "あ" * 5123)
        assert counter.inner_text() == "5123 / 5000文字（123文字多すぎます）"
        assert "over" in (counter.get_attribute("class") or "")
        screenshot(page, f"console-broadcast-counter-{width}")
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector(".field-error:has-text('5,123文字あります。5,000文字までにしてください')")
        assert len(page.input_value("textarea[name=text0]")) == 5123  # kept, nothing cut
        assert counter.inner_text() == "5123 / 5000文字（123文字多すぎます）"
        screenshot(page, f"console-broadcast-too-long-{width}")
        page.fill("textarea[name=text0]", "あ" * 5000)
        assert counter.inner_text() == "5000 / 5000文字"
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector("#recipient-count")
        with sessions() as session:
            assert len(session.scalars(select(Broadcast)).one().messages[0]["text"]) == 5000


@pytest.mark.parametrize("size", SIZES)
def test_browser_without_line_the_heading_follows_the_progress_and_the_log_says_simulator(database_url, sessions,
                                                                                           line, size):
    """The app here only serves pages (PROCESS_ROLE=web); the test does the worker's part step by step, so the page
    is open while the broadcast is booked, then sending, then done, and must follow without a reload."""
    people(sessions, residents=3)
    make_staff(sessions)
    width, height = size
    settings = make_settings(database_url, None, quiet_hours_start=0, quiet_hours_end=0, process_role="web")
    with served(settings) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.on("dialog", lambda dialog: dialog.accept())
        _log_in(page, base)
        page.goto(base + "/console/broadcasts/new")
        page.fill("input[name=title]", "開発中の配信")
        page.check("input[name=audience][value=residents]")
        page.fill("textarea[name=text0]", "シミュレーターで見えます")
        page.click("button:has-text('プレビューへ')")
        page.click("button.send")
        page.wait_for_selector("p.notice:has-text('送信を開始しました')")
        assert page.inner_text("h1 .status") == "予約済み" and page.locator("button.send").count() == 0
        awake = {"quiet_hours_start": 0, "quiet_hours_end": 0}  # whatever the hour the test runs at
        with work(sessions, **awake) as unit:  # the worker starts it and queues everyone
            assert service.run_due(unit)["started"] == 1
            service.queue_chunk(unit)
        page.wait_for_selector("#progress [data-field=label]:has-text('送信中')", timeout=15_000)  # opened anew
        assert page.inner_text("h1 .status") == "送信中"
        with work(sessions, **awake) as unit:  # ... and finds it done
            assert service.run_due(unit)["finished"] == 1
        page.wait_for_selector("#progress [data-field=label]:has-text('完了')", timeout=10_000)
        assert page.inner_text("h1 .status") == "完了"  # the heading follows the body, without a reload
        assert page.inner_text("[data-field=finished]") != "—"
        assert "シミュレーターに表示" in page.inner_text("#progress")
        screenshot(page, f"console-broadcast-dev-done-{width}")
        page.click("text=送信記録（1人ずつ）")
        page.wait_for_selector("h1:has-text('送信記録')")
        assert page.locator("td.st-outbox").count() == 3
        assert "送信済み" not in page.inner_text("table")
        screenshot(page, f"console-broadcast-dev-log-{width}")

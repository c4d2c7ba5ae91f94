"""The simulator in a real browser: pick a user, type, tap a quick reply, see the bot's answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import demo
from main import create_app
from tests.helpers import browser_page, make_settings, screenshot, serve, work


@contextmanager
def simulator(database_url: str, sessions: Any, user: str) -> Iterator[Any]:
    """The demo served with no LINE account (as with `make run`), its simulator open as `user`."""
    with work(sessions) as unit:
        demo.load(unit)
    with serve(create_app(make_settings(database_url, None))) as base, browser_page() as page:
        page.goto(base + "/simulator")
        page.wait_for_selector("#user option", state="attached")
        page.select_option("#user", label=user)
        yield page


def test_chat_as_a_resident_in_the_simulator(database_url: str, sessions: Any) -> None:
    with simulator(database_url, sessions, "山田 花子") as page:
        page.fill("#text", "こんにちは")
        page.click("form#composer button")
        page.wait_for_selector("text=すみません、わかりませんでした", timeout=10_000)
        page.click("#quick button:has-text('ヘルプ')")
        page.wait_for_selector("text=このアカウントでできること", timeout=10_000)
        bubbles = page.locator(".row.user .bubble").all_inner_texts()
        assert bubbles == ["こんにちは", "ヘルプ"]
        page.click("#sticker")
        page.wait_for_selector("text=スタンプありがとうございます", timeout=10_000)
        screenshot(page, "simulator")


def test_a_member_answers_the_demo_survey_in_the_simulator(database_url: str, sessions: Any) -> None:
    with simulator(database_url, sessions, "港 はるこ（委員）") as page:
        page.click(".card button:has-text('回答をはじめる')")
        page.wait_for_selector("text=（1/8）区政会議で", timeout=10_000)
        page.click("#quick button:has-text('どちらかといえばそう思う')")
        page.wait_for_selector("text=（2/8）", timeout=10_000)
        screenshot(page, "simulator-survey")
        page.click("#quick button:has-text('中断')")
        page.wait_for_selector("text=中断しました", timeout=10_000)


def test_the_rich_menu_under_the_chat_works(database_url: str, sessions: Any) -> None:
    with simulator(database_url, sessions, "山田 花子") as page:
        page.click("#menubar")
        page.wait_for_selector("#richmenu img")
        page.click("#richmenu button[aria-label='イベント']")
        page.wait_for_selector(".card >> text=みなとピクニック", timeout=10_000)
        screenshot(page, "simulator-richmenu")
        page.select_option("#user", label="港 はるこ（委員）")
        page.wait_for_selector("#richmenu button[aria-label='アンケート']")

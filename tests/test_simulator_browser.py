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
        page.wait_for_selector("text=区政会議と イベントのボットです", timeout=10_000)  # a greeting, with the menu
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


PHONES = ({"width": 390, "height": 844}, {"width": 360, "height": 640})


def inside_viewport(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (box is not None and box["width"] > 0 and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"])


def open_tools(page: Any) -> None:
    """On a phone the follow / block / sticker / new friend buttons sit behind the header's menu button."""
    if not page.locator("#follow").is_visible():
        page.click("#more")
        page.wait_for_selector("#follow", state="visible")


def test_on_a_phone_the_header_is_one_row_and_the_message_box_stays_on_screen(database_url: str,
                                                                               sessions: Any) -> None:
    with simulator(database_url, sessions, "港 はるこ（委員）") as page:
        page.click(".card button:has-text('回答をはじめる')")
        page.wait_for_selector("text=（1/8）区政会議で", timeout=10_000)
        for n in range(3):  # a conversation longer than the screen
            page.fill("#text", f"テスト{n}")
            page.click("form#composer button")
            page.wait_for_function(f"document.querySelectorAll('.row.user').length >= {n + 2}")
        for size in PHONES:
            page.set_viewport_size(size)
            for opened in (False, True):  # with the rich menu closed, then open
                if opened:
                    page.click("#menubar")
                    page.wait_for_selector("#richmenu img")
                    page.wait_for_function("document.querySelector('#richmenu img').complete")
                header = page.locator("header").bounding_box()
                assert header is not None and header["height"] < 70, (size, header)
                for selector in ("#user", "#more", "#text", "form#composer button"):
                    assert inside_viewport(page, selector), (size, opened, selector)
                # the page itself does not scroll: the chat between the header and the input does
                assert page.evaluate("document.scrollingElement.scrollHeight") <= size["height"], size
                assert page.evaluate("(c => c.scrollHeight > c.clientHeight && getComputedStyle(c).overflowY)"
                                     "(document.querySelector('#chat'))") == "auto", size
                if opened:
                    page.click("#menubar")
                    page.wait_for_selector("#richmenu", state="hidden")
        screenshot(page, "simulator-phone-small")
        page.set_viewport_size(PHONES[0])
        # the newest message still in view after the screen changed
        page.wait_for_function("(c => c.scrollHeight - c.scrollTop - c.clientHeight < 24)"
                               "(document.querySelector('#chat'))", timeout=2_000)
        screenshot(page, "simulator-phone")
        open_tools(page)  # what no longer fits in the header is one tap away
        for selector in ("#follow", "#unfollow", "#sticker", "#newuser"):
            assert inside_viewport(page, selector), selector
        screenshot(page, "simulator-phone-tools")
        page.click("#chat")  # a tap elsewhere closes the menu
        page.wait_for_selector("#follow", state="hidden")
        page.select_option("#user", label="山田 花子")
        open_tools(page)
        page.click("#sticker")
        page.wait_for_selector("text=スタンプありがとうございます", timeout=10_000)
        assert not page.locator("#follow").is_visible()  # the menu closes after a choice


def test_the_follow_status_is_the_users_own(database_url: str, sessions: Any) -> None:
    from playwright.sync_api import expect

    with simulator(database_url, sessions, "山田 花子") as page:
        page.set_viewport_size(PHONES[0])
        chosen = page.locator("#user option:checked")
        expect(chosen).to_have_text("山田 花子")
        page.once("dialog", lambda dialog: dialog.accept("港 太郎"))
        open_tools(page)
        page.click("#newuser")
        page.wait_for_selector("text=港 太郎さん、友だち追加ありがとうございます", timeout=10_000)
        expect(chosen).to_have_text("港 太郎", timeout=5_000)  # followed: no 「（未フォロー/ブロック）」
        expect(page.locator("#status")).to_be_hidden()
        open_tools(page)
        page.click("#unfollow")
        expect(chosen).to_have_text("港 太郎（未フォロー/ブロック）", timeout=10_000)
        expect(page.locator("#status")).to_contain_text("未フォロー/ブロック中です")
        screenshot(page, "simulator-phone-blocked")
        page.select_option("#user", label="山田 花子")  # the notice is about the user chosen
        expect(page.locator("#status")).to_be_hidden()
        page.select_option("#user", label="港 太郎（未フォロー/ブロック）")
        expect(page.locator("#status")).to_be_visible()
        open_tools(page)
        page.click("#follow")
        page.wait_for_selector("text=港 太郎さん、おかえりなさい", timeout=10_000)
        expect(chosen).to_have_text("港 太郎", timeout=5_000)
        expect(page.locator("#status")).to_be_hidden()


def test_after_a_reload_a_tapped_button_shows_what_it_said(database_url: str, sessions: Any) -> None:
    with simulator(database_url, sessions, "港 はるこ（委員）") as page:
        page.click(".card button:has-text('回答をはじめる')")
        page.wait_for_selector("text=（1/8）区政会議で", timeout=10_000)
        page.click("#quick button:has-text('どちらかといえばそう思う')")
        page.wait_for_selector("text=（2/8）", timeout=10_000)
        page.click("#quick button:has-text('中断')")
        page.wait_for_selector("text=中断しました", timeout=10_000)
        taps = ["回答をはじめる", "どちらかといえばそう思う", "中断"]
        assert page.locator(".row.user .bubble").all_inner_texts() == taps
        page.reload()
        page.wait_for_selector("#user option", state="attached")
        page.select_option("#user", label="港 はるこ（委員）")
        page.wait_for_selector("text=中断しました", timeout=10_000)
        bubbles = page.locator(".row.user .bubble").all_inner_texts()
        assert not [b for b in bubbles if "v=1&a=" in b], bubbles
        assert bubbles == taps
        page.set_viewport_size(PHONES[0])
        screenshot(page, "simulator-phone-reloaded")


def meeting_cards(page: Any, title: str) -> Any:
    """Every card in the chat for the meeting of this title, oldest first."""
    return page.locator(".row.bot .card", has=page.locator(".title", has_text=title))


def test_a_member_answers_attendance_on_the_meeting_cards_and_changes_it(database_url: str, sessions: Any) -> None:
    """Issue #16: 会議・資料 shows the member's coming meetings as cards whose 出席 / 欠席 buttons stay on the
    message (quick replies would be gone after the first tap), so an answer can be changed on the same card; a
    typed 出席します asks which meeting when there are several."""
    from playwright.sync_api import expect

    with simulator(database_url, sessions, "港 はるこ（委員）") as page:
        page.set_viewport_size(PHONES[0])
        page.fill("#text", "会議・資料")
        page.click("form#composer button")
        page.wait_for_selector("text=これからの会議です", timeout=10_000)
        # the demo places its meetings in the coming weeks: the member's 部会, then the 全体会議
        subcommittee, plenary = meeting_cards(page, "まちづくり部会"), meeting_cards(page, "区政会議 全体会議")
        expect(subcommittee).to_have_count(1, timeout=10_000)
        expect(plenary).to_have_count(1)
        card = subcommittee.first
        expect(card).to_contain_text("港区役所 5階 会議室")
        expect(card).to_contain_text("出欠: まだ 伝えていません")
        attend, absent = (card.get_by_role("button", name=name, exact=True) for name in ("出席", "欠席"))
        expect(attend).to_be_visible()
        expect(absent).to_be_visible()
        expect(card.get_by_role("button", name="資料を確認しました", exact=True)).to_be_visible()  # it has documents
        # on the card, not as quick replies under the chat
        expect(page.locator("#quick button", has_text="出席")).to_have_count(0)
        expect(page.locator("#quick button", has_text="欠席")).to_have_count(0)
        for selector in ("#text", "form#composer button"):
            assert inside_viewport(page, selector), selector
        assert (attend.bounding_box() or {}).get("height", 0) >= 32, "a button too small to tap on a phone"
        screenshot(page, "simulator-phone-meetings")

        attend.click()
        page.wait_for_selector("text=「まちづくり部会」出席で受け付けました", timeout=10_000)
        # the same card, from the same message, still has its buttons: the answer can be changed there
        expect(subcommittee).to_have_count(1)
        expect(absent).to_be_visible()
        absent.click()
        page.wait_for_selector("text=「まちづくり部会」欠席で受け付けました", timeout=10_000)
        assert page.locator(".row.user .bubble").all_inner_texts() == ["会議・資料", "出席: まちづくり部会",
                                                                       "欠席: まちづくり部会"]
        screenshot(page, "simulator-phone-meetings-changed")

        page.fill("#text", "会議・資料")
        page.click("form#composer button")
        expect(subcommittee).to_have_count(2, timeout=10_000)
        fresh = subcommittee.last
        expect(fresh).to_contain_text("出欠: 欠席で受け付けています")
        expect(fresh.get_by_role("button", name="✓欠席", exact=True)).to_be_visible()
        expect(fresh.get_by_role("button", name="出席", exact=True)).to_be_visible()  # not ticked
        expect(plenary.last).to_contain_text("出欠: まだ 伝えていません")
        screenshot(page, "simulator-phone-meetings-again")

        # typed: the demo's member has two coming meetings, so the bot asks which one, the meetings as buttons
        page.fill("#text", "出席します")
        page.click("form#composer button")
        page.wait_for_selector(".row.bot .bubble:has-text('どの会議ですか？')", timeout=10_000)
        choices = page.locator("#quick button")
        expect(choices).to_have_count(2)
        labels = choices.all_inner_texts()
        assert "まちづくり部会" in labels[0] and "区政会議 全体会議" in labels[1], labels  # soonest first
        screenshot(page, "simulator-phone-meetings-which")
        page.click("#quick button:has-text('全体会議')")
        page.wait_for_selector("text=「区政会議 全体会議」出席で受け付けました", timeout=10_000)
        assert page.locator(".row.user .bubble").last.inner_text() == "出席: 区政会議 全体会議"
        page.fill("#text", "会議・資料")
        page.click("form#composer button")
        expect(plenary).to_have_count(3, timeout=10_000)
        expect(plenary.last).to_contain_text("出欠: 出席で受け付けています")
        expect(plenary.last.get_by_role("button", name="✓出席", exact=True)).to_be_visible()
        expect(subcommittee.last).to_contain_text("出欠: 欠席で受け付けています")  # the other answer kept
        screenshot(page, "simulator-phone-meetings-typed")

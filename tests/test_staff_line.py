"""A staff member links their own LINE account for test sends (issue #15, point 12): the console's 「自分のLINE」
page (any role) issues a one-time code S-482913 (30 minutes, once, a new one voids the one before, only its hash
stored), the clerk sends it to the bot, the bot links that LINE and says so; wrong, expired, replaced and used
codes get plain answers, and wrong ones count towards the members' lock-out. A staff code is never taken for a
member's link code, nor the other way round. The broadcast page's test send goes to the clerk's own LINE and,
without one, says how to link it; an admin can unlink anyone's.

Over HTTP with the real line-bot-sdk against the fake LINE server, then in Chromium (phone and desktop; screenshots
in test-artifacts/screenshots/)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
import segno
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import clock
from db.models import AuditEntry, LinkCode, StaffAccount, StaffLineCode
from members import service as members
from staff import service as staff_service
from tests.helpers import (
    PASSWORD,
    Bot,
    Phone,
    browser_page,
    link_member,
    logged_in,
    login,
    make_settings,
    make_staff,
    new_user_id,
    screenshot,
    served,
    texts,
    wait_for,
)

FRIEND_URL = "https://line.me/R/ti/p/@minato-test"
CODE = re.compile(r'<p class="code" id="code">(S-[0-9]{6})</p>')
LINKED = "職員 港 花子さんのLINEを登録しました。"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def shown_code(client: Any) -> str | None:
    found = CODE.search(client.get("/console/staff/me").text)
    return found.group(1) if found else None


def issue(client: Any, csrf: str) -> str:
    response = client.post("/console/staff/me/code", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/staff/me?notice=line_code"
    code = shown_code(client)
    assert code is not None
    return code


def account(sessions: Any, name: str = "港 花子") -> StaffAccount:
    with sessions() as session:
        return session.scalars(select(StaffAccount).where(StaffAccount.name == name)).one()


def actions(sessions: Any) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(e.action, e.actor) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                if e.action.startswith("staff.")]


def draft(client: Any, csrf: str) -> str:
    created = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "テスト", "audience": "all", "type0": "text", "text0": "本番前の確認"},
        follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


# --------------------------------------------------------------------------- the codes' shape


def test_a_staff_code_reads_in_every_way_a_phone_types_it_and_is_no_member_code() -> None:
    for typed in ("S-482913", "s482913", "Ｓ－４８２９１３", " s 482 913 ", "S-482-913", "職員 S-482913", "S ー482913"):
        assert staff_service.looks_like_staff_code(typed) == "482913", typed
        assert members.looks_like_code(typed) is None, typed
    for typed in ("482913", "S-48291", "S-4829134", "SS-482913", "S-48291A", "AB3D-EF7H", "S234-5678"):
        assert staff_service.looks_like_staff_code(typed) is None, typed


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="S0123456789ABCDEFGHJKMNPQRSTUVWXYZ-ー ｓ２", min_size=1, max_size=12))
def test_no_text_is_both_a_staff_code_and_a_member_code(typed: str) -> None:
    assert staff_service.looks_like_staff_code(typed) is None or members.looks_like_code(typed) is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=members.CODE_ALPHABET, min_size=8, max_size=8))
def test_a_member_code_is_never_taken_for_a_staff_code(code: str) -> None:
    for shown in (code, members.format_code(code), members.format_code(code).lower()):
        assert staff_service.looks_like_staff_code(shown) is None


# --------------------------------------------------------------------------- over HTTP


def test_a_clerk_links_their_own_line_by_sending_the_code_to_the_bot(app_factory: Any, sessions: Any,
                                                                      line: Any) -> None:
    client = app_factory(line_add_friend_url=FRIEND_URL)
    csrf = logged_in(client, sessions)  # an editor: not an admin
    page = client.get("/console/staff/me").text
    assert "まだ登録していません" in page and "自分のLINEを登録する" in page and CODE.search(page) is None
    code = issue(client, csrf)
    page = client.get("/console/staff/me").text
    assert "このコードをLINEでボットに送ってください" in page and "30分" in page
    assert f"「{LINKED}」と届けば完了です" in page
    drawn = re.search(r'<svg[^>]*class="qr".*?</svg>', page, re.S)
    assert drawn and FRIEND_URL in page  # the bot's friend-add QR code and link
    assert re.search(r' d="([^"]+)"', drawn.group(0)).group(1) == re.search(  # type: ignore[union-attr]
        r' d="([^"]+)"', segno.make(FRIEND_URL, error="m").svg_inline()).group(1)  # type: ignore[union-attr]
    for _ in range(3):  # reloading shows the same code: it issues nothing
        assert shown_code(client) == code
    digits = code.removeprefix("S-")
    with sessions() as session:
        [row] = session.scalars(select(StaffLineCode)).all()
        assert digits not in f"{row.code_hash} {row.sealed}"  # only a hash, and the code sealed
        assert row.expires_at - row.created_at == dt.timedelta(minutes=30)
    other = app_factory()  # the same clerk in another browser: the code is not shown there
    login(other)
    assert CODE.search(other.get("/console/staff/me").text) is None

    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "はなこ", "language": "ja"}
    phone = Phone(Bot(client, sessions), line, user_id)
    phone.follow()
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    answer = texts(phone.say(f"ｓ　{digits[:3]} {digits[3:]}".translate(wide)))  # full width, lower case, spaces
    assert answer == LINKED + "\n管理画面の「テスト送信」が このLINEに届きます。"
    assert "もう登録してあります" in texts(phone.say(code))  # sent twice: it worked the first time

    page = client.get("/console/staff/me").text
    assert "登録済み: はなこ" in page and "登録を解除する" in page and CODE.search(page) is None
    assert client.get("/console/staff/me/line.json").json()["user"] is not None
    assert [a for a, _ in actions(sessions)] == ["staff.create", "staff.line_code", "staff.line_link"]
    assert actions(sessions)[2][1].startswith("LINE はなこ (")  # the bot linked it, for that LINE user

    url = draft(client, csrf)  # the test send goes to that LINE
    preview = client.get(url).text
    assert "自分のLINEにテスト送信" in preview and "テスト送信の送り先: はなこ" in preview
    assert client.post(url + "/test", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    wait_for(lambda: [m.get("text") for m in line.messages_to(user_id)] == ["【テスト送信】テスト", "本番前の確認"],
             10, "the test push")

    unlinked = client.post("/console/staff/me/unlink", data={"csrf": csrf}, follow_redirects=False)
    assert unlinked.headers["location"] == "/console/staff/me?notice=line_unlinked"
    assert account(sessions).user_id is None and "まだ登録していません" in client.get("/console/staff/me").text
    assert actions(sessions)[-1] == ("staff.line_unlink", "港 花子")


def test_wrong_replaced_expired_and_used_codes_get_plain_answers(app_factory: Any, sessions: Any,
                                                                 line: Any) -> None:
    start = dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.JST)
    with time_machine.travel(start, tick=True) as traveller:
        client = app_factory()
        csrf = logged_in(client, sessions)
        bot = Bot(client, sessions)
        phone = Phone(bot, line, new_user_id())
        phone.follow()
        first = issue(client, csrf)
        wrong = "S-" + str((int(first[2:]) + 1) % 1_000_000).zfill(6)
        assert "職員用のコードがちがうようです" in texts(phone.say(wrong))
        second = issue(client, csrf)  # a new code voids the one before
        assert shown_code(client) == second
        assert "あとから新しいコードを出したため使えません" in texts(phone.say(first))
        traveller.move_to(start + dt.timedelta(minutes=31))
        assert shown_code(client) is None  # the page no longer shows an expired code
        assert "期限が切れています（30分）" in texts(phone.say(second))
        assert account(sessions).user_id is None
        third = issue(client, csrf)
        assert LINKED in texts(phone.say(third))
        other = Phone(bot, line, new_user_id())
        other.follow()
        assert "もう使われています" in texts(other.say(third))  # someone else, with the same code
        with sessions() as session:
            linked_to = session.get(StaffAccount, account(sessions).id).user_id
        assert linked_to is not None and account(sessions).user_id == linked_to  # it stayed with the first phone

        # wrong codes of either kind count towards one lock-out: five in ten minutes
        guesser = Phone(bot, line, new_user_id())
        guesser.follow()
        fourth = issue(client, csrf)
        for guess in [g for g in (f"S-{n:06d}" for n in range(100, 110)) if g != fourth][:4]:
            assert "職員用のコードがちがうようです" in texts(guesser.say(guess))
        assert "登録コードがちがうようです" in texts(guesser.say("ZZ2Z-ZZ3Z"))  # a wrong member code: the fifth
        assert "しばらく登録できません" in texts(guesser.say(fourth))  # even the right code, for a while
        assert account(sessions).user_id == linked_to
        traveller.move_to(start + dt.timedelta(minutes=45))
        assert LINKED in texts(guesser.say(fourth))  # ten minutes later it works


def test_a_member_code_still_links_a_member_who_may_be_a_clerk_too(
        app_factory: Any, sessions: Any, line: Any) -> None:
    client = app_factory()
    csrf = logged_in(client, sessions)
    bot = Bot(client, sessions)
    phone, _member_id = link_member(bot, line, "築港 太郎", "まちづくり部会")  # a member's code links as before
    code = issue(client, csrf)
    assert LINKED in texts(phone.say(code))  # a clerk who is also a member
    with sessions() as session:
        assert session.scalars(select(LinkCode)).one().used_at is not None


def test_without_a_linked_line_the_test_send_says_how_to_link_one(app_factory: Any, sessions: Any,
                                                                  line: Any) -> None:
    client = app_factory()
    csrf = logged_in(client, sessions)
    url = draft(client, csrf)
    preview = client.get(url).text
    assert "自分のLINEにテスト送信</button>" not in preview
    assert re.search(r'テスト送信するには、先に<a href="/console/staff/me">自分のLINEを登録</a>してください', preview)
    refused = client.post(url + "/test", data={"csrf": csrf})
    assert refused.status_code == 409
    assert ("テスト送信先のLINEが登録されていません。「自分のLINE」でコードを出し、LINEでボットに送って"
            "登録してください") in refused.text
    assert 'href="/console/staff/me"' in refused.text
    assert line.sent("push") == []


def test_every_role_links_their_own_and_an_admin_unlinks_anyones(app_factory: Any, sessions: Any,
                                                                 line: Any) -> None:
    viewer = app_factory()
    csrf = logged_in(viewer, sessions, role="viewer", name="閲覧 次郎")
    code = issue(viewer, csrf)
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "えつらん", "language": "ja"}
    phone = Phone(Bot(viewer, sessions), line, user_id)
    phone.follow()
    assert "職員 閲覧 次郎さんのLINEを登録しました" in texts(phone.say(code))
    assert account(sessions, "閲覧 次郎").user_id is not None
    assert viewer.get("/console/staff").status_code == 403  # the list of accounts stays the admins'

    admin = app_factory()
    admin_csrf = logged_in(admin, sessions, role="admin", name="管理 者")
    page = admin.get("/console/staff").text
    assert "えつらん" in page and "登録を解除" in page and 'name="line_user_id"' not in page  # no raw ID to type
    assert "未登録" in page  # the admin's own row
    target = account(sessions, "閲覧 次郎")
    done = admin.post(f"/console/staff/{target.id}", data={"csrf": admin_csrf, "action": "unlink"},
                      follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console/staff?notice=unlinked"
    assert account(sessions, "閲覧 次郎").user_id is None
    assert actions(sessions)[-1] == ("staff.line_unlink", "管理 者")
    assert "えつらん" not in admin.get("/console/staff").text


# --------------------------------------------------------------------------- in the browser


def _bot(base: str, sessions: Any) -> Bot:
    return Bot(httpx.Client(base_url=base, timeout=10), sessions)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")])
def test_browser_a_clerk_links_their_line_and_the_page_follows(database_url: str, sessions: Any, line: Any,
                                                                size: dict[str, int]) -> None:
    make_staff(sessions)
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "はなこ", "language": "ja"}
    settings = make_settings(database_url, line, line_add_friend_url=FRIEND_URL, quiet_hours_start=0,
                             quiet_hours_end=0)
    width = size["width"]
    with served(settings) as base, browser_page() as page:
        page.set_viewport_size(size)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(base + "/console/login")
        page.fill("input[name=name]", "港 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('ダッシュボード')")
        # a draft: its page says there is no LINE to test with, and where to link one
        page.goto(base + "/console/broadcasts/new")
        page.fill("input[name=title]", "区民まつりのお知らせ")
        page.check("input[name=audience][value=residents]")
        page.fill("textarea[name=text0]", "あすの区民まつりは予定どおり開きます。")
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector("#test-line")
        assert page.locator("button:has-text('自分のLINEにテスト送信')").count() == 0
        draft_url = page.url
        screenshot(page, f"staff-line-none-{width}")
        page.click("#test-line a:has-text('自分のLINEを登録')")
        page.wait_for_selector("h1:has-text('自分のLINE')")
        assert page.is_visible("text=まだ登録していません。")
        page.click("button:has-text('自分のLINEを登録する')")
        page.wait_for_selector("#line-code")
        code = page.inner_text("#code")
        assert re.fullmatch(r"S-[0-9]{6}", code)
        assert page.is_visible("text=このコードをLINEでボットに送ってください")
        assert page.locator("#line-code svg.qr").count() == 1 and page.is_visible(f"a[href='{FRIEND_URL}']")
        screenshot(page, f"staff-line-code-{width}")
        page.reload()
        assert page.inner_text("#code") == code  # a reload shows the same code

        phone = Phone(_bot(base, sessions), line, user_id)
        phone.follow()
        assert LINKED in texts(phone.say(code))
        page.wait_for_selector("#linked:has-text('登録済み: はなこ')", timeout=10_000)  # without a reload
        assert page.is_visible("text=LINEを登録しました。テスト送信は このLINEに届きます。")
        screenshot(page, f"staff-line-linked-{width}")

        page.goto(draft_url)
        page.wait_for_selector("#test-line:has-text('テスト送信の送り先: はなこ')")
        page.click("button:has-text('自分のLINEにテスト送信')")
        page.wait_for_selector("text=テスト送信しました。LINEで確認してください。")
        wait_for(lambda: [m.get("text") for m in line.messages_to(user_id)][-2:] == [
            "【テスト送信】区民まつりのお知らせ", "あすの区民まつりは予定どおり開きます。"], 10, "the test push")
        screenshot(page, f"staff-line-tested-{width}")

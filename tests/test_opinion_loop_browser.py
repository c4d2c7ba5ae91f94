"""The opinion loop in headless Chromium: a resident's opinion sent by webhook; staff assign it, mark it 公開, write
an internal memo, are refused 対応困難 without a reason, answer it (the push quotes the resident's message); the
resident taps まあ十分 and the inbox's figure changes without a reload; the public page shows the opinion and its
answer, never the memo, also printed; and staff enter an opinion said at a meeting. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
from sqlalchemy import select

from bot import clock, webhook_events
from db.models import Department, Event, Opinion, User
from main import create_app
from staff import service as staff_service
from tests.helpers import SECRET, browser_page, make_settings, screenshot, serve, wait_for, work

PASSWORD = "minato-council-2026"
RESIDENT = "U" + "e" * 32
MEMO = "内部メモ：担当者の私見ZQX"


def seed(sessions: Any) -> int:
    starts = clock.now() - dt.timedelta(days=2)
    with work(sessions) as unit:
        session = unit.session
        event = Event(title="区政会議 全体会議（12月）", kind="plenary", visibility="members", starts_at=starts,
                      ends_at=starts + dt.timedelta(hours=2))
        session.add_all([event, Department(name="協働まちづくり課"), Department(name="総務課")])
        staff_service.create(unit, name="区役所 花子", password=PASSWORD, role="editor")
        session.flush()
        return event.id


def post(base: str, *events: dict[str, Any]) -> None:
    raw, headers = webhook_events.signed(SECRET, *events)
    assert httpx.post(base + "/callback", content=raw, headers=headers).status_code == 200


def resident_sends(base: str, sessions: Any, body: str) -> str:
    """The resident types an opinion straight in, sends it as そのほか without a name; returns its quoteToken."""
    post(base, webhook_events.follow(RESIDENT))
    token = ""
    for word in (body, "送る", "そのほか", "名前なしで送る"):
        time.sleep(0.005)  # LINE's timestamps: one after the other (a user's events are handled in their order)
        event = webhook_events.text_message(RESIDENT, word)
        token = token or str(event["message"]["quoteToken"])
        post(base, event)

    def stored() -> bool:
        with sessions() as session:
            return session.scalars(select(Opinion)).first() is not None
    wait_for(stored, 15, "the resident's opinion")
    return token


def test_staff_close_the_loop_in_the_browser(database_url: str, sessions: Any, line: Any) -> None:
    meeting_id = seed(sessions)
    app = create_app(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0))
    with serve(app) as base, browser_page() as page:
        token = resident_sends(base, sessions, "八幡屋公園に 日かげを ふやしてください")
        with sessions() as session:
            opinion = session.scalars(select(Opinion)).one()
            assert opinion.quote_token == token

        page.goto(base + "/console/opinions")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('ご意見')")
        assert page.inner_text("[data-figure='overall.share_answered']") == "0.0%"
        assert page.inner_text("[data-figure='overall.share_satisfied']") == "—"
        assert "目標（H31）" in page.inner_text("#figures")

        # assign, due date, meeting, 公開 and a memo; 対応困難 without a reason is refused next to the field
        page.click("text=八幡屋公園に 日かげを ふやしてください")
        page.select_option("select[name=department_id]", label="協働まちづくり課")
        page.fill("input[name=due_on]", "2030-01-31")
        page.select_option("select[name=event_id]", str(meeting_id))
        page.check("input[name=public]")
        page.fill("textarea[name=memo]", MEMO)
        page.click("#manage button:has-text('保存')")
        page.wait_for_selector("text=保存しました。")
        page.select_option("select[name=status]", "difficult")
        page.click("#manage button:has-text('保存')")
        page.wait_for_selector("#error-reason")
        assert "理由を入れてください" in page.inner_text("#error-reason")
        screenshot(page, "console-opinion-manage")
        with sessions() as session:
            opinion = session.get(Opinion, opinion.id)
            assert opinion.status == "unread" and opinion.public and opinion.memo == MEMO
            department = session.get(Department, opinion.department_id)
            assert department is not None and department.name == "協働まちづくり課"

        # the answer, pushed quoting the resident's own message
        page.goto(base + f"/console/opinions/{opinion.id}")
        page.fill("textarea[name=reply]", "木陰のベンチを 来年度 3基 おきます。")
        page.click("button:has-text('LINEで回答を送る')")
        page.wait_for_selector("text=返信を送りました。")
        push = wait_for(lambda: [r for r in line.sent("push") if r.body["to"] == RESIDENT], 10, "the answer")[0]
        answer, question = push.body["messages"]
        assert answer["quoteToken"] == token and "木陰のベンチ" in answer["text"] and MEMO not in str(push.body)

        # the resident taps まあ十分: the inbox's figures change without a reload
        page.goto(base + "/console/opinions")
        page.wait_for_selector("[data-figure='overall.share_answered']:has-text('100.0%')")
        data = next(a["data"] for a in question["template"]["actions"] if a["label"] == "まあ十分")
        post(base, webhook_events.postback(RESIDENT, data))
        page.wait_for_selector("[data-figure='overall.share_satisfied']:has-text('100.0%')", timeout=15_000)
        assert page.inner_text("[data-figure='met']") == "達成"
        screenshot(page, "console-opinions-figures")

        # the public page: no log-in, the opinion and the answer, never the memo or the 担当課; printable
        public = page.context.browser.new_page(locale="ja-JP")  # type: ignore[union-attr]
        public.goto(base + f"/public/meetings/{meeting_id}/opinions")
        body = public.inner_text("body")
        assert "ご意見と区役所の対応・考え方" in body and "八幡屋公園に 日かげを ふやしてください" in body
        assert "木陰のベンチを 来年度 3基 おきます。" in body and "回答済" in body
        assert MEMO not in public.content() and "協働まちづくり課" not in body
        screenshot(public, "public-opinions")
        public.emulate_media(media="print")
        assert public.evaluate("getComputedStyle(document.querySelector('th')).borderTopColor") == "rgb(0, 0, 0)"
        screenshot(public, "public-opinions-print")
        public.close()

        # an opinion said at the meeting, entered by staff
        page.goto(base + "/console/opinions")
        page.click("text=ご意見を入力する")
        page.check("input[name=source][value=meeting]")
        page.fill("textarea[name=text]", "次回は 資料を 大きな字で")
        page.select_option("select[name=event_id]", str(meeting_id))
        page.click("button:has-text('記録する')")
        page.wait_for_selector("text=登録しました。")
        assert "会議で" in page.inner_text("main") and "職員が入力" in page.inner_text("main")
        screenshot(page, "console-opinion-entered")
        with sessions() as session:
            entered = session.scalars(select(Opinion).where(Opinion.source == "meeting")).one()
            assert entered.event_id == meeting_id and entered.user_id is None
            assert session.scalars(select(User).where(User.line_user_id == RESIDENT)).one() is not None

"""The staff console in headless Chromium: log in, create an event, compose a broadcast to a 部会, see the right
count in the preview, confirm, watch the progress reach 100%, read the delivery log, answer an opinion and see the
push arrive at the fake LINE server. Screenshots of the main pages go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import demo
from db.models import Event, Member, Opinion, Subcommittee, User
from main import create_app
from staff import service as staff_service
from tests.helpers import browser_page, make_settings, screenshot, serve, wait_for, work

PASSWORD = "minato-council-2026"
MEMBER_IDS = [f"U{i:032x}" for i in range(1, 4)]
RESIDENT = "U" + "d" * 32


def seed(sessions: Any) -> None:
    with work(sessions) as unit:
        session = unit.session
        demo.load(unit)
        sub = session.scalars(select(Subcommittee).where(Subcommittee.name == "安全・安心部会")).one()
        for i, line_user_id in enumerate(MEMBER_IDS):
            user = User(line_user_id=line_user_id, display_name=f"防災委員{i + 1}")
            session.add(user)
            session.flush()
            session.add(Member(name=f"防災 委員{i + 1}", subcommittee_id=sub.id, user_id=user.id))
        resident = User(line_user_id=RESIDENT, display_name="港 みなみ")
        session.add(resident)
        session.flush()
        session.add(Opinion(user_id=resident.id, category="まちの魅力", text="天保山の夜景をもっと紹介してほしいです"))
        staff_service.create(unit, name="区役所 花子", password=PASSWORD, role="editor")


def test_staff_run_a_day_in_the_console(database_url: str, sessions: Any, line: Any) -> None:
    seed(sessions)
    app = create_app(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0))
    with serve(app) as base, browser_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())  # the 「送信しますか？」 confirmations

        page.goto(base + "/console/broadcasts")  # not logged in: to the log-in page, and back after it
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", "wrong password")
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("text=名前またはパスワードが違います")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('配信')")
        page.click("nav >> text=ダッシュボード")
        page.wait_for_selector("text=今月の残りメッセージ数")
        screenshot(page, "console-dashboard")

        # an event
        page.click("nav >> text=イベント")
        page.click("text=イベントを登録")
        page.fill("input[name=title]", "みなと冬のあかり展")
        page.select_option("select[name=kind]", "festival")
        page.fill("input[name=starts_at]", "2030-10-06T10:00")
        page.fill("input[name=ends_at]", "2030-10-06T16:00")
        page.fill("input[name=venue]", "八幡屋公園")
        page.fill("input[name=keywords]", "あかりてん, 冬のあかり")
        page.click("button:has-text('保存')")
        page.wait_for_selector("text=登録しました。")
        screenshot(page, "console-event")
        with sessions() as session:
            event = session.scalars(select(Event).where(Event.title == "みなと冬のあかり展")).one()
            assert event.venue == "八幡屋公園" and event.keywords == ["あかりてん", "冬のあかり"]

        # a broadcast to one 部会: text and the event card
        page.click("nav >> text=配信")
        page.click("text=新しい配信をつくる")
        page.fill("input[name=title]", "安全・安心部会へのお知らせ")
        page.check("input[name=audience][value=subcommittees]")
        page.check("input[name=subcommittee][value='安全・安心部会']")
        page.select_option("select[name=type0]", "text")
        page.fill("textarea[name=text0]", "次回の部会は12月10日(木) 18:30からです。")
        assert page.is_hidden("select[name=event0]")  # only the chosen type's fields show
        page.select_option("select[name=type1]", "event")
        page.select_option("select[name=event1]", str(event.id))
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector("#recipient-count")
        assert page.inner_text("#recipient-count") == "3"
        assert "次回の部会は12月10日(木) 18:30からです。" in page.inner_text(".phone")
        assert "みなと冬のあかり展" in page.inner_text(".phone")
        screenshot(page, "console-broadcast-preview")
        page.click("button.send")
        page.wait_for_selector("[data-field=label]:has-text('完了')", timeout=20_000)
        assert page.inner_text("[data-field=percent]") == "100"
        assert page.get_attribute("#progress-bar", "value") == "100"
        screenshot(page, "console-broadcast-progress")
        page.click("text=送信記録（1人ずつ）")
        page.wait_for_selector("h1:has-text('送信記録')")
        assert page.locator("td.st-sent").count() == 3
        screenshot(page, "console-broadcast-log")
        sent = line.sent("multicast")
        assert len(sent) == 1 and sorted(sent[0].body["to"]) == MEMBER_IDS
        assert sent[0].body["messages"][1]["type"] == "flex"

        # an opinion, answered
        page.click("nav >> text=ご意見")
        page.click("text=天保山の夜景をもっと紹介してほしいです")
        page.fill("textarea[name=reply]", "ご意見ありがとうございます。区の広報紙で特集します。")
        page.click("button:has-text('LINEで回答を送る')")
        page.wait_for_selector("text=返信を送りました。")
        screenshot(page, "console-opinion")
        pushed = wait_for(lambda: line.messages_to(RESIDENT), 10, "the reply to reach LINE")
        assert "区の広報紙で特集します。" in pushed[0]["text"]

        # the survey results page of the demo survey
        page.click("nav >> text=アンケート")
        page.click("text=区政会議に関するアンケート（デモ）")
        page.wait_for_selector("text=成果指標と目標")
        screenshot(page, "console-survey")

"""Members and 部会 in the console, over HTTP and in headless Chromium (phone, tablet and desktop sizes): 部会 are
chosen from a list (a typo cannot make one), renamed, merged and retired; members are edited and retired; a sheet
(.xlsx made with openpyxl, a cp932 CSV) is previewed and then imported; link codes are issued by one action and
their sheet, reloaded and printed, issues nothing (the printed code still links in the bot), with the bot's
friend-add QR code. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import httpx
import openpyxl
import pytest
import segno
from sqlalchemy import func, select

import demo
from db.models import AuditEntry, LinkCode, LinkCodeSheet, Member, Subcommittee
from main import create_app
from staff import service as staff_service
from tests.fakeline.server import FakeLine
from tests.helpers import (
    PASSWORD,
    Bot,
    Phone,
    browser_page,
    logged_in,
    login,
    make_settings,
    new_user_id,
    screenshot,
    serve,
    texts,
    work,
)

FRIEND_URL = "https://line.me/R/ti/p/@minato-test"
PHONE, TABLET, DESKTOP = {"width": 390, "height": 844}, {"width": 820, "height": 1180}, {"width": 1280, "height": 900}


def seed(sessions: Any) -> None:
    """The demo data: 3 部会 (まちづくり部会, 子育て・健康部会, 安全・安心部会) and 6 members."""
    with work(sessions) as unit:
        demo.load(unit)


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def member_named(sessions: Any, name: str) -> Member:
    with sessions() as session:
        return session.scalars(select(Member).where(Member.name == name)).one()


def subcommittee_names(sessions: Any) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Subcommittee.name).order_by(Subcommittee.id)))


# --------------------------------------------------------------------------- over HTTP


def test_the_member_form_offers_the_list_and_a_typo_makes_no_subcommittee(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    page = client.get("/console/members").text
    assert '<select name="subcommittee">' in page and 'list="subcommittees"' not in page  # no free text
    for name in ("まちづくり部会", "子育て・健康部会", "安全・安心部会"):
        assert f'<option value="{name}" >{name}</option>' in page
    typo = client.post("/console/members", data={"csrf": csrf, "name": "港 新", "subcommittee": "子育て健康部会"})
    assert typo.status_code == 422
    assert "「子育て健康部会」という部会はありません（「子育て・健康部会」のことですか？）" in typo.text
    assert 'value="港 新"' in typo.text  # what was typed is kept
    assert subcommittee_names(sessions) == ["まちづくり部会", "子育て・健康部会", "安全・安心部会"]
    created = client.post("/console/members", data={
        "csrf": csrf, "name": "港 新", "subcommittee": "子育て・健康部会", "term_end": "2027-03-31",
        "phone": "06-1234-5678", "email": "", "contact_method": "phone"})
    assert created.status_code == 200 and "登録しました。" in created.text
    assert "2027年3月31日" in created.text and "2027-03-31" not in created.text.split('<table class="stack">')[1]
    assert member_named(sessions, "港 新").contact_method == "phone"


def test_subcommittees_are_created_renamed_merged_and_retired_in_the_console(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    near = client.post("/console/members/subcommittees", data={"csrf": csrf, "name": "子育て 健康部会"})
    assert near.status_code == 422 and "「子育て・健康部会」と同じ部会に見えます" in near.text
    client.post("/console/members/subcommittees", data={"csrf": csrf, "name": "防災部会"})
    with sessions() as session:
        ids = dict(session.execute(select(Subcommittee.name, Subcommittee.id)).all())
    page = client.post(f"/console/members/subcommittees/{ids['防災部会']}/rename",
                       data={"csrf": csrf, "name": "防災・減災部会"})
    assert "部会名を変えました。" in page.text and "防災・減災部会" in page.text
    refused = client.post(f"/console/members/subcommittees/{ids['安全・安心部会']}/retire", data={"csrf": csrf})
    assert refused.status_code == 422 and "まだ委員が1人います" in refused.text
    # the list offers 廃止する only where it can be done, and never preselects a merge target
    card = page.text.split(f'id="subcommittee-{ids["安全・安心部会"]}"')[1].split("</section>")[0]
    assert "廃止する</button>" not in card and "廃止できるのは 委員がいない部会だけです（いま 1人" in card
    assert '<option value="" selected disabled>えらんでください</option>' in card
    assert "廃止する</button>" in page.text.split(f'id="subcommittee-{ids["防災部会"]}"')[1].split("</section>")[0]
    unchosen = client.post(f"/console/members/subcommittees/{ids['安全・安心部会']}/merge", data={"csrf": csrf})
    assert unchosen.status_code == 422 and member_named(sessions, "市岡 五月").subcommittee_id == ids["安全・安心部会"]
    client.post(f"/console/members/subcommittees/{ids['安全・安心部会']}/merge",
                data={"csrf": csrf, "into": "まちづくり部会"})
    assert member_named(sessions, "市岡 五月").subcommittee_id == ids["まちづくり部会"]
    retired = client.post(f"/console/members/subcommittees/{ids['防災部会']}/retire", data={"csrf": csrf})
    assert "部会を廃止しました。" in retired.text
    assert subcommittee_names(sessions) == ["まちづくり部会", "子育て・健康部会", "防災・減災部会"]
    form = client.get("/console/members").text
    assert "防災・減災部会" not in form  # a retired 部会 is not offered for a new member ...
    assert "防災・減災部会" not in client.get("/console/broadcasts/new").text  # ... nor for an audience
    client.post(f"/console/members/subcommittees/{ids['防災部会']}/restore", data={"csrf": csrf})
    assert "防災・減災部会" in client.get("/console/members").text
    with sessions() as session:
        actions = [a for a, in session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("subcommittee.%")).order_by(AuditEntry.id))]
    assert actions[-5:] == ["subcommittee.create", "subcommittee.rename", "subcommittee.merge",
                            "subcommittee.retire", "subcommittee.restore"]


def test_a_member_is_edited_and_retired_in_the_console(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    member = member_named(sessions, "築港 太郎")
    bad = client.post(f"/console/members/{member.id}", data={
        "csrf": csrf, "name": "築港 太郎", "subcommittee": "安全・安心部会", "term_end": "", "phone": "",
        "email": "chikko@", "contact_method": ""})
    assert bad.status_code == 422 and "メールアドレスが正しくありません" in bad.text
    saved = client.post(f"/console/members/{member.id}", data={
        "csrf": csrf, "name": "築港 太郎", "subcommittee": "安全・安心部会", "term_end": "2028-03-31",
        "phone": "０９０－１１１１－２２２２", "email": "chikko@example.jp", "contact_method": "paper"})
    assert "保存しました。" in saved.text and 'value="090-1111-2222"' in saved.text
    changed = member_named(sessions, "築港 太郎")
    assert (changed.term_end, changed.contact_method) == (dt.date(2028, 3, 31), "paper")
    retired = client.post(f"/console/members/{member.id}/retire", data={"csrf": csrf})
    assert "退任にしました。" in retired.text and "退任した委員の情報は変更できません" in retired.text
    listing = client.get("/console/members").text
    retired_part = listing.split("退任した委員")[1]
    assert "築港 太郎" in retired_part and re.search(r"\d{4}年\d{1,2}月\d{1,2}日", retired_part)
    assert not member_named(sessions, "築港 太郎").active


def test_an_xlsx_sheet_is_previewed_then_applied_in_one_go(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    rows = [
        ["港区区政会議 委員名簿"],  # a title row above the headings
        ["氏　名", "ふりがな", "部会", "任期（終了日）", "電話番号", "メールアドレス", "ご希望の連絡方法"],
        ["港 はるこ", "みなと はるこ", "まちづくり部会", dt.datetime(2028, 3, 31), 665761234, None, "LINE"],
        ["波除 六子", "なみよけ むつこ", "子育て健康部会", "令和10年3月31日", "06-6571-0000", "rokko@example.jp", "紙"],
        ["朝潮 七海", "あさしお ななみ", "防災部会", "2028/3/31", None, None, None],
        [None, None, None, None, None, None, None],
        ["弁天 四郎", "べんてん しろう", "子育て・健康部会", None, None, None, "ファクス"],
    ]
    before = client.get("/console/members").text
    preview = client.post("/console/members/import", data={"csrf": csrf},
                          files={"file": ("名簿.xlsx", xlsx(rows), "application/octet-stream")})
    assert preview.status_code == 200
    page = preview.text
    assert "まだ保存していません" in page and "使わない列: ふりがな" in page
    assert "5行目: 部会「防災部会」はありません" in page  # the row number in the file
    assert "7行目: 連絡方法「ファクス」は「LINE」「電話」「紙」のどれかにしてください" in page
    assert "「子育て健康部会」は「子育て・健康部会」として取り込みます" in page
    assert "任期: " in page and "2028年3月31日" in page and "電話: （なし） → 0665761234" in page
    assert "この内容で取り込む" not in page  # errors: nothing can be applied
    assert client.get("/console/members").text.count("<tr>") == before.count("<tr>")  # nothing saved

    rows[4][2], rows[6][6] = "安全・安心部会", "電話"
    preview = client.post("/console/members/import", data={"csrf": csrf},
                          files={"file": ("名簿.xlsx", xlsx(rows), "application/octet-stream")}).text
    assert "新規 <strong>2</strong>人・変更 <strong>2</strong>人" in preview
    sheet = re.search(r'name="sheet" value="([^"]+)"', preview).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', preview).group(1)
    applied = client.post("/console/members/import/apply",
                          data={"csrf": csrf, "sheet": html.unescape(sheet), "digest": digest})
    assert applied.status_code == 200 and "名簿を取り込みました。" in applied.text
    assert member_named(sessions, "港 はるこ").term_end == dt.date(2028, 3, 31)
    assert member_named(sessions, "港 はるこ").phone == "0665761234"
    six = member_named(sessions, "波除 六子")
    assert (six.term_end, six.contact_method, six.email) == (dt.date(2028, 3, 31), "paper", "rokko@example.jp")
    assert member_named(sessions, "弁天 四郎").contact_method == "phone"
    with sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.import")).one()
        assert audit.detail == "名簿の取り込み: 新規2人（波除 六子、朝潮 七海）・変更2人（港 はるこ、弁天 四郎）"
        assert subcommittee_names(sessions) == ["まちづくり部会", "子育て・健康部会", "安全・安心部会"]
    # the same preview applied twice: planning again gives something else, so nothing happens
    again = client.post("/console/members/import/apply",
                        data={"csrf": csrf, "sheet": html.unescape(sheet), "digest": digest})
    assert again.status_code == 409 and "プレビューのあとで委員の情報が変わりました" in again.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member).where(Member.name == "波除 六子")) == 1


def test_a_cp932_csv_with_an_id_column_changes_a_members_subcommittee(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    exported = client.get("/console/members/export.csv")
    assert exported.content.startswith(b"\xef\xbb\xbf") and "ID,氏名,部会,任期" in exported.text
    member = member_named(sessions, "天保山 次郎")
    text = ("ID,氏名,部会,任期,電話,メール,連絡方法\r\n"
            f"{member.id},天保山 次郎,安全・安心部会,2029年3月31日,,,でんわ\r\n"
            ",築港　太郎,まちづくり部会,,06-6576-9625,,\r\n")
    data = text.encode("cp932")  # as Excel in a Japanese office saves it
    preview = client.post("/console/members/import", data={"csrf": csrf},
                          files={"file": ("meibo.csv", data, "text/csv")}).text
    term = f"{member.term_end.year}年3月31日"
    assert "部会: まちづくり部会 → 安全・安心部会" in preview and f"任期: {term} → 2029年3月31日" in preview
    assert "連絡方法: （なし） → 電話" in preview and "電話: （なし） → 06-6576-9625" in preview
    assert "新規 <strong>0</strong>人・変更 <strong>2</strong>人" in preview
    sheet = html.unescape(re.search(r'name="sheet" value="([^"]+)"', preview).group(1))
    digest = re.search(r'name="digest" value="([^"]+)"', preview).group(1)
    client.post("/console/members/import/apply", data={"csrf": csrf, "sheet": sheet, "digest": digest})
    with sessions() as session:
        moved = session.get(Member, member.id)
        assert moved.term_end == dt.date(2029, 3, 31) and moved.contact_method == "phone"
        assert session.get(Subcommittee, moved.subcommittee_id).name == "安全・安心部会"
    assert member_named(sessions, "築港 太郎").phone == "06-6576-9625"  # matched by 氏名 and 部会
    unreadable = client.post("/console/members/import", data={"csrf": csrf},
                             files={"file": ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "application/vnd.ms-excel")})
    assert unreadable.status_code == 422 and "古いExcelの形式（.xls）は読めません" in unreadable.text


def test_the_code_sheet_is_a_page_to_reload_and_print_that_issues_nothing(
        app_factory: Any, sessions: Any, line: FakeLine) -> None:
    client = app_factory(line_add_friend_url=FRIEND_URL)
    seed(sessions)
    csrf = logged_in(client, sessions)
    member = member_named(sessions, "築港 太郎")
    issued = client.post("/console/members/codes", data={"csrf": csrf, "member_id": str(member.id)},
                         follow_redirects=False)
    assert issued.status_code == 303 and issued.headers["location"].startswith("/console/members/codes/")
    sheet_url = issued.headers["location"]
    first = client.get(sheet_url).text
    [code] = re.findall(r'class="code">([A-Z2-9]{4}-[A-Z2-9]{4})<', first)
    for _ in range(3):  # reloading and printing again
        assert re.findall(r'class="code">([A-Z2-9]{4}-[A-Z2-9]{4})<', client.get(sheet_url).text) == [code]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LinkCode)) == 1
        assert code.replace("-", "") not in str(session.scalars(select(LinkCodeSheet.entries)).one())  # sealed
        audit = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "member.codes")).all()
    assert audit == ["1人分のコードを発行: 築港 太郎"]
    assert "「築港 太郎さん、登録できました。」と届けば完了です" in first and "登録しました" not in first
    assert 'class="qr"' in first and FRIEND_URL in first
    drawn = re.search(r'<svg[^>]*class="qr".*?</svg>', first, re.S).group(0)
    assert re.search(r' d="([^"]+)"', drawn).group(1) == re.search(  # the QR code says the friend-add URL
        r' d="([^"]+)"', segno.make(FRIEND_URL, error="m").svg_inline()).group(1)

    phone = Phone(Bot(client, sessions), line, new_user_id())
    phone.follow()
    assert "築港 太郎さん、登録できました" in texts(phone.say(code))  # the printed code links
    assert "使用済みです（登録が済んでいます）" in client.get(sheet_url).text

    other = app_factory(line_add_friend_url=FRIEND_URL)  # another browser (log-in) cannot open the sheet
    login(other)
    assert other.get(sheet_url).status_code == 404
    client.post("/console/logout", data={"csrf": csrf})
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LinkCodeSheet)) == 0  # gone with the log-in


def test_without_a_friend_url_the_sheet_says_to_ask_the_office(client: Any, sessions: Any) -> None:
    seed(sessions)
    csrf = logged_in(client, sessions)
    member = member_named(sessions, "天保山 次郎")
    sheet = client.post("/console/members/codes", data={"csrf": csrf, "member_id": str(member.id)}).text
    assert "友だち追加のQRコードは、区役所にお問い合わせください" in sheet and "<svg" not in sheet
    assert "シミュレーター http://127.0.0.1:8000/simulator" in sheet  # development only


# --------------------------------------------------------------------------- in the browser


def _bot(base: str, sessions: Any) -> Bot:
    return Bot(httpx.Client(base_url=base, timeout=10), sessions)  # type: ignore[arg-type]


def test_staff_manage_members_and_subcommittees_in_the_browser(database_url: str, sessions: Any,
                                                               line: FakeLine) -> None:
    seed(sessions)
    with work(sessions) as unit:
        staff_service.create(unit, name="区役所 花子", password=PASSWORD, role="editor")
        legacy = Subcommittee(name="子育て健康部会")  # made by a typo before the list existed
        unit.session.add(legacy)
        unit.session.flush()
        unit.session.add(Member(name="波除 六子", subcommittee_id=legacy.id))
        legacy_id = legacy.id
    app = create_app(make_settings(database_url, line, line_add_friend_url=FRIEND_URL))
    with serve(app) as base, browser_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())
        page.set_viewport_size(PHONE)
        page.goto(base + "/console/members")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('区政会議の委員')")

        # register: the 部会 is chosen from the list; a typed name cannot be chosen
        options = page.eval_on_selector_all("form[action='/console/members'] select[name=subcommittee] option",
                                            "els => els.map(e => e.value)")
        assert options == ["", "まちづくり部会", "子育て・健康部会", "安全・安心部会", "子育て健康部会"]
        page.fill("input[name=name]", "港 新")
        with pytest.raises(Exception, match="Timeout"):  # no such option: it cannot be chosen, or typed
            page.select_option("form[action='/console/members'] select[name=subcommittee]", "子育て 健康部会",
                               timeout=1000)
        page.select_option("form[action='/console/members'] select[name=subcommittee]", "子育て・健康部会")
        page.fill("input[name=term_end]", "2027-03-31")
        page.select_option("form[action='/console/members'] select[name=contact_method]", "line")
        page.click("form[action='/console/members'] button:has-text('登録')")
        page.wait_for_selector("text=登録しました。")
        assert page.is_visible("td:has-text('2027年3月31日')")
        screenshot(page, "members-list-phone")

        # the 部会 list, on a tablet: the typo 部会 is merged away, a new one is made, renamed and retired
        page.set_viewport_size(TABLET)
        page.click("text=部会の管理")
        page.wait_for_selector("h1:has-text('部会の管理')")
        screenshot(page, "subcommittees-tablet")
        card = page.locator(f"section#subcommittee-{legacy_id}")
        card.locator("select[name=into]").select_option("子育て・健康部会")
        card.locator("button:has-text('この部会を統合する')").click()
        page.wait_for_selector("text=部会を統合しました。")
        assert "子育て健康部会" not in page.inner_text("main")
        page.fill("form[action='/console/members/subcommittees'] input[name=name]", "防災部会")
        page.click("form[action='/console/members/subcommittees'] button:has-text('作る')")
        page.wait_for_selector("h2:has-text('防災部会')")
        card = page.locator("section.card", has=page.locator("h2", has_text="防災部会"))
        card.locator("input[name=name]").fill("防災・減災部会")
        card.locator("button:has-text('名前を変える')").click()
        page.wait_for_selector("text=部会名を変えました。")
        card = page.locator("section.card", has=page.locator("h2", has_text="防災・減災部会"))
        card.locator("button:has-text('廃止する')").click()
        page.wait_for_selector("text=部会を廃止しました。")
        assert card.locator(".badge").inner_text() == "廃止"
        screenshot(page, "subcommittees-after-tablet")
        assert member_named(sessions, "波除 六子").subcommittee_id == member_named(sessions, "港 新").subcommittee_id

        # edit a member, then retire them (desktop)
        page.set_viewport_size(DESKTOP)
        page.goto(base + "/console/members")
        options = page.eval_on_selector_all("form[action='/console/members'] select[name=subcommittee] option",
                                            "els => els.map(e => e.value)")
        assert "防災・減災部会" not in options and "子育て健康部会" not in options
        page.click("a:has-text('築港 太郎')")
        page.wait_for_selector("h1:has-text('築港 太郎')")
        page.select_option("select[name=subcommittee]", "安全・安心部会")
        page.fill("input[name=term_end]", "2028-03-31")
        page.fill("input[name=phone]", "06-6576-9625")
        page.select_option("select[name=contact_method]", "phone")
        page.click("button:has-text('保存')")
        page.wait_for_selector("text=保存しました。")
        screenshot(page, "member-edit-desktop")
        page.click("button:has-text('退任にする')")
        page.wait_for_selector("text=退任にしました。")
        screenshot(page, "member-retired-desktop")
        page.click("text=← 委員の一覧")
        retired_row = page.locator("section.card", has_text="退任した委員").locator("tr", has_text="築港 太郎")
        assert "安全・安心部会" in retired_row.inner_text()
        screenshot(page, "members-list-desktop")


def test_staff_import_a_sheet_and_print_codes_that_link_in_the_browser(database_url: str, sessions: Any,
                                                                       line: FakeLine) -> None:
    seed(sessions)
    with work(sessions) as unit:
        staff_service.create(unit, name="区役所 花子", password=PASSWORD, role="editor")
    app = create_app(make_settings(database_url, line, line_add_friend_url=FRIEND_URL))
    workbook = xlsx([["氏名", "部会", "任期", "電話", "メール", "連絡方法"],
                     ["波除 六子", "子育て・健康部会", dt.date(2028, 3, 31), "06-6571-0000", "", "紙"],
                     ["港 はるこ", "まちづくり部会", dt.date(2028, 3, 31), "", "haruko@example.jp", "LINE"]])
    with serve(app) as base, browser_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())
        page.set_viewport_size(DESKTOP)
        page.goto(base + "/console/members/import")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('名簿の取り込み')")
        typo = xlsx([["氏名", "部会"], ["朝潮 七海", "子育て部会"]])
        page.set_input_files("input[name=file]", files=[{"name": "名簿.xlsx", "buffer": typo,
                                                          "mimeType": "application/octet-stream"}])
        page.click("button:has-text('読み込んで確認する')")
        page.wait_for_selector("text=2行目: 部会「子育て部会」はありません")
        assert page.locator("button:has-text('この内容で取り込む')").count() == 0
        screenshot(page, "members-import-errors-desktop")
        page.set_input_files("input[name=file]", files=[{"name": "名簿.xlsx", "buffer": workbook,
                                                          "mimeType": "application/octet-stream"}])
        page.click("button:has-text('読み込んで確認する')")
        page.wait_for_selector("#preview")
        assert page.is_visible("tr.import-new:has-text('波除 六子')")
        assert page.is_visible("tr.import-change:has-text('メール: （なし） → haruko@example.jp')")
        screenshot(page, "members-import-preview-desktop")
        page.set_viewport_size(PHONE)
        screenshot(page, "members-import-preview-phone")
        with sessions() as session:  # the preview saved nothing
            assert session.scalars(select(Member).where(Member.name == "波除 六子")).first() is None
        page.click("button:has-text('この内容で取り込む')")
        page.wait_for_selector("text=名簿を取り込みました。")
        assert member_named(sessions, "波除 六子").contact_method == "paper"

        # codes for two members: the sheet is a page; reloading it issues nothing
        page.set_viewport_size(TABLET)
        page.check("input[aria-label='波除 六子']")
        page.check("input[aria-label='築港 太郎']")
        page.click("button:has-text('選んだ委員の登録コードを発行する')")
        page.wait_for_selector("h1:has-text('登録コード（印刷用）')")
        assert "/console/members/codes/" in page.url
        codes = {s.locator("h2").inner_text(): s.locator(".code").inner_text()
                 for s in page.locator(".code-sheet").all()}
        assert list(codes) == ["築港 太郎 様（まちづくり部会）", "波除 六子 様（子育て・健康部会）"]
        assert page.locator(".code-sheet svg.qr").count() == 2 and FRIEND_URL in page.inner_text("main")
        screenshot(page, "code-sheet-tablet")
        page.reload()
        page.wait_for_selector("h1:has-text('登録コード（印刷用）')")
        assert [c.inner_text() for c in page.locator(".code-sheet .code").all()] == list(codes.values())
        page.emulate_media(media="print")
        screenshot(page, "code-sheet-print")
        page.emulate_media(media="screen")
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(LinkCode)) == 2
        # the printed code, sent to the bot, links
        phone = Phone(_bot(base, sessions), line, new_user_id())
        phone.follow()
        assert "波除 六子さん、登録できました" in texts(phone.say(codes["波除 六子 様（子育て・健康部会）"]))
        page.reload()
        page.wait_for_selector("text=使用済みです（登録が済んでいます）")
        assert [c.inner_text() for c in page.locator(".code-sheet .code").all()] == [
            codes["築港 太郎 様（まちづくり部会）"]]
        screenshot(page, "code-sheet-after-link-tablet")
        page.set_viewport_size(PHONE)
        page.goto(base + "/console/members")
        assert page.is_visible("tr:has-text('波除 六子') >> text=連携済み")

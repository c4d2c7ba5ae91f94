"""The staff console over HTTP: every route refuses anonymous requests, log-in with lock-out and rate limit,
CSRF on every form, roles, escaping, security headers, the audit log, and the daily flows end to end."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from db.base import transaction
from db.models import AuditEntry, Broadcast, Event, Member, Opinion, StaffAccount, Subcommittee, User
from staff import service as staff_service
from tests.helpers import PASSWORD, csrf_of, logged_in, login, make_staff, wait_for, work

ROOT = Path(__file__).resolve().parent.parent
# Routes anyone may call, and why. Every other route must refuse a request without a session or token.
PUBLIC = {
    "/callback": "LINE's webhook: the signature is the authentication",
    "/healthz": "load balancer health check",
    "/console/login": "the log-in page itself",
    "/events.ics": "the public event calendar residents subscribe to",
    "/events/{event_id}.ics": "one public event for a resident's calendar",
    "/public/meetings/{event_id}/opinions": "a meeting's published table of opinions (only those marked 公開)",
    "/media/{name}": "the images uploaded for broadcasts: LINE fetches them (a random token names each)",
    "/openapi.json": "the API's own description (development only; no data)",
    "/docs": "Swagger UI (development only; no data)",
    "/docs/oauth2-redirect": "Swagger UI (development only)",
    "/console/static": "the console's stylesheet and script (no data)",
    "/static-offline-docs": "Swagger UI's own script and stylesheet, served by the app (no data)",
    "/": "a redirect to the console",
    "/favicon.ico": "the console's icon",
}
SIMULATOR = "/simulator"  # development only: every simulator route answers 404 in production


@pytest.fixture
def client(app_factory: Any) -> TestClient:
    return app_factory(quiet_hours_start=0, quiet_hours_end=0)


# --------------------------------------------------------------------------- every route needs authentication


def test_every_console_page_and_api_route_refuses_an_anonymous_request(client):
    checked = 0
    for route in iter_route_contexts(client.app.routes):
        path = route.path
        if path in PUBLIC or path.startswith(SIMULATOR):
            continue
        assert route.methods, f"{path}: a mount nobody listed as public"
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in route.methods - {"HEAD"}:
            response = client.request(method, url, follow_redirects=False)
            if path.startswith("/console"):
                assert response.status_code == 303 and response.headers["location"].startswith("/console/login"), \
                    (method, path, response.status_code)
            else:
                assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked > 60, "the route list looks too short: did the console or the API stop being mounted?"


def test_the_simulator_is_not_served_in_production(app_factory):
    production = app_factory(app_env="production", line_channel_access_token="a-real-looking-token-value",
                              line_channel_secret="a-real-looking-channel-secret")
    assert production.get("/simulator").status_code == 404


# --------------------------------------------------------------------------- logging in


def test_login_logout_and_the_session_cookie(client, sessions):
    make_staff(sessions)
    response = login(client)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    page = client.get("/console")
    assert page.status_code == 200 and "港 花子" in page.text
    client.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert client.get("/console", follow_redirects=False).status_code == 303
    with sessions() as session:
        entries = [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries == [("test", "staff.create"), ("港 花子", "login"), ("港 花子", "logout")]


def test_five_wrong_passwords_lock_the_account_and_an_admin_can_unlock_it(client, sessions):
    make_staff(sessions)
    for _ in range(5):
        assert login(client, password="wrong password").status_code == 401
    locked = login(client)
    assert locked.status_code == 401 and "しばらくログインできません" in locked.text
    make_staff(sessions, name="管理者", role="admin")
    assert login(client, "管理者").status_code == 303
    page = client.get("/console/staff").text
    with sessions() as session:
        account = session.scalars(select(StaffAccount).where(StaffAccount.name == "港 花子")).one()
    client.post(f"/console/staff/{account.id}", data={"csrf": csrf_of(page), "action": "unlock"})
    client.cookies.clear()
    assert login(client).status_code == 303


def test_many_failed_logins_from_one_address_are_refused_for_a_while(client, sessions):
    for i in range(20):
        assert login(client, name=f"誰か{i}", password="guess").status_code == 401
    make_staff(sessions)
    refused = login(client)
    assert refused.status_code == 401 and "多すぎます" in refused.text


def test_a_login_form_without_its_csrf_cookie_is_refused(client, sessions):
    make_staff(sessions)
    response = client.post("/console/login", data={"name": "港 花子", "password": PASSWORD, "csrf": "made-up"})
    assert response.status_code == 403
    assert login(client).headers["location"] == "/console"


def test_next_only_leads_inside_the_console(client, sessions):
    make_staff(sessions)
    page = client.get("/console/login")
    response = client.post("/console/login", data={"name": "港 花子", "password": PASSWORD, "csrf": csrf_of(page.text),
                                                   "next": "https://evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/console"


def test_the_staff_create_command_takes_the_password_from_stdin(database_url, sessions):
    result = subprocess.run([sys.executable, "main.py", "staff", "create", "--name", "区役所 太郎", "--role", "admin"],
                            input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT,
                            env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    with sessions() as session:
        account = session.scalars(select(StaffAccount)).one()
    assert account.role == "admin" and account.password_hash.startswith("$argon2")
    short = subprocess.run([sys.executable, "main.py", "staff", "create", "--name", "短い", "--role", "viewer"],
                           input="short\n", capture_output=True, text=True, cwd=ROOT,
                           env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"})
    assert short.returncode == 2 and "10文字以上" in short.stderr


# --------------------------------------------------------------------------- CSRF, roles, escaping, headers


def test_a_form_without_the_session_csrf_token_is_refused(client, sessions):
    logged_in(client, sessions)
    response = client.post("/console/members", data={"name": "委員 一郎"})
    assert response.status_code == 403
    response = client.post("/console/members", data={"name": "委員 一郎", "csrf": "someone-elses"})
    assert response.status_code == 403
    with sessions() as session:
        assert session.scalars(select(Member)).all() == []


def test_a_viewer_reads_but_cannot_send_or_change(client, sessions):
    csrf = logged_in(client, sessions, role="viewer")
    assert client.get("/console/broadcasts").status_code == 200
    assert client.get("/console/broadcasts/new").status_code == 403
    refused = client.post("/console/broadcasts/new", data={"csrf": csrf, "title": "x", "audience": "all",
                                                          "type0": "text", "text0": "x"})
    assert refused.status_code == 403 and "編集・送信" in refused.text
    assert client.post("/console/events/new", data={"csrf": csrf}).status_code == 403
    assert client.get("/console/staff").status_code == 403
    assert client.get("/console/audit").status_code == 403


def test_a_title_with_a_script_tag_shows_as_text(client, sessions):
    csrf = logged_in(client, sessions)
    response = client.post("/console/events/new", data={
        "csrf": csrf, "title": "<script>alert(1)</script>まつり", "kind": "festival", "status": "scheduled",
        "visibility": "public", "starts_at": "2030-05-03T10:00", "ends_at": "2030-05-03T15:00"})
    assert response.status_code == 200, response.text
    listing = client.get("/console/events").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;まつり" in listing and "<script>alert(1)" not in listing


def test_console_pages_carry_security_headers(client, sessions):
    logged_in(client, sessions)
    headers = client.get("/console").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


# --------------------------------------------------------------------------- the daily flows


def test_an_event_form_with_a_typo_in_the_date_keeps_what_was_typed(client, sessions):
    csrf = logged_in(client, sessions)
    response = client.post("/console/events/new", data={
        "csrf": csrf, "title": "港区民まつり", "kind": "festival", "status": "scheduled", "visibility": "public",
        "starts_at": "2030-13-45T10:00", "ends_at": "2030-05-03T15:00", "venue": "八幡屋公園"})
    assert response.status_code == 422
    assert "開始の日時が正しくありません" in response.text and 'value="八幡屋公園"' in response.text
    with sessions() as session:
        assert session.scalars(select(Event)).all() == []


def test_members_are_registered_and_get_a_printable_sheet_of_codes(client, sessions):
    csrf = logged_in(client, sessions)
    with transaction(sessions) as session:
        session.add(Subcommittee(name="まちづくり部会"))
    client.post("/console/members", data={"csrf": csrf, "name": "築港 太郎", "subcommittee": "まちづくり部会",
                                          "term_end": "2027-03-31"})
    typo = client.post("/console/members", data={"csrf": csrf, "name": "弁天 四郎", "term_end": "2027-02-30"})
    assert typo.status_code == 422 and "任期の日付" in typo.text
    with sessions() as session:
        member = session.scalars(select(Member)).one()
    sheet = client.post("/console/members/codes", data={"csrf": csrf, "member_id": str(member.id)})
    assert sheet.status_code == 200 and "築港 太郎 様" in sheet.text
    assert re.search(r'class="code">[A-Z2-9]{4}-[A-Z2-9]{4}<', sheet.text)
    assert "未連携" in client.get("/console/members").text


def test_a_broadcast_is_previewed_with_the_exact_count_and_confirmed_against_it(client, sessions, line):
    with transaction(sessions) as session:
        sub = Subcommittee(name="まちづくり部会")
        session.add(sub)
        session.flush()
        for i in range(3):
            user = User(line_user_id=f"U{i:032x}", display_name=f"委員{i}")
            session.add(user)
            session.flush()
            session.add(Member(name=f"委員{i}", subcommittee_id=sub.id, user_id=user.id))
    csrf = logged_in(client, sessions)
    created = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "部会のお知らせ", "audience": "subcommittees", "subcommittee": "まちづくり部会",
        "type0": "text", "text0": "次回の部会は12月10日です"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    preview = client.get(url).text
    assert 'id="recipient-count">3<' in preview and "次回の部会は12月10日です" in preview
    assert "今月の残り" in preview  # LINE's quota endpoint answered
    # the audience grows after the preview: the confirmation no longer matches
    with transaction(sessions) as session:
        user = User(line_user_id="U" + "f" * 32, display_name="新しい委員")
        session.add(user)
        session.flush()
        session.add(Member(name="新しい委員", subcommittee_id=sub.id, user_id=user.id))
    stale = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "3", "when": "now"})
    assert stale.status_code == 409 and "3人 → 4人" in stale.text
    sent = client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "4", "when": "now"})
    assert sent.status_code == 200
    done = wait_for(lambda: client.get(url + "/progress.json").json()["status"] == "done", 20, "done")
    assert done
    assert client.get(url + "/progress.json").json()["sent"] == 4
    assert len(line.sent("multicast")) == 1 and len(line.sent("multicast")[0].body["to"]) == 4
    log = client.get(url + "/log").text
    assert log.count("送信済み") == 4
    with sessions() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "broadcast.send" in actions


def test_a_scheduled_broadcast_can_be_edited_and_cancelled_before_it_starts(client, sessions, line):
    with transaction(sessions) as session:
        session.add(User(line_user_id="U" + "a" * 32))
    csrf = logged_in(client, sessions)
    url = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "予約", "audience": "residents", "type0": "text", "text0": "来週のお知らせ"},
        follow_redirects=False).headers["location"]
    client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "1", "when": "later",
                                        "scheduled_at": "2031-01-05T10:00"})
    assert "予約済み" in client.get(url).text
    edited = client.post(url + "/edit", data={"csrf": csrf, "title": "予約（修正）", "audience": "residents",
                                              "type0": "text", "text0": "来週のお知らせ（訂正）"})
    assert edited.status_code == 200
    with sessions() as session:
        broadcast = session.scalars(select(Broadcast)).one()
        assert (broadcast.status, broadcast.messages[0]["text"]) == ("draft", "来週のお知らせ（訂正）")
    client.post(url + "/cancel", data={"csrf": csrf})
    with sessions() as session:
        assert session.scalars(select(Broadcast)).one().status == "cancelled"
    assert client.post(url + "/confirm", data={"csrf": csrf, "confirmed_count": "1"}).status_code == 409
    assert line.sent() == []


def test_a_test_send_goes_to_the_staff_members_own_line_account(client, sessions, line):
    with work(sessions) as unit:
        own = User(line_user_id="U" + "b" * 32)
        unit.session.add(own)
        unit.session.flush()
        staff_service.create(unit, name="職員A", password=PASSWORD, role="editor", user_id=own.id)
    login(client, "職員A")
    csrf = csrf_of(client.get("/console").text)
    url = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "テスト", "audience": "all", "type0": "text", "text0": "本番前の確認"},
        follow_redirects=False).headers["location"]
    client.post(url + "/test", data={"csrf": csrf})
    wait_for(lambda: line.messages_to("U" + "b" * 32), 10, "the test push")
    assert [m["text"] for m in line.messages_to("U" + "b" * 32)] == ["【テスト送信】テスト", "本番前の確認"]
    assert line.sent("broadcast") == []


def test_an_opinion_is_answered_from_the_console_and_pushed_to_the_sender(client, sessions, line):
    with transaction(sessions) as session:
        user = User(line_user_id="U" + "c" * 32)
        session.add(user)
        session.flush()
        session.add(Opinion(user_id=user.id, category="まちの魅力", text="公園にベンチを増やしてほしい"))
    csrf = logged_in(client, sessions)
    inbox = client.get("/console/opinions?status=unread").text
    assert "公園にベンチを増やしてほしい" in inbox
    with sessions() as session:
        opinion = session.scalars(select(Opinion)).one()
    client.post(f"/console/opinions/{opinion.id}/status", data={"csrf": csrf, "status": "in_progress"})
    empty = client.post(f"/console/opinions/{opinion.id}/reply", data={"csrf": csrf, "reply": "  "})
    assert empty.status_code == 422
    client.post(f"/console/opinions/{opinion.id}/reply", data={"csrf": csrf, "reply": "来年度に2基増やします。"})
    wait_for(lambda: line.messages_to("U" + "c" * 32), 10, "the reply push")
    assert "来年度に2基増やします。" in line.messages_to("U" + "c" * 32)[0]["text"]
    with sessions() as session:
        assert session.scalars(select(Opinion)).one().status == "answered"
    csv = client.get("/console/opinions.csv")
    assert csv.content.startswith("\ufeff".encode()) and "回答済" in csv.content.decode("utf-8-sig")


def test_admins_read_the_audit_log(client, sessions):
    csrf = logged_in(client, sessions, role="admin", name="管理者")
    client.post("/console/staff", data={"csrf": csrf, "name": "新人", "role": "viewer", "password": "short"})
    client.post("/console/staff", data={"csrf": csrf, "name": "新人", "role": "viewer", "password": PASSWORD})
    page = client.get("/console/audit").text
    assert "staff.create" in page and "新人 (viewer)" in page and "管理者" in page


def test_a_nul_character_in_a_form_gets_a_clear_answer(client, sessions):
    csrf = logged_in(client, sessions)
    response = client.post("/console/members", data={"csrf": csrf, "name": "委員\x00一郎"})
    assert response.status_code == 422 and "NUL" in response.text
    assert login(client, name="港 花子\x00").status_code == 303  # the name is read without it


def test_every_event_field_is_set_in_the_console_and_errors_are_named_in_japanese(client, sessions):
    csrf = logged_in(client, sessions)
    with work(sessions) as unit:
        unit.session.add(Subcommittee(name="子育て・健康部会"))
    form = {"csrf": csrf, "title": "わんぱく教室", "title_en": "Kids class", "kind": "lecture", "status": "scheduled",
            "visibility": "subcommittee", "subcommittee": "子育て・健康部会", "starts_at": "2030-05-03T10:00",
            "ends_at": "2030-05-03T12:00", "venue": "八幡屋公園", "latitude": "34.6647", "longitude": "135.4499",
            "tags": "こども、まつり", "keywords": "わんぱく", "image_url": "https://example.org/k.png",
            "description_en": "For children", "reminder_hours": "48, 2",
            "documents": "案内 | https://example.org/a.pdf"}
    saved = client.post("/console/events/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with sessions() as session:
        event = session.scalars(select(Event)).one()
        assert (event.tags, event.latitude, event.longitude, event.reminder_hours) == (
            ["こども", "まつり"], 34.6647, 135.4499, [48, 2])
        assert (event.image_url, event.description_en, event.title_en) == (
            "https://example.org/k.png", "For children", "Kids class")
        assert event.documents == [{"title": "案内", "url": "https://example.org/a.pdf"}]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "event.create")).one()
        assert (entry.actor, entry.target) == ("港 花子", f"event:{event.id}")
    page = client.get(f"/console/events/{event.id}").text
    assert '<option selected>子育て・健康部会</option>' in page  # the stored 部会 is chosen when editing
    bad = client.post(f"/console/events/{event.id}", data={**form, "ends_at": "2030-05-03T09:00",
                                                           "longitude": "", "image_url": "http://example.org/k.png"})
    assert bad.status_code == 422
    assert "終了: 開始より後にしてください" in bad.text
    assert "経度: 緯度と経度は両方入れてください" in bad.text
    assert "画像のURL: https:// で始まるURLにしてください" in bad.text
    assert 'class="field-error"' in bad.text and 'value="八幡屋公園"' in bad.text  # next to the field, input kept
    with sessions() as session:
        assert session.get(Event, event.id).ends_at.astimezone(dt.UTC).hour == 3  # unchanged: 12:00 JST

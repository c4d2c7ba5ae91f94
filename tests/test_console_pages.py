"""The console as a clerk meets it outside its forms: error pages in its own layout (not raw JSON), `/` leading to
it, a favicon, a log-in page without command lines, and /docs working with no CDN in reach."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from main import create_app
from tests.helpers import Bot, browser_page, logged_in, make_settings, screenshot, serve


def test_console_errors_are_pages_with_a_way_back_and_the_api_keeps_json(bot: Bot, sessions: Any) -> None:
    client = bot.client
    logged_in(client, sessions, role="editor", name="編集 花子")
    missing = client.get("/console/events/999999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "ページが見つかりませんでした" in missing.text and 'href="/console"' in missing.text
    assert "{\"detail\"" not in missing.text
    assert client.get("/console/no-such-page").status_code == 404
    assert "ページが見つかりませんでした" in client.get("/console/events/abc").text  # a malformed address
    logged_in(client, sessions, role="viewer", name="見る 太郎")
    forbidden = client.get("/console/staff")
    assert forbidden.status_code == 403 and "この操作はできません" in forbidden.text
    assert "ダッシュボードへ戻る" in forbidden.text
    api = client.get("/api/v1/events/999999", headers={"Authorization": "Bearer x"})
    assert api.headers["content-type"].startswith("application/json") and "detail" in api.json()


def test_root_leads_to_the_console_and_there_is_a_favicon(bot: Bot) -> None:
    root = bot.client.get("/", follow_redirects=False)
    assert root.status_code == 303 and root.headers["location"] == "/console"
    icon = bot.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login = bot.client.get("/console/login").text
    assert "main.py" not in login and "管理者" in login
    assert 'href="/simulator"' in login  # development: the simulator is one click away


def test_metrics_report_no_quota_while_line_is_off(bot: Bot) -> None:
    metrics = bot.client.get("/metrics").text
    assert "line_quota_left" not in metrics


def test_docs_work_with_no_cdn_in_reach(database_url: str) -> None:
    app = create_app(make_settings(database_url, None))
    with TestClient(app) as client:
        html = client.get("/docs").text
        assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    with serve(app) as base, browser_page() as page:
        outside: list[str] = []

        def only_local(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=15_000)  # Swagger UI listed the operations
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.replace("\u200b", "") == "/api/v1/events" for p in paths), paths
        screenshot(page, "docs-offline")
        assert outside == []

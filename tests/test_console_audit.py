"""The 操作記録 in plain Japanese (issue #15, point 10): a label for every action the code writes (this test finds
them all in the code and fails on one without a label), filters by who, kind and date (GET parameters), a run of
log-ins by the same person folded into one row 「ログイン（5回）」, and pages."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot import clock
from console.staff import ACTION_LABELS, KIND_LABELS, RETIRED_ACTIONS
from db.base import transaction
from db.models import AuditEntry
from tests.helpers import PASSWORD, browser_page, logged_in, make_settings, make_staff, screenshot, served

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"tests", "bench", ".venv", ".ci", "var", "test-artifacts"}
SIZES = [pytest.param((768, 1024), id="tablet"), pytest.param((1280, 800), id="desktop")]




# --------------------------------------------------------------------------- every action has a label


def _modules() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(ROOT.rglob("*.py"))
            if p.relative_to(ROOT).parts[0] not in SKIP and "versions" not in p.relative_to(ROOT).parts}


def _name(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)


def written_actions(modules: dict[Path, ast.Module]) -> tuple[set[str], list[str]]:
    """Every action string passed to Work.audit in the code, and the call sites whose action could not be read.
    An action is read from a literal, either side of `a if c else b`, an f-string over a name compared with
    literals in the same function (f"staff.{action}", action == "unlock"), or a parameter of the function: its
    default and every literal passed for it by name at the function's call sites."""
    calls = [node for tree in modules.values() for node in ast.walk(tree) if isinstance(node, ast.Call)]
    found: set[str] = set()
    unresolved: list[str] = []

    def resolve(node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> set[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            body, orelse = resolve(node.body, function), resolve(node.orelse, function)
            return None if body is None or orelse is None else body | orelse
        if isinstance(node, ast.JoinedStr) and function is not None:
            names = [v.value.id for v in node.values if isinstance(v, ast.FormattedValue)
                     and isinstance(v.value, ast.Name)]
            if len(names) != 1 or len(names) != sum(isinstance(v, ast.FormattedValue) for v in node.values):
                return None
            literals = {c.value for compare in ast.walk(function) if isinstance(compare, ast.Compare)
                        and isinstance(compare.left, ast.Name) and compare.left.id == names[0]
                        for c in compare.comparators if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            parts = ["".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)]
            return {parts[0].format(literal) for literal in literals} or None
        if isinstance(node, ast.Name) and function is not None:
            arguments = function.args
            every = [*arguments.args, *arguments.kwonlyargs]
            if node.id not in [a.arg for a in every]:
                return None
            values: set[str] = set()
            defaults = dict(zip([a.arg for a in arguments.args][::-1], arguments.defaults[::-1], strict=False))
            defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d})
            if node.id in defaults:
                values |= resolve(defaults[node.id], None) or set()
            for call in calls:
                if _name(call) == function.name:
                    for keyword in call.keywords:
                        if keyword.arg == node.id:
                            given = resolve(keyword.value, None)
                            if given is None:
                                return None
                            values |= given
            return values or None
        return None

    for path, tree in modules.items():
        functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "audit"
                    and node.args):
                continue
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
                continue  # Work.audit itself
            inside = [f for f in functions if any(n is node for n in ast.walk(f))]
            function = min(inside, key=lambda f: (f.end_lineno or 0) - f.lineno) if inside else None
            values = resolve(node.args[0], function)
            if values is None:
                unresolved.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            else:
                found |= values
    return found, unresolved


def test_every_action_the_code_writes_has_a_japanese_label():
    found, unresolved = written_actions(_modules())
    assert unresolved == [], "an audit() call whose action this test cannot read: write it as a literal"
    assert {"login.failed", "member.codes", "staff.deactivate", "event.cancel", "event.change",
            "broadcast.send", "broadcast.schedule"} <= found  # the reader sees through f-strings and parameters
    missing = sorted(found - set(ACTION_LABELS))
    assert missing == [], f"add a Japanese label to console.staff.ACTION_LABELS for: {missing}"
    assert sorted(set(ACTION_LABELS) - found - RETIRED_ACTIONS) == [], "labels of actions nothing writes any more"
    assert RETIRED_ACTIONS <= set(ACTION_LABELS) and not RETIRED_ACTIONS & found
    assert all(not label.isascii() for label in ACTION_LABELS.values())
    assert {a.split(".")[0] for a in ACTION_LABELS} - {"logout"} <= set(KIND_LABELS)


def test_the_reader_finds_a_new_action_without_a_label():
    source = ("def close(work, survey, *, how='survey.archive'):\n"
              "    work.audit(how)\n"
              "    work.audit('survey.delete' if survey else 'survey.purge')\n"
              "close(None, None, how='survey.hide')\n")
    found, unresolved = written_actions({ROOT / "x.py": ast.parse(source)})
    assert unresolved == [] and found == {"survey.archive", "survey.hide", "survey.delete", "survey.purge"}
    assert found - set(ACTION_LABELS)  # these would fail the test above
    _, unreadable = written_actions({ROOT / "x.py": ast.parse("def f(work, x):\n    work.audit(x.name)\n")})
    assert unreadable == ["x.py:2"]


# --------------------------------------------------------------------------- the page


def entries(sessions: Any, rows: list[tuple[str, str]], *, at: dt.datetime | None = None,
            target: str | None = None) -> None:
    """Audit lines (actor, action) in this order, a second apart."""
    start = at or clock.now()
    with transaction(sessions) as session:
        session.execute(insert(AuditEntry), [{"actor": actor, "action": action, "target": target,
                                              "at": start + dt.timedelta(seconds=i)}
                                             for i, (actor, action) in enumerate(rows)])


def rows_of(page: str) -> list[tuple[str, str]]:
    """(who, what) of each row of the log, as read."""
    body = page.split('<table class="card audit">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<tr><td class="when">[^<]*</td>\s*<td class="actor">([^<]*)</td>\s*'
                       r'<td[^>]*>([^<]*)</td>', body)
    return [(who.strip(), what.strip()) for who, what in cells]


def visible(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


@pytest.fixture
def admin(client: Any, sessions: Any) -> str:
    return logged_in(client, sessions, role="admin", name="管理者")


def test_actions_read_in_japanese_and_code_words_are_not_shown(client, sessions, admin):
    client.post("/console/staff", data={"csrf": admin, "name": "新人", "role": "viewer", "password": PASSWORD})
    entries(sessions, [("港 花子", "login.failed"), ("港 花子", "member.codes")], target="member:1,member:2")
    page = client.get("/console/audit").text
    text = visible(page)
    for word in ("login.failed", "member.codes", "staff.create"):
        assert word not in text and f'data-action="{word}"' in page  # the code word only in an attribute
    assert "ログインの失敗（名前かパスワードの誤り）" in text and "登録コードを発行" in text
    assert "職員を追加" in text and "新人 (viewer)" in text and "委員 1、委員 2" in text


def test_a_run_of_log_ins_by_one_person_is_one_row(client, sessions, admin):
    entries(sessions, [("港 花子", "login")] * 5 + [("区役所 太郎", "login")] + [("港 花子", "login")] * 3
            + [("?", "login.failed")] * 4 + [("港 花子", "logout")] * 2)
    page = client.get("/console/audit").text
    assert rows_of(page)[:5] == [("港 花子", "ログアウト"), ("港 花子", "ログアウト"),
                                 ("?", "ログインの失敗（名前かパスワードの誤り）（4回）"),
                                 ("港 花子", "ログイン（3回）"), ("区役所 太郎", "ログイン")]
    assert rows_of(page)[5] == ("港 花子", "ログイン（5回）")
    # a run shows its first and last time
    first = clock.format_jst(dt.datetime(2026, 12, 1, 9, 0, tzinfo=clock.JST))
    entries(sessions, [("区役所 太郎", "login")] * 2, at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=clock.JST))
    entries(sessions, [("区役所 太郎", "login")], at=dt.datetime(2026, 12, 1, 9, 45, tzinfo=clock.JST))
    entries(sessions, [("区役所 太郎", "login")], at=dt.datetime(2026, 12, 2, 8, 30, tzinfo=clock.JST))
    assert f'<td class="when">{first}〜12月2日(水) 08:30</td>' in client.get("/console/audit").text
    days = client.get("/console/audit", params={"to": "2026-12-01"}).text
    assert f'<td class="when">{first}〜09:45</td>' in days and "ログイン（3回）" in days
    # narrowed to one person, their log-ins with nobody else's between are one run
    mine = client.get("/console/audit", params={"who": "港 花子", "kind": "login"}).text
    assert rows_of(mine) == [("港 花子", "ログアウト"), ("港 花子", "ログアウト"), ("港 花子", "ログイン（8回）")]


def test_filters_by_who_kind_and_date(client, sessions, admin):
    day = dt.datetime(2026, 11, 30, 23, 30, tzinfo=clock.JST)
    entries(sessions, [("港 花子", "broadcast.send")], at=day)  # 11/30
    entries(sessions, [("港 花子", "event.create")], at=day + dt.timedelta(minutes=40))  # 12/1 00:10
    entries(sessions, [("api", "event.cancel")], at=day + dt.timedelta(hours=24))  # 12/1 23:30
    entries(sessions, [("scheduler", "survey.open")], at=day + dt.timedelta(hours=24, minutes=40))  # 12/2
    entries(sessions, [("LINE はるこ (U1234567)", "member.link")], at=day + dt.timedelta(hours=25))
    december_first = client.get("/console/audit", params={"from": "2026-12-01", "to": "2026-12-01"}).text
    assert rows_of(december_first) == [("自動化API（api）", "イベントを中止"), ("港 花子", "イベントを登録")]
    assert rows_of(client.get("/console/audit", params={"kind": "broadcast"}).text) == [("港 花子", "配信を送信")]
    assert rows_of(client.get("/console/audit", params={"who": "scheduler"}).text) == [
        ("自動処理（scheduler）", "アンケートを開始")]
    assert rows_of(client.get("/console/audit", params={"who": "LINE"}).text) == [
        ("LINE はるこ (U1234567)", "委員がLINEを連携")]
    both = client.get("/console/audit", params={"who": "港 花子", "kind": "event", "from": "2026-11-01"}).text
    assert rows_of(both) == [("港 花子", "イベントを登録")]
    assert 'option value="港 花子" selected' in both and 'option value="event" selected' in both
    assert 'name="from" value="2026-11-01"' in both  # the form shows the filters in use
    nothing = client.get("/console/audit", params={"from": "2020-01-01", "to": "2020-01-02"}).text
    assert rows_of(nothing) == [] and "この条件の記録はありません。" in nothing
    typo = client.get("/console/audit", params={"from": "2026-02-30", "kind": "nonsense"})
    assert typo.status_code == 200 and "いつからの日付が正しくありません（例: 2026-12-01）" in typo.text
    assert len(rows_of(typo.text)) == 7  # the wrong filters are left out, not a failure


def test_the_log_pages_and_a_run_is_never_split_between_pages(client, sessions, admin):
    # newest first: 98 events, a run of 5 log-ins (the 99th row), then 120 events and the admin's 2 lines
    entries(sessions, [("港 花子", "event.create")] * 120 + [("区役所 太郎", "login")] * 5
            + [("港 花子", "event.change")] * 98)
    first = client.get("/console/audit").text
    assert len(rows_of(first)) == 100 and rows_of(first)[98] == ("区役所 太郎", "ログイン（5回）")
    assert "221件（1 / 3ページ）" in visible(first)
    assert 'href="/console/audit?page=2">古い記録 →' in first and "新しい記録" not in first
    third = client.get("/console/audit", params={"page": "3"}).text
    assert len(rows_of(third)) == 21 and "古い記録" not in third and 'href="/console/audit?page=2"' in third
    narrowed = client.get("/console/audit", params={"kind": "event", "page": "2"}).text
    assert "218件（2 / 3ページ）" in visible(narrowed)
    assert 'href="/console/audit?kind=event&amp;page=3"' in narrowed  # the filters stay when paging
    assert all(what.startswith("イベントを") for _, what in rows_of(narrowed))
    assert client.get("/console/audit", params={"page": "abc"}).status_code == 200


# --------------------------------------------------------------------------- in the browser


@pytest.mark.parametrize("size", SIZES)
def test_browser_the_audit_log_folds_log_ins_and_filters(database_url, sessions, line, size):
    make_staff(sessions, name="管理者", role="admin")
    make_staff(sessions, name="港 花子", role="editor")
    entries(sessions, [("港 花子", "login")] * 5 + [("港 花子", "member.codes"), ("港 花子", "broadcast.send"),
                                                    ("港 花子", "logout"), ("?", "login.failed")])
    width, height = size
    with served(make_settings(database_url, line)) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/console/audit")
        page.fill("input[name=name]", "管理者")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('操作記録')")
        table = page.inner_text("table.audit")
        assert "ログイン（5回）" in table and "登録コードを発行" in table and "配信を送信" in table
        assert "login" not in table and "member.codes" not in table
        screenshot(page, f"console-audit-{width}")
        page.select_option("select[name=who]", "港 花子")
        page.select_option("select[name=kind]", "login")
        page.fill("input[name=from]", clock.now().astimezone(clock.JST).date().isoformat())
        page.click("button:has-text('絞り込む')")
        page.wait_for_url("**/console/audit?who=*")
        table = page.inner_text("table.audit")
        assert "ログイン（5回）" in table and "ログアウト" in table and "登録コードを発行" not in table
        assert "ログインの失敗" not in table
        screenshot(page, f"console-audit-filtered-{width}")

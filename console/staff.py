"""Staff accounts and the audit log (操作記録; admins only), and each staff member's own LINE (「自分のLINE」, any
role: a one-time code sent to the bot links it; test sends of broadcasts go there). The log reads in plain Japanese
(one label per action the code writes: ACTION_LABELS), can be narrowed by who, kind and date (GET parameters, so a
view can be bookmarked), folds a run of log-ins by the same person into one row (「ログイン（5回）」), and pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bot import clock, texts
from console.deps import COOKIE, Admin, Id, Posted, Staff, StaffDep, get_or_404, redirect, render, runtime_of
from console.members import BOT_NAME
from console.members import _friend_link as friend_link
from db.models import AuditEntry, StaffAccount, User
from staff import service

router = APIRouter()


def _page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        accounts = list(session.execute(select(StaffAccount, User.display_name).outerjoin(
            User, User.id == StaffAccount.user_id).order_by(StaffAccount.id)))
    return render(request, "staff.html", staff, status_code, accounts=accounts, **context)


def _get(session: Session, staff_id: Id) -> StaffAccount:
    return get_or_404(session, StaffAccount, staff_id, "職員")


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def accounts(request: Request, staff: Admin) -> HTMLResponse:
    return _page(request, staff)


@router.post("/staff", response_class=HTMLResponse, include_in_schema=False)
def create(request: Request, staff: Admin, form: Posted) -> Response:
    try:
        with runtime_of(request).work(staff.name) as work:
            service.create(work, name=str(form.get("name", "")), password=str(form.get("password", "")),
                           role=str(form.get("role", "")))
    except service.StaffError as exc:
        return _page(request, staff, 422, error=str(exc), form=form)
    return redirect("/console/staff", "created")


# --------------------------------------------------------------------------- 自分のLINE (every staff member)

MY_LINE = "/console/staff/me"
MY_NOTICES = {"line_code": "コードを出しました。30分以内に、LINEでボットに送ってください。",
              "line_linked": "LINEを登録しました。テスト送信は このLINEに届きます。",
              "line_unlinked": "LINEの登録を解除しました。テスト送信は届きません。"}


def _login(request: Request) -> tuple[int, str]:
    """The console session's id and its cookie: the code is sealed with the cookie (staff.service)."""
    token = request.cookies.get(COOKIE, "")
    with runtime_of(request).sessions() as session:
        found = service.find_session(session, token)
    if found is None:
        raise HTTPException(403, "ログインし直してください")
    return found[0].id, token


@router.get("/staff/me", response_class=HTMLResponse, include_in_schema=False)
def my_line(request: Request, staff: StaffDep) -> HTMLResponse:
    """Which LINE gets my test sends; the code to link one (shown again on a reload, in this log-in only: showing
    the page issues nothing)."""
    staff_session_id, secret = _login(request)
    with runtime_of(request).sessions() as session:
        account = get_or_404(session, StaffAccount, staff.id, "職員")
        line = service.own_line(session, account.id)
        code = service.shown_line_code(session, account, staff_session_id=staff_session_id, secret=secret)
    done = texts.t("link.staff.linked", name=account.name).splitlines()[0]  # what the bot will answer
    return render(request, "my_line.html", staff, account=account, line=line, code=code, bot_name=BOT_NAME,
                  done=done, notice=MY_NOTICES.get(request.query_params.get("notice", "")),
                  minutes=int(service.LINE_CODE_TTL.total_seconds() // 60), **friend_link(request))


@router.post("/staff/me/code", include_in_schema=False)
def issue_line_code(request: Request, staff: StaffDep, form: Posted) -> Response:
    """A new one-time code (the one before stops working), then the page that shows it."""
    staff_session_id, secret = _login(request)
    with runtime_of(request).work(staff.name) as work:
        service.issue_line_code(work, get_or_404(work.session, StaffAccount, staff.id, "職員"),
                                staff_session_id=staff_session_id, secret=secret)
    return redirect(MY_LINE, "line_code")


@router.post("/staff/me/unlink", include_in_schema=False)
def unlink_my_line(request: Request, staff: StaffDep, form: Posted) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.unlink_line(work, get_or_404(work.session, StaffAccount, staff.id, "職員"))
    return redirect(MY_LINE, "line_unlinked")


@router.get("/staff/me/line.json", include_in_schema=False)
def my_line_state(request: Request, staff: StaffDep) -> JSONResponse:
    """Polled by the page while a code is shown: it reloads once the bot has linked the LINE account."""
    with runtime_of(request).sessions() as session:
        account = get_or_404(session, StaffAccount, staff.id, "職員")
        return JSONResponse({"user": account.user_id})


@router.post("/staff/{staff_id}", response_class=HTMLResponse, include_in_schema=False)
def change(request: Request, staff: Admin, form: Posted, staff_id: Id) -> Response:
    """Unlock, change the role, unlink their LINE (someone who left, a lost phone), deactivate (ends their
    sessions)."""
    action = str(form.get("action", ""))
    try:
        with runtime_of(request).work(staff.name) as work:
            account = _get(work.session, staff_id)
            if action == "unlink":
                service.unlink_line(work, account)
            else:
                service.change(work, account, action=action, acting_id=staff.id, role=str(form.get("role", "")))
    except service.StaffError as exc:
        return _page(request, staff, 422, error=str(exc))
    return redirect("/console/staff", "unlinked" if action == "unlink" else "saved")


# --------------------------------------------------------------------------- the audit log (操作記録)

# Every action the code writes with Work.audit, as clerks read it. tests/test_console_audit.py finds every action
# written in the code and fails on one without a label here.
# Actions the code no longer writes, whose past lines still read in Japanese
RETIRED_ACTIONS = {"staff.line"}  # before 0013 an admin typed a clerk's LINE user id
ACTION_LABELS = {
    "login": "ログイン",
    "login.failed": "ログインの失敗（名前かパスワードの誤り）",
    "login.locked": "失敗が続いたためアカウントをロック",
    "logout": "ログアウト",
    "event.create": "イベントを登録",
    "event.change": "イベントを変更",
    "event.cancel": "イベントを中止",
    "event.day_status": "当日の状況をお知らせ（開催・中止・延期・内容変更）",
    "event.delete": "イベントを削除",
    "member.create": "委員を登録",
    "member.change": "委員の情報を変更",
    "member.retire": "委員の退任",
    "member.import": "委員名簿を取り込み",
    "member.codes": "登録コードを発行",
    "member.link": "委員がLINEを連携",
    "member.unlink": "委員のLINE連携を解除",
    "subcommittee.create": "部会を追加",
    "subcommittee.rename": "部会の名前を変更",
    "subcommittee.merge": "部会を統合",
    "subcommittee.retire": "部会を廃止",
    "subcommittee.restore": "部会を再開",
    "survey.create": "アンケートを作成",
    "survey.schedule": "アンケートの開始を予約",
    "survey.open": "アンケートを開始",
    "survey.close": "アンケートを締め切り",
    "survey.paper": "アンケートの紙の回答を入力",
    "broadcast.draft": "配信の下書きを作成",
    "broadcast.edit": "配信を修正",
    "broadcast.schedule": "配信を予約",
    "broadcast.send": "配信を送信",
    "broadcast.cancel": "配信を取り消し",
    "broadcast.test": "配信を自分のLINEにテスト送信",
    "broadcast.image": "配信の画像をアップロード",
    "opinion.receive": "ご意見を受け付け",
    "opinion.status": "ご意見の対応状況を変更",
    "opinion.reply": "ご意見に回答",
    "opinion.enter": "ご意見を職員が入力（会議・紙・電話）",
    "opinion.change": "ご意見の担当課・期限・公開・メモを変更",
    "opinion.department": "担当課の一覧を変更",
    "staff.create": "職員を追加",
    "staff.role": "職員の役割を変更",
    "staff.line": "職員のテスト送信先LINEを設定",  # (before 0013: set by an admin; past log lines keep it)
    "staff.line_code": "職員が自分のLINEの登録コードを発行",
    "staff.line_link": "職員が自分のLINEを登録（コードをボットに送信）",
    "staff.line_unlink": "職員のLINE登録を解除",
    "staff.unlock": "職員のロックを解除",
    "staff.deactivate": "職員のアカウントを無効に",
}
# the kinds the log can be narrowed to: the actions of each
KIND_LABELS = {"login": "ログイン・ログアウト", "event": "イベント", "member": "委員", "subcommittee": "部会",
               "survey": "アンケート", "broadcast": "配信", "opinion": "ご意見", "staff": "職員"}
KINDS = {kind: [a for a in ACTION_LABELS if a.split(".")[0] == kind or (kind == "login" and a == "logout")]
         for kind in KIND_LABELS}
# a run of these by the same person, one after the other, is one row
FOLDED = ("login", "login.failed")
ACTORS = {"api": "自動化API（api）", "scheduler": "自動処理（scheduler）"}
LINE_USERS = "LINE"  # the who filter's value for every LINE user (their actor starts with "LINE ")
TARGETS = {"event": ("イベント", "/console/events/{}"), "broadcast": ("配信", "/console/broadcasts/{}"),
           "survey": ("アンケート", "/console/surveys/{}"), "opinion": ("ご意見", "/console/opinions/{}"),
           "member": ("委員", None), "subcommittee": ("部会", None), "department": ("担当課", None),
           "staff": ("職員", None), "image": ("画像", None),
           "ip": ("接続元", None)}
AUDIT_PAGE = 100


@dataclass
class Row:
    """One row of the log: an entry, or a run of the same log-in by the same person (count > 1)."""

    entry: AuditEntry
    count: int
    first_at: dt.datetime

    @property
    def when(self) -> str:
        """The time, or a run's first and last: 「12月2日(水) 9:00〜9:45」."""
        last = clock.format_jst(self.entry.at)
        if self.count == 1:
            return last
        first = clock.format_jst(self.first_at)
        if first == last:
            return last
        same_day = first.split(" ")[0] == last.split(" ")[0]
        return f"{first}〜{last.split(' ')[1] if same_day else last}"

    @property
    def label(self) -> str:
        label = ACTION_LABELS.get(self.entry.action, self.entry.action)
        return f"{label}（{self.count}回）" if self.count > 1 else label


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def target_of(target: str | None) -> list[tuple[str, str | None]]:
    """A target ("event:12", "member:3,member:4") as (words, link) pairs: 「イベント 12」 linking to its page."""
    out: list[tuple[str, str | None]] = []
    for part in (target or "").split(","):
        kind, _, ident = part.partition(":")
        known = TARGETS.get(kind)
        if not part:
            continue
        if known is None or not ident:
            out.append((part, None))
        else:
            link = known[1].format(ident) if known[1] and ident.isdigit() else None
            out.append((f"{known[0]} {ident}", link))
    return out


def actor_label(actor: str) -> str:
    return ACTORS.get(actor, actor)


@dataclass
class Filters:
    who: str = ""
    kind: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def conditions(self) -> list[Any]:
        e = AuditEntry
        found: list[Any] = []
        if self.who == LINE_USERS:
            found.append(e.actor.startswith("LINE ", autoescape=True))
        elif self.who:
            found.append(e.actor == self.who)
        if self.kind in KINDS:
            found.append(e.action.in_(KINDS[self.kind]))
        if self.since:
            found.append(e.at >= _midnight(self.since))
        if self.until:
            found.append(e.at < _midnight(self.until + dt.timedelta(days=1)))
        return found

    def query(self, **more: Any) -> str:
        values = {"who": self.who, "kind": self.kind, "from": self.since.isoformat() if self.since else "",
                  "to": self.until.isoformat() if self.until else "", **more}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), clock.JST).astimezone(dt.UTC)


def _date(value: str, what: str, problems: list[str]) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(f"{what}の日付が正しくありません（例: 2026-12-01）")
        return None


def audit_rows(session: Session, filters: Filters, *, offset: int, limit: int) -> tuple[list[Row], int]:
    """The log, newest first, as rows (runs of the same log-in by the same person folded), and how many rows
    there are. Runs are found in the database (each entry is compared with the one before it among those the
    filters keep), so a run is never split across two pages."""
    e = AuditEntry
    previous = {"order_by": e.id}
    starts = case((and_(e.action.in_(FOLDED), e.actor == func.lag(e.actor).over(**previous),
                        e.action == func.lag(e.action).over(**previous)), 0), else_=1)
    marked = select(e.id, e.at, starts.label("starts")).where(*filters.conditions()).subquery()
    numbered = select(marked.c.id, marked.c.at,
                      func.sum(marked.c.starts).over(order_by=marked.c.id).label("run")).subquery()
    runs = (select(func.max(numbered.c.id).label("last"), func.count().label("n"),
                   func.min(numbered.c.at).label("first_at"))
            .group_by(numbered.c.run).subquery())
    total = session.scalar(select(func.count()).select_from(runs)) or 0
    page = session.execute(select(runs.c.last, runs.c.n, runs.c.first_at).order_by(runs.c.last.desc())
                           .offset(offset).limit(limit)).all()
    entries = {a.id: a for a in session.scalars(select(e).where(e.id.in_([r.last for r in page])))} if page else {}
    return [Row(entries[r.last], int(r.n), r.first_at) for r in page], int(total)


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit(request: Request, staff: Admin) -> HTMLResponse:
    params = request.query_params
    problems: list[str] = []
    filters = Filters(who=params.get("who", "").strip()[:100], kind=params.get("kind", ""),
                      since=_date(params.get("from", ""), "いつから", problems),
                      until=_date(params.get("to", ""), "いつまで", problems))
    if filters.kind and filters.kind not in KINDS:
        filters.kind = ""
    if filters.since and filters.until and filters.since > filters.until:
        filters.since, filters.until = filters.until, filters.since
    page = int(params["page"]) if params.get("page", "").isdigit() and 0 < int(params["page"]) < 100_000 else 1
    with runtime_of(request).sessions() as session:
        rows, total = audit_rows(session, filters, offset=(page - 1) * AUDIT_PAGE, limit=AUDIT_PAGE)
        names = list(session.scalars(select(StaffAccount.name).order_by(StaffAccount.name)))
    pages = max(1, -(-total // AUDIT_PAGE))
    who_choices = [(n, n) for n in names] + list(ACTORS.items()) + [(LINE_USERS, "LINEの利用者（委員・区民）")]
    if filters.who and filters.who not in dict(who_choices):
        who_choices.append((filters.who, filters.who))  # e.g. a name typed at a failed log-in, from a link
    return render(request, "audit.html", staff, rows=rows, total=total, page=page, pages=pages, filters=filters,
                  error="。".join(problems) or None, who_choices=who_choices, kinds=KIND_LABELS,
                  target_of=target_of, actor_label=actor_label,
                  newer=filters.query(page=page - 1) if page > 1 else None,
                  older=filters.query(page=page + 1) if page < pages else None)

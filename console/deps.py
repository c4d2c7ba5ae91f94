"""What every console page shares: the logged-in staff member, role checks, CSRF, templates, form helpers."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bot import clock
from bot.work import Services
from staff import service as staff_service

COOKIE = "console_session"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals["jst"] = lambda moment, with_time=True: clock.format_jst(moment, with_time) if moment else "—"
templates.env.globals["ROLES"] = staff_service.ROLES

NOTICES = {
    "saved": "保存しました。", "created": "登録しました。", "cancelled": "取り消しました。",
    "event_cancelled": "中止にしました。", "day_saved": "当日の状況を更新しました。",
    "day_same": "同じ内容は もうお知らせしてあります（二度は送りません）。", "sent": "送信しました。",
    "scheduled": "送信を予約しました。", "started": "送信を開始しました。", "opened": "アンケートを開始しました。",
    "closed": "アンケートを締め切りました。", "replied": "返信を送りました。", "unlinked": "連携を解除しました。",
    "tested": "テスト送信しました。LINEで確認してください。", "unlocked": "ロックを解除しました。",
}


@dataclass
class Staff:
    id: int
    name: str
    role: str
    csrf: str
    user_id: int | None

    def can(self, role: str) -> bool:
        return staff_service.can(self.role, role)


class LoginRequired(Exception):
    """Raised for a page asked without a valid session: the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def login_redirect(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/console/login?next={quote(exc.next_path)}", status_code=303)


def runtime_of(request: Request) -> Services:
    runtime: Services = request.app.state.runtime
    return runtime


async def current_staff(request: Request) -> Staff:
    runtime = runtime_of(request)
    token = request.cookies.get(COOKIE)

    def load() -> Staff | None:
        with runtime.sessions() as session:
            found = staff_service.find_session(session, token)
            if found is None:
                return None
            row, account = found
            return Staff(account.id, account.name, account.role, row.csrf_token, account.user_id)

    staff = await run_in_threadpool(load) if token else None
    if staff is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else "/console")
    return staff


StaffDep = Annotated[Staff, Depends(current_staff)]
# A row id in a path: a positive 32-bit integer (larger ones get a 422, not a database error).
Id = Annotated[int, PathParam(ge=1, le=2_147_483_647)]


def require(role: str) -> Any:
    """A dependency: the staff member, if their role is at least `role`; else 403 with a plain reason."""

    async def check(staff: StaffDep) -> Staff:
        if not staff.can(role):
            raise HTTPException(403, f"この操作には「{staff_service.ROLES[role]}」以上の権限が必要です")
        return staff

    return Depends(check)


Editor = Annotated[Staff, require("editor")]
Admin = Annotated[Staff, require("admin")]


async def form_of(request: Request, staff: Staff) -> Any:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    given = str(form.get("csrf", ""))
    if not hmac.compare_digest(given.encode(), staff.csrf.encode()):
        raise HTTPException(403, "フォームの有効期限が切れました。ページを再読み込みしてから、もう一度操作してください")
    if any("\x00" in str(value) for value in form.values()):  # PostgreSQL cannot store it
        raise HTTPException(422, "入力に使えない文字（NUL）が含まれています")
    return form


async def checked_form(request: Request, staff: StaffDep) -> Any:
    return await form_of(request, staff)


Posted = Annotated[Any, Depends(checked_form)]


def render(request: Request, template: str, staff: Staff | None, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return templates.TemplateResponse(request, template, {"staff": staff, "notice": notice, **context},
                                      status_code=status_code)


def get_or_404(session: Any, model: Any, ident: int, what: str, *, lock: bool = False) -> Any:
    """The row (locked for update with lock=True), or a 404 that names what was not found (in Japanese)."""
    row = session.get(model, ident, with_for_update=lock)
    if row is None:
        raise HTTPException(404, f"{what}が見つかりません")
    return row


def redirect(path: str, notice: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?notice={notice}" if notice else ""), status_code=303)


def parse_local(value: str | None, what: str) -> dt.datetime:
    """A datetime-local value from a form (JST) as UTC; a typo gives a message that names the field."""
    text = (value or "").strip().replace(" ", "T")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FormError(f"{what}の日時が正しくありません（例: 2026-12-01 10:00）") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.JST)
    return moment.astimezone(dt.UTC)


def local_value(moment: dt.datetime | None) -> str:
    """A UTC datetime as a datetime-local value in JST."""
    return moment.astimezone(clock.JST).strftime("%Y-%m-%dT%H:%M") if moment else ""


templates.env.globals["local_value"] = local_value


class FormError(ValueError):
    """A form value staff typed that cannot be used; shown above the form (and next to its field, when named),
    with what they typed kept."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

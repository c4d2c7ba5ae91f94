"""Log in and out. Failed logins lock the account (5 in a row) and are rate limited per address."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from bot import clock
from console.deps import COOKIE, StaffDep, form_of, render, runtime_of
from db.models import AuditEntry
from staff import service

router = APIRouter()
LOGIN_CSRF = "console_login_csrf"
ADDRESS_LIMIT = 20  # failed logins from one address in ADDRESS_WINDOW
ADDRESS_WINDOW = dt.timedelta(minutes=10)


def _safe_next(value: str | None) -> str:
    value = value or "/console"
    return value if value.startswith("/console") and not value.startswith("//") else "/console"


def _cookie_flags(request: Request) -> dict[str, object]:
    return {"httponly": True, "samesite": "lax", "secure": runtime_of(request).settings.is_production,
            "path": "/console"}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, csrf=token, next=_safe_next(request.query_params.get("next")))
    response.set_cookie(LOGIN_CSRF, token, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]
    return response


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(request: Request) -> Response:
    form = await request.form()
    cookie = request.cookies.get(LOGIN_CSRF, "")
    next_path = _safe_next(str(form.get("next", "")))
    name = str(form.get("name", ""))[:100].replace("\x00", "")  # PostgreSQL cannot compare with a NUL
    if not cookie or not hmac.compare_digest(cookie.encode(), str(form.get("csrf", "")).encode()):
        return render(request, "login.html", None, 403, csrf=cookie, next=next_path, name=name,
                      error="ページの有効期限が切れました。もう一度ログインしてください")
    address = request.client.host if request.client else "unknown"
    runtime = runtime_of(request)

    def attempt() -> tuple[str | None, str | None]:
        with runtime.work(name or "?") as work:
            session = work.session
            recent = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "login.failed", AuditEntry.target == f"ip:{address}",
                AuditEntry.at > clock.now() - ADDRESS_WINDOW)) or 0
            if recent >= ADDRESS_LIMIT:
                return None, "ログインの失敗が多すぎます。しばらくしてからもう一度お試しください"
            result = service.authenticate(work, name=name, password=str(form.get("password", "")))
            if result.account is None:
                work.audit("login.failed", f"ip:{address}")
                return None, result.error
            token, _ = service.open_session(session, result.account)
            work.actor = result.account.name
            work.audit("login", f"ip:{address}")
            return token, None

    token, error = await run_in_threadpool(attempt)
    if token is None:
        return render(request, "login.html", None, 401, csrf=cookie, next=next_path, name=name, error=error)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(service.SESSION_TTL.total_seconds()),
                        **_cookie_flags(request))  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_CSRF, path="/console")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, staff: StaffDep) -> Response:
    await form_of(request, staff)
    runtime = runtime_of(request)

    def close() -> None:
        with runtime.work(staff.name) as work:
            service.close_session(work.session, request.cookies.get(COOKIE))
            work.audit("logout")

    await run_in_threadpool(close)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response

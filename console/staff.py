"""Staff accounts and the audit log (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, select

from console.deps import Admin, Id, Posted, get_or_404, redirect, render, runtime_of
from db.base import transaction
from db.models import StaffAccount, StaffSession, User
from staff import service

router = APIRouter()


def _page(request: Request, staff: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        accounts = list(session.execute(select(StaffAccount, User.display_name).outerjoin(
            User, User.id == StaffAccount.user_id).order_by(StaffAccount.id)))
    return render(request, "staff.html", staff, status_code, accounts=accounts, **context)


def _get(session: Any, staff_id: Id) -> StaffAccount:
    return get_or_404(session, StaffAccount, staff_id, "職員")


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def accounts(request: Request, staff: Admin) -> HTMLResponse:
    return _page(request, staff)


@router.post("/staff", response_class=HTMLResponse, include_in_schema=False)
def create(request: Request, staff: Admin, form: Posted) -> Response:
    try:
        with transaction(runtime_of(request).sessions) as session:
            account = service.create(session, name=str(form.get("name", "")), password=str(form.get("password", "")),
                                     role=str(form.get("role", "")))
            service.record(session, actor=staff.name, action="staff.create", target=f"staff:{account.id}",
                           detail=f"{account.name} ({account.role})")
    except service.StaffError as exc:
        return _page(request, staff, 422, error=str(exc), form=form)
    return redirect("/console/staff", "created")


@router.post("/staff/{staff_id}", response_class=HTMLResponse, include_in_schema=False)
def change(request: Request, staff: Admin, form: Posted, staff_id: Id) -> Response:
    """Unlock, change the role, link a LINE user (for test sends), deactivate (ends their sessions)."""
    action = str(form.get("action", ""))
    try:
        with transaction(runtime_of(request).sessions) as session:
            account = _get(session, staff_id)
            if action == "unlock":
                account.locked_until, account.failed_logins = None, 0
            elif action == "role" and str(form.get("role")) in service.ROLES:
                account.role = str(form.get("role"))
            elif action == "line":
                line_user_id = str(form.get("line_user_id", "")).strip()
                user = session.scalars(select(User).where(User.line_user_id == line_user_id)).one_or_none()
                if line_user_id and user is None:
                    raise service.StaffError("そのLINEユーザーIDの友だちはいません"
                                             "（先にボットを友だち追加してください）")
                account.user_id = user.id if user else None
            elif action == "deactivate" and account.id != staff.id:
                account.active = False
                session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
            else:
                raise service.StaffError("この操作はできません")
            service.record(session, actor=staff.name, action=f"staff.{action}", target=f"staff:{account.id}",
                           detail=account.name)
    except service.StaffError as exc:
        return _page(request, staff, 422, error=str(exc))
    return redirect("/console/staff", "saved")


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit(request: Request, staff: Admin) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        entries = service.audit_log(session, limit=500)
    return render(request, "audit.html", staff, entries=entries)

"""Staff accounts and the audit log (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.deps import Admin, Id, Posted, Staff, get_or_404, redirect, render, runtime_of
from db.models import StaffAccount, User
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


@router.post("/staff/{staff_id}", response_class=HTMLResponse, include_in_schema=False)
def change(request: Request, staff: Admin, form: Posted, staff_id: Id) -> Response:
    """Unlock, change the role, link a LINE user (for test sends), deactivate (ends their sessions)."""
    try:
        with runtime_of(request).work(staff.name) as work:
            service.change(work, _get(work.session, staff_id), action=str(form.get("action", "")), acting_id=staff.id,
                           role=str(form.get("role", "")), line_user_id=str(form.get("line_user_id", "")))
    except service.StaffError as exc:
        return _page(request, staff, 422, error=str(exc))
    return redirect("/console/staff", "saved")


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit(request: Request, staff: Admin) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        entries = service.audit_log(session, limit=500)
    return render(request, "audit.html", staff, entries=entries)

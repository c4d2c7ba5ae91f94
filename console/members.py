"""Council members in the console: register, link codes printed as a sheet, 部会, linked or not, unlink."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inputs import InputError, validate
from console.deps import Editor, Id, Posted, Staff, StaffDep, redirect, render, runtime_of
from db.models import Member, Subcommittee
from members import service
from members.service import MemberInput

router = APIRouter(prefix="/members")


def _rows(session: Session) -> list[tuple[Member, str | None]]:
    return [(member, name) for member, name in session.execute(
        service.with_subcommittees().order_by(Subcommittee.name, Member.id))]


def _page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        subcommittees = service.subcommittee_names(session)
        return render(request, "members.html", staff, status_code, rows=_rows(session), subcommittees=subcommittees,
                      **context)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_members(request: Request, staff: StaffDep) -> HTMLResponse:
    return _page(request, staff)


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def register(request: Request, staff: Editor, form: Posted) -> Response:
    term_text = str(form.get("term_end", "")).strip()
    try:
        term_end = dt.date.fromisoformat(term_text) if term_text else None
    except ValueError:
        return _page(request, staff, 422, error="任期の日付が正しくありません（例: 2027-03-31）", form=form)
    try:
        data = validate(MemberInput, {"name": str(form.get("name", "")), "term_end": term_end,
                                      "subcommittee": str(form.get("subcommittee", ""))})
    except InputError as exc:
        return _page(request, staff, 422, error=exc.japanese(), form=form)
    with runtime_of(request).work(staff.name) as work:
        service.create(work, data)
    return redirect("/console/members", "created")


@router.post("/codes", response_class=HTMLResponse, include_in_schema=False)
def issue_codes(request: Request, staff: Editor, form: Posted) -> HTMLResponse:
    """New one-time codes for the ticked members, on a sheet to print (codes are shown this once)."""
    ids = [int(v) for v in form.getlist("member_id") if str(v).isdigit()]
    if not ids:
        return _page(request, staff, 422, error="コードを発行する委員を選んでください")
    with runtime_of(request).work(staff.name) as work:
        rows = work.session.execute(service.with_subcommittees(
            select(Member).where(Member.id.in_(ids), Member.active.is_(True))).order_by(Member.id)).all()
        issued = service.issue_link_codes(work, [member for member, _name in rows])
        names = {member.id: name for member, name in rows}
        sheet = [{"name": member.name, "subcommittee": names[member.id], "code": code, "expires_at": expires_at}
                 for member, code, expires_at in issued]
    return render(request, "codes.html", staff, sheet=sheet)


@router.post("/{member_id}/unlink", include_in_schema=False)
def unlink(request: Request, staff: Editor, form: Posted, member_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        member = work.session.get(Member, member_id)
        if member is None:
            raise HTTPException(404, "委員が見つかりません")
        service.unlink(work, member)
    return redirect("/console/members", "unlinked")

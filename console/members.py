"""Council members in the console: register, link codes printed as a sheet, 部会, linked or not, unlink."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from console.deps import Editor, Id, Posted, StaffDep, redirect, render, runtime_of
from db.base import transaction
from db.models import Member, Subcommittee
from members import service
from staff.service import record

router = APIRouter(prefix="/members")


def _rows(session: Any) -> list[tuple[Member, str | None]]:
    return list(session.execute(select(Member, Subcommittee.name).outerjoin(
        Subcommittee, Subcommittee.id == Member.subcommittee_id).where(Member.active.is_(True))
        .order_by(Subcommittee.name, Member.id)))


def _page(request: Request, staff: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        subcommittees = list(session.scalars(select(Subcommittee.name).order_by(Subcommittee.id)))
        return render(request, "members.html", staff, status_code, rows=_rows(session), subcommittees=subcommittees,
                      **context)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_members(request: Request, staff: StaffDep) -> HTMLResponse:
    return _page(request, staff)


@router.post("", response_class=HTMLResponse, include_in_schema=False)
def register(request: Request, staff: Editor, form: Posted) -> Response:
    name = str(form.get("name", "")).strip()
    subcommittee = str(form.get("subcommittee", "")).strip() or None
    term_text = str(form.get("term_end", "")).strip()
    error = None
    if not name or len(name) > 100:
        error = "名前を100文字以内で入れてください"
    elif subcommittee and len(subcommittee) > 100:
        error = "部会の名前は100文字までです"
    term_end = None
    if term_text and error is None:
        try:
            term_end = dt.date.fromisoformat(term_text)
        except ValueError:
            error = "任期の日付が正しくありません（例: 2027-03-31）"
    if error:
        return _page(request, staff, 422, error=error, form=form)
    with transaction(runtime_of(request).sessions) as session:
        member = service.create(session, name=name, subcommittee=subcommittee, term_end=term_end)
        record(session, actor=staff.name, action="member.create", target=f"member:{member.id}", detail=name)
    return redirect("/console/members", "created")


@router.post("/codes", response_class=HTMLResponse, include_in_schema=False)
def issue_codes(request: Request, staff: Editor, form: Posted) -> HTMLResponse:
    """New one-time codes for the ticked members, on a sheet to print (codes are shown this once)."""
    ids = [int(v) for v in form.getlist("member_id") if str(v).isdigit()]
    if not ids:
        return _page(request, staff, 422, error="コードを発行する委員を選んでください")
    sheet = []
    with transaction(runtime_of(request).sessions) as session:
        for member, subcommittee in session.execute(select(Member, Subcommittee.name).outerjoin(
                Subcommittee, Subcommittee.id == Member.subcommittee_id)
                .where(Member.id.in_(ids), Member.active.is_(True)).order_by(Member.id)):
            code, expires_at = service.issue_link_code(session, member=member)
            sheet.append({"name": member.name, "subcommittee": subcommittee, "code": code,
                          "expires_at": expires_at})
        record(session, actor=staff.name, action="member.codes", detail=f"{len(sheet)}人分のコードを発行")
    return render(request, "codes.html", staff, sheet=sheet)


@router.post("/{member_id}/unlink", include_in_schema=False)
def unlink(request: Request, staff: Editor, form: Posted, member_id: Id) -> Response:
    runtime = runtime_of(request)
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        if member is None:
            raise HTTPException(404, "委員が見つかりません")
        service.unlink(session, member=member, outbox=runtime.gateway.outbox)
        record(session, actor=staff.name, action="member.unlink", target=f"member:{member.id}", detail=member.name)
    runtime.gateway.wake()
    return redirect("/console/members", "unlinked")

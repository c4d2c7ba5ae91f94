"""Opinions in the console: the inbox, status (未読 / 対応中 / 回答済), a reply pushed to the sender, CSV."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inputs import InputError, validate
from console.deps import Editor, Id, Posted, StaffDep, get_or_404, redirect, render, runtime_of
from db.models import Event, Opinion, User
from opinions import service
from opinions.service import ReplyInput

router = APIRouter(prefix="/opinions")


def _get(session: Session, opinion_id: Id) -> Opinion:
    return get_or_404(session, Opinion, opinion_id, "ご意見")


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def inbox(request: Request, staff: StaffDep, status: str = "") -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        query = select(Opinion, Event.title).outerjoin(Event, Event.id == Opinion.event_id)
        if status in service.STATUSES:
            query = query.where(Opinion.status == status)
        rows = list(session.execute(query.order_by(Opinion.id.desc()).limit(300)))
    return render(request, "opinions.html", staff, rows=rows, status=status, statuses=service.STATUSES)


@router.get(".csv", include_in_schema=False)
def export(request: Request, staff: StaffDep) -> Response:
    with runtime_of(request).sessions() as session:
        return Response(service.export_csv(session), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="opinions.csv"'})


@router.get("/{opinion_id}", response_class=HTMLResponse, include_in_schema=False)
def show(request: Request, staff: StaffDep, opinion_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        opinion = _get(session, opinion_id)
        event = session.get(Event, opinion.event_id) if opinion.event_id else None
        user = session.get(User, opinion.user_id) if opinion.user_id else None
    return render(request, "opinion.html", staff, opinion=opinion, event=event, statuses=service.STATUSES,
                  reachable=user is not None and user.is_reachable)


@router.post("/{opinion_id}/status", include_in_schema=False)
def mark(request: Request, staff: Editor, form: Posted, opinion_id: Id) -> Response:
    status = str(form.get("status", ""))
    if status not in service.STATUSES:
        raise HTTPException(422, "状態を選んでください")
    with runtime_of(request).work(staff.name) as work:
        service.set_status(work, _get(work.session, opinion_id), status)
    return redirect(f"/console/opinions/{opinion_id}", "saved")


@router.post("/{opinion_id}/reply", response_class=HTMLResponse, include_in_schema=False)
def reply(request: Request, staff: Editor, form: Posted, opinion_id: Id) -> Response:
    runtime = runtime_of(request)
    body = str(form.get("reply", ""))
    try:
        data = validate(ReplyInput, {"text": body})
    except InputError:
        with runtime.sessions() as session:
            opinion = _get(session, opinion_id)
        return render(request, "opinion.html", staff, 422, opinion=opinion, event=None, statuses=service.STATUSES,
                      reachable=True, draft=body.strip(),
                      error=f"返信を{service.REPLY_LIMIT}文字以内で入れてください")
    with runtime.work(staff.name) as work:
        service.reply(work, _get(work.session, opinion_id), data)
    return redirect(f"/console/opinions/{opinion_id}", "replied")

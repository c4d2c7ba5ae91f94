"""Opinions in the console: the inbox, status (未読 / 対応中 / 回答済), a reply pushed to the sender, CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from console.deps import Editor, Id, Posted, StaffDep, get_or_404, redirect, render, runtime_of
from db.base import transaction
from db.models import Event, Opinion, User
from opinions import service
from staff.service import record

router = APIRouter(prefix="/opinions")
REPLY_LIMIT = 4000


def _get(session: Any, opinion_id: Id) -> Opinion:
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
    with transaction(runtime_of(request).sessions) as session:
        opinion = _get(session, opinion_id)
        opinion.status = status
        record(session, actor=staff.name, action="opinion.status", target=f"opinion:{opinion.id}",
               detail=service.STATUSES[status])
    return redirect(f"/console/opinions/{opinion_id}", "saved")


@router.post("/{opinion_id}/reply", response_class=HTMLResponse, include_in_schema=False)
def reply(request: Request, staff: Editor, form: Posted, opinion_id: Id) -> Response:
    runtime = runtime_of(request)
    body = str(form.get("reply", "")).strip()
    if not body or len(body) > REPLY_LIMIT:
        with runtime.sessions() as session:
            opinion = _get(session, opinion_id)
        return render(request, "opinion.html", staff, 422, opinion=opinion, event=None, statuses=service.STATUSES,
                      reachable=True, draft=body, error=f"返信を{REPLY_LIMIT}文字以内で入れてください")
    with transaction(runtime.sessions) as session:
        opinion = _get(session, opinion_id)
        pushed = service.reply(session, opinion=opinion, body=body, outbox=runtime.gateway.outbox)
        record(session, actor=staff.name, action="opinion.reply", target=f"opinion:{opinion.id}",
               detail=("LINEで送信" if pushed else "送信先なし（ブロック等）") + f": {body[:200]}")
    runtime.gateway.wake()
    return redirect(f"/console/opinions/{opinion_id}", "replied")

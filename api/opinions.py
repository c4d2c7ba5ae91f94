"""Opinions for staff: list, mark, reply (pushed to the sender), export as CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, not_found
from db.models import Opinion
from opinions import service
from opinions.service import ReplyInput

router = APIRouter(prefix="/opinions", tags=["opinions"])
Status = Literal["unread", "in_progress", "answered"]


class OpinionOut(BaseModel):
    id: int
    kind: str
    category: str
    event_id: int | None
    text: str
    name: str | None
    status: Status
    reply_text: str | None
    replied_at: dt.datetime | None
    created_at: dt.datetime


class StatusIn(BaseModel):
    status: Status


def _get(session: Session, opinion_id: Id) -> Opinion:
    opinion = session.get(Opinion, opinion_id)
    if opinion is None:
        raise not_found("opinion")
    return opinion


def _out(opinion: Opinion) -> OpinionOut:
    return OpinionOut.model_validate(opinion, from_attributes=True)


@router.get("", response_model=list[OpinionOut])
def list_opinions(runtime: RuntimeDep, status: Status | None = None) -> list[OpinionOut]:
    with runtime.sessions() as session:
        query = select(Opinion).order_by(Opinion.id.desc())
        if status:
            query = query.where(Opinion.status == status)
        return [_out(o) for o in session.scalars(query)]


@router.get(".csv", response_class=Response)
def export(runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:
        return Response(service.export_csv(session), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="opinions.csv"'})


@router.patch("/{opinion_id}", response_model=OpinionOut)
def mark(opinion_id: Id, body: StatusIn, runtime: RuntimeDep) -> OpinionOut:
    with runtime.work(API_ACTOR) as work:
        opinion = _get(work.session, opinion_id)
        service.set_status(work, opinion, body.status)
        return _out(opinion)


@router.post("/{opinion_id}/reply")
def reply(opinion_id: Id, body: ReplyInput, runtime: RuntimeDep) -> dict[str, Any]:
    """Answer the sender in LINE; the opinion becomes 回答済."""
    with runtime.work(API_ACTOR) as work:
        opinion = _get(work.session, opinion_id)
        pushed = service.reply(work, opinion, body)
        return {**_out(opinion).model_dump(mode="json"), "pushed": pushed}

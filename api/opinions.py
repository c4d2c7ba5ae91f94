"""Opinions for staff: list, mark, reply (pushed to the sender), export as CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import Id, RuntimeDep, not_found
from db.base import transaction
from db.models import Opinion
from opinions import service

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


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


def _get(session: Any, opinion_id: Id) -> Opinion:
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
    with transaction(runtime.sessions) as session:
        opinion = _get(session, opinion_id)
        opinion.status = body.status
        return _out(opinion)


@router.post("/{opinion_id}/reply")
def reply(opinion_id: Id, body: ReplyIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Answer the sender in LINE; the opinion becomes 回答済."""
    with transaction(runtime.sessions) as session:
        opinion = _get(session, opinion_id)
        pushed = service.reply(session, opinion=opinion, body=body.text, outbox=runtime.gateway.outbox)
        result = {**_out(opinion).model_dump(mode="json"), "pushed": pushed}
    runtime.gateway.wake()
    return result

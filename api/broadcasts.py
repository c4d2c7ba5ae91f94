"""Broadcasts for automation: create (or dry-run), read status and counts, cancel before it starts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from api.deps import Id, Moment, RuntimeDep, not_found
from broadcasts import service
from db.base import transaction
from db.models import Broadcast
from staff.service import record

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])


class TextItem(BaseModel):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=5000)


class EventItem(BaseModel):
    type: Literal["event"]
    event_id: int = Field(ge=1, le=2_147_483_647)


class SurveyItem(BaseModel):
    type: Literal["survey"]
    survey_id: int = Field(ge=1, le=2_147_483_647)


class ImageItem(BaseModel):
    type: Literal["image"]
    image_url: str = Field(pattern=r"^https://", max_length=1000)
    link_url: str | None = Field(None, pattern=r"^https://", max_length=1000)
    caption: str | None = Field(None, max_length=100)


Item = Annotated[TextItem | EventItem | SurveyItem | ImageItem, Field(discriminator="type")]


class Audience(BaseModel):
    kind: Literal["all", "residents", "members", "subcommittees", "category"]
    subcommittees: list[str] = Field(default_factory=list, max_length=50, description="部会 names")
    category: str | None = Field(None, description="通知設定 category, e.g. まつり")


class BroadcastIn(BaseModel):
    title: str = Field(min_length=1, max_length=100, description="for staff only")
    messages: list[Item] = Field(min_length=1, max_length=5)
    audience: Audience
    scheduled_at: Moment | None = Field(None, description="null: now")
    urgent: bool = Field(False, description="防災: sent also in the quiet hours")
    dry_run: bool = Field(False, description="only count: nothing is stored or sent")


class Counts(BaseModel):
    recipients: int
    sent: int
    failed: int
    pending: int
    skipped: int
    percent: int


class BroadcastOut(BaseModel):
    id: int
    title: str
    status: str
    audience: dict[str, Any]
    urgent: bool
    scheduled_at: dt.datetime | None
    starts_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: Counts


class DryRunOut(BaseModel):
    dry_run: Literal[True] = True
    recipients: int
    blocked: int
    quota_use: int
    quota_left: int | None


def _unprocessable(exc: service.BroadcastError) -> HTTPException:
    return HTTPException(422, [{"loc": ["body"], "msg": str(exc),
                                                                 "type": "value_error"}])


def out(session: Any, broadcast: Broadcast, runtime: Any) -> BroadcastOut:
    settings = runtime.settings
    return BroadcastOut(
        id=broadcast.id, title=broadcast.title, status=broadcast.status, audience=broadcast.audience,
        urgent=broadcast.urgent, scheduled_at=broadcast.scheduled_at,
        starts_at=service.starts_at(broadcast, settings.quiet_hours_start, settings.quiet_hours_end),
        started_at=broadcast.started_at, finished_at=broadcast.finished_at,
        counts=Counts(**service.progress(session, broadcast)))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BroadcastOut | DryRunOut,
             responses={200: {"model": DryRunOut, "description": "dry_run: the count and quota use"}})
async def create_broadcast(body: BroadcastIn, runtime: RuntimeDep, response: Response) -> BroadcastOut | DryRunOut:
    items = [m.model_dump(exclude_none=True) for m in body.messages]
    audience = body.audience.model_dump(exclude_none=True)
    if body.dry_run:
        with runtime.sessions() as session:
            try:
                service.build_messages(session, items, runtime.settings.public_base_url)
                counted = service.count(session, service.normalise_audience(session, audience))
            except service.BroadcastError as exc:
                raise _unprocessable(exc) from None
        quota = await runtime.gateway.quota()
        response.status_code = status.HTTP_200_OK
        return DryRunOut(recipients=counted.reachable, blocked=counted.blocked, quota_use=counted.quota_use,
                         quota_left=quota["left"] if quota else None)
    with transaction(runtime.sessions) as session:
        try:
            broadcast = service.create(session, title=body.title, items=items, audience=audience, actor="api",
                                       base_url=runtime.settings.public_base_url, urgent=body.urgent)
            service.schedule(session, broadcast, at=body.scheduled_at)
        except service.BroadcastError as exc:
            raise _unprocessable(exc) from None
        record(session, actor="api", action="broadcast.schedule", target=f"broadcast:{broadcast.id}",
               detail=f"{broadcast.title} → {service.describe_audience(broadcast.audience)}")
        result = out(session, broadcast, runtime)
    runtime.kick_broadcasts()
    return result


@router.get("/{broadcast_id}", response_model=BroadcastOut)
def get_broadcast(broadcast_id: Id, runtime: RuntimeDep) -> BroadcastOut:
    with runtime.sessions() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise not_found("broadcast")
        return out(session, broadcast, runtime)


@router.post("/{broadcast_id}/cancel", response_model=BroadcastOut,
             responses={409: {"description": "it has already started, finished or been cancelled"}})
def cancel_broadcast(broadcast_id: Id, runtime: RuntimeDep) -> BroadcastOut:
    with transaction(runtime.sessions) as session:
        broadcast = session.get(Broadcast, broadcast_id, with_for_update=True)
        if broadcast is None:
            raise not_found("broadcast")
        try:
            service.cancel(session, broadcast)
        except service.BroadcastError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        record(session, actor="api", action="broadcast.cancel", target=f"broadcast:{broadcast.id}")
        return out(session, broadcast, runtime)

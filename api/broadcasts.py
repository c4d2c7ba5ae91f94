"""Broadcasts for automation: create (or dry-run), read status and counts, cancel before it starts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, Moment, RuntimeDep, invalid, not_found
from bot.inputs import InputError
from bot.work import Services
from broadcasts import service
from broadcasts.service import BroadcastInput
from db.models import Broadcast

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])


class BroadcastIn(BroadcastInput):
    scheduled_at: Moment | None = Field(None, description="null: now")
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


def out(session: Session, broadcast: Broadcast, runtime: Services) -> BroadcastOut:
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
    if body.dry_run:
        with runtime.sessions() as session:
            try:
                service.build_messages(session, body.items(), runtime.settings.public_base_url)
                counted = service.count(session, service.normalise_audience(session, body.audience.model_dump()))
            except InputError as exc:
                raise invalid(exc) from None
        quota = await runtime.gateway.quota()
        response.status_code = status.HTTP_200_OK
        return DryRunOut(recipients=counted.reachable, blocked=counted.blocked, quota_use=counted.quota_use,
                         quota_left=quota["left"] if quota else None)
    try:
        with runtime.work(API_ACTOR) as work:
            broadcast = service.create(work, body)
            service.schedule(work, broadcast, at=body.scheduled_at)
            result = out(work.session, broadcast, runtime)
    except InputError as exc:
        raise invalid(exc) from None
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
    with runtime.work(API_ACTOR) as work:
        broadcast = work.session.get(Broadcast, broadcast_id, with_for_update=True)
        if broadcast is None:
            raise not_found("broadcast")
        try:
            service.cancel(work, broadcast)
        except service.BroadcastError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return out(work.session, broadcast, runtime)

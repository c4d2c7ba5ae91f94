"""Events: create, list, read, change (reminders follow; a cancellation or a move sends notices), delete."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field, HttpUrl, model_validator
from sqlalchemy import select

from api.deps import Id, Moment, RuntimeDep, not_found
from db.base import transaction
from db.models import Event, Reminder, Subcommittee
from events import service

router = APIRouter(prefix="/events", tags=["events"])
Kind = Literal["festival", "event", "lecture", "plenary", "subcommittee"]
Visibility = Literal["public", "members", "subcommittee"]
Status = Literal["scheduled", "cancelled", "rain_cancelled", "changed"]


class Document(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    url: HttpUrl


class EventFields(BaseModel):
    title_en: str | None = Field(None, max_length=100)
    all_day: bool = False
    venue: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    description: str | None = Field(None, max_length=5000)
    description_en: str | None = Field(None, max_length=5000)
    url: HttpUrl | None = None
    image_url: HttpUrl | None = None
    visibility: Visibility = "public"
    subcommittee: str | None = Field(None, description="部会 name, for visibility 'subcommittee'")
    tags: list[str] = Field(default_factory=list, max_length=20)
    keywords: list[str] = Field(default_factory=list, max_length=20, description="readings, other names")
    status: Status = "scheduled"
    documents: list[Document] = Field(default_factory=list, max_length=20)
    reminder_hours: list[int] | None = Field(None, max_length=5, description="hours before; null: the defaults")


class EventIn(EventFields):
    title: str = Field(min_length=1, max_length=100)
    kind: Kind
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _order(self) -> EventIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class EventPatch(BaseModel):
    """Only the fields given change."""

    title: str | None = Field(None, min_length=1, max_length=100)
    kind: Kind | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    title_en: str | None = None
    venue: str | None = None
    address: str | None = None
    description: str | None = None
    url: HttpUrl | None = None
    status: Status | None = None
    documents: list[Document] | None = None
    reminder_hours: list[int] | None = None
    tags: list[str] | None = None
    keywords: list[str] | None = None


def _out(event: Event, session: Any) -> dict[str, Any]:
    reminders = session.scalars(select(Reminder).where(Reminder.event_id == event.id).order_by(Reminder.due_at))
    return {
        "id": event.id, "title": event.title, "title_en": event.title_en, "kind": event.kind,
        "starts_at": event.starts_at, "ends_at": event.ends_at, "all_day": event.all_day, "venue": event.venue,
        "address": event.address, "latitude": event.latitude, "longitude": event.longitude,
        "description": event.description, "url": event.url, "image_url": event.image_url,
        "visibility": event.visibility, "subcommittee_id": event.subcommittee_id, "tags": event.tags,
        "keywords": event.keywords, "status": event.status, "documents": event.documents,
        "reminders": [{"label": r.label, "due_at": r.due_at, "status": r.status} for r in reminders],
    }


def _get(session: Any, event_id: Id) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise not_found("event")
    return event


def _subcommittee_id(session: Any, name: str | None, visibility: str) -> int | None:
    if visibility != "subcommittee":
        return None
    found = session.scalars(select(Subcommittee.id).where(Subcommittee.name == (name or "").strip())).one_or_none()
    if found is None:
        raise HTTPException(422, [{"loc": ["body", "subcommittee"], "msg": f"unknown 部会 '{name}'",
                                   "type": "value_error"}])
    return found


@router.post("", status_code=status.HTTP_201_CREATED)
def create_event(body: EventIn, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        data = body.model_dump(mode="json", exclude={"subcommittee", "starts_at", "ends_at"})
        event = Event(**data, starts_at=body.starts_at, ends_at=body.ends_at,
                      subcommittee_id=_subcommittee_id(session, body.subcommittee, body.visibility))
        session.add(event)
        session.flush()
        service.schedule_reminders(session, event=event)
        return _out(event, session)


@router.get("")
def list_events(runtime: RuntimeDep, upcoming: bool = True) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        query = select(Event).order_by(Event.starts_at)
        if upcoming:
            query = query.where(Event.ends_at >= dt.datetime.now(dt.UTC))
        return [_out(e, session) for e in session.scalars(query)]


@router.get("/{event_id}")
def get_event(event_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions() as session:
        event = _get(session, event_id)
        return _out(event, session)


@router.patch("/{event_id}")
def change_event(event_id: Id, body: EventPatch, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        event = _get(session, event_id)
        before = service.snapshot(event)
        changes = body.model_dump(mode="json", exclude_unset=True, exclude={"starts_at", "ends_at"})
        for key, value in changes.items():
            setattr(event, key, value)
        if body.starts_at is not None:
            event.starts_at = body.starts_at
        if body.ends_at is not None:
            event.ends_at = body.ends_at
        if event.ends_at <= event.starts_at:
            raise HTTPException(422, [{"loc": ["body", "ends_at"], "msg": "ends_at must be after starts_at",
                                       "type": "value_error"}])
        notified = service.apply_change(session, event=event, before=before, outbox=runtime.gateway.outbox,
                                        base_url=runtime.settings.public_base_url)
        result = {**_out(event, session), "notified": notified}
    runtime.gateway.wake()
    return result


@router.get("/{event_id}/attendance")
def get_attendance(event_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    """Per meeting: who will attend, who is absent, who has not answered, who has read the documents."""
    with runtime.sessions() as session:
        event = _get(session, event_id)
        return service.attendance(session, event)


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_event(event_id: Id, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        event = _get(session, event_id)
        session.delete(event)
    return Response(status_code=204)

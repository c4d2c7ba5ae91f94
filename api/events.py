"""Events: create, list, read, change (reminders follow; a cancellation or a move sends notices), delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import API_ACTOR, Id, RuntimeDep, invalid, not_found
from bot.inputs import InputError
from db.models import Event, Reminder
from events import service
from events.schema import DayStatusInput, EventChange, EventInput
from members import service as members

router = APIRouter(prefix="/events", tags=["events"])


def _out(event: Event, session: Session) -> dict[str, Any]:
    reminders = session.scalars(select(Reminder).where(Reminder.event_id == event.id).order_by(Reminder.due_at))
    return {
        "id": event.id, "title": event.title, "title_en": event.title_en, "kind": event.kind,
        "starts_at": event.starts_at, "ends_at": event.ends_at, "all_day": event.all_day, "venue": event.venue,
        "address": event.address, "latitude": event.latitude, "longitude": event.longitude,
        "description": event.description, "description_en": event.description_en, "url": event.url,
        "image_url": event.image_url,
        "visibility": event.visibility, "subcommittee_id": event.subcommittee_id,
        "subcommittee": members.subcommittee_name(session, event.subcommittee_id), "tags": event.tags,
        "keywords": event.keywords, "status": event.status, "documents": event.documents,
        "reminder_hours": event.reminder_hours, "status_message": event.status_message,
        "status_at": event.status_at, "status_urgent": event.status_urgent, "answers": event.answers,
        "free": event.free, "faq": event.faq,
        "reminders": [{"label": r.label, "due_at": r.due_at, "status": r.status} for r in reminders],
    }


def _get(session: Session, event_id: Id) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise not_found("event")
    return event


@router.post("", status_code=status.HTTP_201_CREATED)
def create_event(body: EventInput, runtime: RuntimeDep) -> dict[str, Any]:
    try:
        with runtime.work(API_ACTOR) as work:
            return _out(service.create(work, body), work.session)
    except InputError as exc:
        raise invalid(exc) from None


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
def change_event(event_id: Id, body: EventChange, runtime: RuntimeDep) -> dict[str, Any]:  # type: ignore[valid-type]
    """Change the fields given; the result must be a valid event (checked as a new one would be). Reminders
    follow; a cancellation or a new time notifies who subscribed or asked (`notified`)."""
    try:
        with runtime.work(API_ACTOR) as work:
            event = _get(work.session, event_id)
            notified = service.update(work, event, body.model_dump(exclude_unset=True))
            return {**_out(event, work.session), "notified": notified}
    except InputError as exc:
        raise invalid(exc) from None


@router.post("/{event_id}/day-status")
def set_day_status(event_id: Id, body: DayStatusInput, runtime: RuntimeDep) -> dict[str, Any]:
    """On the day: 開催 (held) / 中止 (cancelled; with rain, 雨天中止) / 延期 (postponed) / 内容変更 (changed) with a
    short message. Cards and answers show it at once; who subscribed or asked about the event in the last 30 days
    is told once (`notified`; the same status and message again tells nobody). The notice is not held by the quiet
    hours unless the event's status_urgent is false (`notices_at`: when it leaves)."""
    try:
        with runtime.work(API_ACTOR) as work:
            event = work.session.get(Event, event_id, with_for_update=True)
            if event is None:
                raise not_found("event")
            notified = service.set_day_status(work, event, body.status, message=body.message, rain=body.rain)
            at = work.not_before(urgent=event.status_urgent) if notified else None
            return {**_out(event, work.session), "notified": notified, "notices_at": at}
    except InputError as exc:
        raise invalid(exc) from None


@router.get("/{event_id}/attendance")
def get_attendance(event_id: Id, runtime: RuntimeDep) -> dict[str, Any]:
    """Per meeting: who will attend, who is absent, who has not answered, who has read the documents."""
    with runtime.sessions() as session:
        event = _get(session, event_id)
        return service.attendance(session, event)


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_event(event_id: Id, runtime: RuntimeDep) -> Response:
    with runtime.work(API_ACTOR) as work:
        service.delete(work, _get(work.session, event_id))
    return Response(status_code=204)

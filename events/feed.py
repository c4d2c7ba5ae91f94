"""GET /events.ics and /events/{id}.ics: public events as iCalendar, for residents' phone calendars."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from db.models import Event
from events import messages
from events.schema import Visibility

router = APIRouter(include_in_schema=False)
ICS = "text/calendar; charset=utf-8"


@router.get("/events.ics")
async def feed(request: Request) -> Response:
    runtime = request.app.state.runtime

    def build() -> bytes:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        with runtime.sessions() as session:
            events = session.scalars(select(Event).where(Event.visibility == Visibility.PUBLIC, Event.ends_at >= since)
                                     .order_by(Event.starts_at)).all()
            return messages.ics(list(events), runtime.settings.public_base_url)

    return Response(await run_in_threadpool(build), media_type=ICS)


@router.get("/events/{event_id}.ics")
async def one(event_id: int, request: Request) -> Response:
    runtime = request.app.state.runtime

    def build() -> bytes | None:
        with runtime.sessions() as session:
            event = session.get(Event, event_id)
            if event is None or event.visibility != "public":
                return None
            return messages.ics([event], runtime.settings.public_base_url)

    data = await run_in_threadpool(build)
    if data is None:
        raise HTTPException(404, "event not found")
    disposition = f'attachment; filename="event-{event_id}.ics"'
    return Response(data, media_type=ICS, headers={"Content-Disposition": disposition})

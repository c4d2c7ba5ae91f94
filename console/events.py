"""Events in the console: list, create, edit, cancel (reminders follow; a cancellation sends notices)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from bot import clock
from console.deps import Editor, FormError, Id, Posted, StaffDep, get_or_404, parse_local, redirect, render, runtime_of
from db.base import transaction
from db.models import Event, Subcommittee
from events import service
from staff.service import record

router = APIRouter(prefix="/events")
KINDS = {"festival": "まつり", "event": "イベント", "lecture": "講座", "plenary": "全体会議", "subcommittee": "部会"}
STATUSES = {"scheduled": "予定どおり", "changed": "変更あり", "cancelled": "中止", "rain_cancelled": "雨天中止"}
VISIBILITY = {"public": "区民みんな", "members": "委員のみ", "subcommittee": "部会の委員のみ"}
TEXT_FIELDS = {"title": 100, "title_en": 100, "venue": 200, "address": 300, "description": 5000, "url": 1000}


def _get(session: Any, event_id: Id) -> Event:
    return get_or_404(session, Event, event_id, "イベント")


def _choices(session: Any) -> dict[str, Any]:
    return {"kinds": KINDS, "statuses": STATUSES, "visibility": VISIBILITY,
            "subcommittees": list(session.scalars(select(Subcommittee.name).order_by(Subcommittee.id)))}


def _apply(session: Any, event: Event, form: Any) -> None:
    """Form values onto the event; FormError names the first field that cannot be used."""
    values = {key: str(form.get(key, "")).strip() for key in TEXT_FIELDS}
    for key, limit in TEXT_FIELDS.items():
        if len(values[key]) > limit:
            raise FormError(f"{key} は{limit}文字までです")
    if not values["title"]:
        raise FormError("イベント名を入れてください")
    if values["url"] and not values["url"].startswith(("https://", "http://")):
        raise FormError("URL は https:// で始めてください")
    kind, status, visibility = (str(form.get(k, "")) for k in ("kind", "status", "visibility"))
    if kind not in KINDS or status not in STATUSES or visibility not in VISIBILITY:
        raise FormError("種類・状態・公開範囲を選んでください")
    starts_at = parse_local(str(form.get("starts_at", "")), "開始")
    ends_at = parse_local(str(form.get("ends_at", "")), "終了")
    if ends_at <= starts_at:
        raise FormError("終了は開始より後にしてください")
    subcommittee_id = None
    if visibility == "subcommittee":
        name = str(form.get("subcommittee", "")).strip()
        subcommittee_id = session.scalar(select(Subcommittee.id).where(Subcommittee.name == name))
        if subcommittee_id is None:
            raise FormError("部会を選んでください")
    for key, value in values.items():
        setattr(event, key, value or None)
    event.title = values["title"]
    event.kind, event.status, event.visibility, event.subcommittee_id = kind, status, visibility, subcommittee_id
    event.starts_at, event.ends_at, event.all_day = starts_at, ends_at, form.get("all_day") == "on"
    event.keywords = [w.strip() for w in str(form.get("keywords", "")).replace("、", ",").split(",") if w.strip()][:20]
    documents = []
    for line in str(form.get("documents", "")).splitlines():
        if line.strip():
            title, _, url = line.rpartition("|") if "|" in line else ("資料", "", line)
            if not url.strip().startswith("https://"):
                raise FormError(f"資料のURLは https:// で始めてください: {line.strip()[:60]}")
            documents.append({"title": title.strip() or "資料", "url": url.strip()})
    event.documents = documents[:20]


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_events(request: Request, staff: StaffDep, past: bool = False) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        query = select(Event).order_by(Event.starts_at)
        query = query.where(Event.ends_at < clock.now()) if past else query.where(Event.ends_at >= clock.now())
        events = list(session.scalars(query.limit(500)))
        return render(request, "events.html", staff, events=events, past=past, kinds=KINDS, statuses=STATUSES)


@router.get("/new", response_class=HTMLResponse, include_in_schema=False)
def new_event(request: Request, staff: Editor) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return render(request, "event_form.html", staff, event=None, form={}, **_choices(session))


@router.post("/new", response_class=HTMLResponse, include_in_schema=False)
def create_event(request: Request, staff: Editor, form: Posted) -> Response:
    runtime = runtime_of(request)
    try:
        with transaction(runtime.sessions) as session:
            event = Event(title="", kind="event", starts_at=clock.now(), ends_at=clock.now())
            _apply(session, event, form)
            session.add(event)
            session.flush()
            service.schedule_reminders(session, event=event)
            record(session, actor=staff.name, action="event.create", target=f"event:{event.id}", detail=event.title)
            event_id = event.id
    except FormError as exc:
        with runtime.sessions() as session:
            return render(request, "event_form.html", staff, 422, event=None, form=form, error=str(exc),
                          **_choices(session))
    return redirect(f"/console/events/{event_id}", "created")


@router.get("/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def edit_event(request: Request, staff: StaffDep, event_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        event = _get(session, event_id)
        attendance = service.attendance(session, event) if event.kind in service.MEETINGS else None
        return render(request, "event_form.html", staff, event=event, form=None, attendance=attendance,
                      **_choices(session))


@router.post("/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def change_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    runtime = runtime_of(request)
    try:
        with transaction(runtime.sessions) as session:
            event = _get(session, event_id)
            before = service.snapshot(event)
            _apply(session, event, form)
            notified = service.apply_change(session, event=event, before=before, outbox=runtime.gateway.outbox,
                                            base_url=runtime.settings.public_base_url)
            record(session, actor=staff.name, action="event.change", target=f"event:{event.id}",
                   detail=f"{event.title} ({STATUSES[event.status]}; {notified}人に通知)")
    except FormError as exc:
        with runtime.sessions() as session:
            return render(request, "event_form.html", staff, 422, event=_get(session, event_id), form=form,
                          error=str(exc), **_choices(session))
    runtime.gateway.wake()
    return redirect(f"/console/events/{event_id}", "saved")


@router.post("/{event_id}/cancel", include_in_schema=False)
def cancel_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    runtime = runtime_of(request)
    with transaction(runtime.sessions) as session:
        event = _get(session, event_id)
        before = service.snapshot(event)
        event.status = "rain_cancelled" if form.get("reason") == "rain" else "cancelled"
        notified = service.apply_change(session, event=event, before=before, outbox=runtime.gateway.outbox,
                                        base_url=runtime.settings.public_base_url)
        record(session, actor=staff.name, action="event.cancel", target=f"event:{event.id}",
               detail=f"{event.title} ({notified}人に通知)")
    runtime.gateway.wake()
    return redirect(f"/console/events/{event_id}", "cancelled")

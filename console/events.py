"""Events in the console: list, create, edit, cancel (reminders follow; a cancellation sends notices)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import InputError, validate
from console.deps import (
    Editor,
    FormError,
    Id,
    Posted,
    Staff,
    StaffDep,
    get_or_404,
    parse_local,
    redirect,
    render,
    runtime_of,
)
from db.models import Event
from events import service
from events.schema import CANCELLED, KIND_LABELS, MEETINGS, STATUS_LABELS, VISIBILITY_LABELS, EventInput
from members import service as members

router = APIRouter(prefix="/events")
TEXT_FIELDS = ("title", "title_en", "venue", "address", "description", "description_en", "url", "image_url",
               "visibility", "subcommittee", "kind", "status")


def _get(session: Session, event_id: Id) -> Event:
    return get_or_404(session, Event, event_id, "イベント")


def _choices(session: Session, event: Event | None = None) -> dict[str, Any]:
    return {"kinds": KIND_LABELS, "statuses": STATUS_LABELS, "visibility": VISIBILITY_LABELS,
            "cancelled": CANCELLED, "subcommittees": members.subcommittee_names(session),
            "event_subcommittee": members.subcommittee_name(session, event.subcommittee_id) if event else None}


def _words(value: Any) -> list[str]:
    return [w.strip() for w in str(value or "").replace("、", ",").split(",") if w.strip()]


def _number(value: Any, what: str) -> float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise FormError(f"{what}は数字で入れてください（例: 34.6647）") from None


def _fields(form: Any) -> dict[str, Any]:
    """The form as the event's fields (the domain's EventInput checks them); FormError for what cannot be read."""
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in TEXT_FIELDS}
    values["starts_at"] = parse_local(str(form.get("starts_at", "")), "開始")
    values["ends_at"] = parse_local(str(form.get("ends_at", "")), "終了")
    values["all_day"] = form.get("all_day") == "on"
    values["latitude"] = _number(form.get("latitude"), "緯度")
    values["longitude"] = _number(form.get("longitude"), "経度")
    values["tags"] = _words(form.get("tags"))
    values["keywords"] = _words(form.get("keywords"))
    hours = _words(form.get("reminder_hours"))
    if any(not h.isdigit() for h in hours):
        raise FormError("リマインドの時間は「72, 24」のように、何時間前かを数字で入れてください")
    values["reminder_hours"] = [int(h) for h in hours] or None
    documents = []
    for line in str(form.get("documents", "")).splitlines():
        if line.strip():
            title, _, url = line.rpartition("|") if "|" in line else ("資料", "", line)
            documents.append({"title": title.strip() or "資料", "url": url.strip()})
    values["documents"] = documents
    return values


def _form_page(request: Request, staff: Staff, session: Session, event: Event | None, status_code: int = 200,
               form: Any = None, error: str | None = None, errors: dict[str, str] | None = None) -> HTMLResponse:
    attendance = service.attendance(session, event) if event is not None and event.kind in MEETINGS else None
    return render(request, "event_form.html", staff, status_code, event=event, form=form, error=error,
                  errors=errors or {}, attendance=attendance, **_choices(session, event))


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def list_events(request: Request, staff: StaffDep, past: bool = False) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        query = select(Event).order_by(Event.starts_at)
        query = query.where(Event.ends_at < clock.now()) if past else query.where(Event.ends_at >= clock.now())
        events = list(session.scalars(query.limit(500)))
        return render(request, "events.html", staff, events=events, past=past, kinds=KIND_LABELS,
                      statuses=STATUS_LABELS)


@router.get("/new", response_class=HTMLResponse, include_in_schema=False)
def new_event(request: Request, staff: Editor) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return _form_page(request, staff, session, None)


@router.post("/new", response_class=HTMLResponse, include_in_schema=False)
def create_event(request: Request, staff: Editor, form: Posted) -> Response:
    runtime = runtime_of(request)
    try:
        fields = _fields(form)
        with runtime.work(staff.name) as work:
            event_id = service.create(work, validate(EventInput, fields)).id
    except (InputError, FormError) as exc:
        with runtime.sessions() as session:
            return _form_page(request, staff, session, None, 422, form=form, **_errors(exc))
    return redirect(f"/console/events/{event_id}", "created")


def _errors(exc: InputError | FormError) -> dict[str, Any]:
    if isinstance(exc, InputError):
        return {"error": exc.japanese(), "errors": exc.by_field()}
    return {"error": str(exc)}


@router.get("/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def edit_event(request: Request, staff: StaffDep, event_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return _form_page(request, staff, session, _get(session, event_id))


@router.post("/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def change_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    runtime = runtime_of(request)
    try:
        fields = _fields(form)
        with runtime.work(staff.name) as work:
            service.update(work, _get(work.session, event_id), fields)
    except (InputError, FormError) as exc:
        with runtime.sessions() as session:
            return _form_page(request, staff, session, _get(session, event_id), 422, form=form, **_errors(exc))
    return redirect(f"/console/events/{event_id}", "saved")


@router.post("/{event_id}/cancel", include_in_schema=False)
def cancel_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        service.cancel(work, _get(work.session, event_id), rain=form.get("reason") == "rain")
    return redirect(f"/console/events/{event_id}", "event_cancelled")

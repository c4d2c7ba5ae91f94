"""Events in the console: list, create, edit, cancel (reminders follow). A change that sends notices (a new time,
中止, 雨天中止) is asked about first, on a page of its own that says how many people will hear (the count comes
from the same rule and audience as the sending: events.service.preview_update); afterwards the page says how many
did, or that the notices wait for the morning (the quiet hours)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import InputError, validate
from console.deps import (
    NOTICES,
    Editor,
    FormError,
    Id,
    Posted,
    Staff,
    StaffDep,
    get_or_404,
    local_value,
    parse_local,
    redirect,
    render,
    runtime_of,
)
from db.models import Event
from events import service
from events.schema import CANCELLED, KIND_LABELS, MEETINGS, STATUS_LABELS, VISIBILITY_LABELS, EventInput, Status
from members import service as members

router = APIRouter(prefix="/events")
TEXT_FIELDS = ("title", "title_en", "venue", "address", "description", "description_en", "url", "image_url",
               "visibility", "subcommittee", "kind", "status")
# the confirmation page's own fields: not carried over as the event's
OWN_FIELDS = ("csrf", "step", "notify")


def _get(session: Session, event_id: Id, lock: bool = False) -> Event:
    return get_or_404(session, Event, event_id, "イベント", lock=lock)


def _choices(session: Session, event: Event | None = None) -> dict[str, Any]:
    current = members.subcommittee_name(session, event.subcommittee_id) if event else None
    return {"kinds": KIND_LABELS, "statuses": STATUS_LABELS, "visibility": VISIBILITY_LABELS,
            "cancelled": CANCELLED, "subcommittees": members.subcommittee_names(session, also=current),
            "event_subcommittee": current}


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
               form: Any = None, error: str | None = None, errors: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
    attendance = service.attendance(session, event) if event is not None and event.kind in MEETINGS else None
    return render(request, "event_form.html", staff, status_code, event=event, form=form, error=error,
                  errors=errors or {}, attendance=attendance, **_choices(session, event), **context)


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
def edit_event(request: Request, staff: StaffDep, event_id: Id, notified: str = "", at: str = "") -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        return _form_page(request, staff, session, _get(session, event_id), notice=_saved_notice(
            request.query_params.get("notice", ""), int(notified) if notified.isdigit() else 0, at))


def _saved_notice(key: str, notified: int, at: str) -> str | None:
    """「保存しました。3人にお知らせしました。」, or that the notices wait for the morning (at: when they leave)."""
    done = NOTICES.get(key)
    if done is None or not notified:
        return done
    try:
        morning = parse_local(at, "") if at else None
    except FormError:
        morning = None
    if morning is not None:
        return f"{done}{notified}人へのお知らせは、夜間のため {clock.format_jst(morning)} に届きます。"
    return f"{done}{notified}人にお知らせしました。"


def _saved(event_id: int, key: str, notified: int, at: dt.datetime | None) -> Response:
    query = f"&notified={notified}" if notified else ""
    if notified and at is not None and at > clock.now():
        query += f"&at={local_value(at)}"
    return redirect(f"/console/events/{event_id}", key + query if query else key)


def _confirm_page(request: Request, staff: Staff, event: Event, form: Any, preview: service.Preview, *,
                  action: str, changes: dict[str, Any], stale: str | None = None) -> HTMLResponse:
    """「この変更で N人にお知らせが届きます。よろしいですか？」 with every typed field carried along."""
    carried = [(key, str(value)) for key, value in form.multi_items() if key not in OWN_FIELDS]
    new_status = str(changes.get("status") or preview.before["status"])
    settings = runtime_of(request).settings
    return render(request, "event_confirm.html", staff, event=event, carried=carried, preview=preview,
                  quiet=(settings.quiet_hours_start, settings.quiet_hours_end),
                  action=action, changes=changes, stale=stale, statuses=STATUS_LABELS,
                  cancelling=new_status in CANCELLED and preview.before["status"] not in CANCELLED)


def _needs_asking(form: Any, preview: service.Preview, always: bool = False) -> str | None:
    """None when the change may be saved: it notifies nobody, or the clerk confirmed this very count. Else why
    to ask ("" the first time; the counts when the audience changed since the confirmation page)."""
    given = str(form.get("notify", ""))
    if (not preview.count and not always) or given == str(preview.count):
        return None
    if given.isdigit():
        return f"お知らせが届く人数が変わりました（{given}人 → {preview.count}人）。もう一度確認してください"
    return ""


@router.post("/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def change_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    runtime = runtime_of(request)
    if form.get("step") == "back":  # from the confirmation page: the form again, as it was typed
        with runtime.sessions() as session:
            return _form_page(request, staff, session, _get(session, event_id), form=form)
    try:
        fields = _fields(form)
        with runtime.sessions() as session:  # never committed: the preview changes the event in this session only
            event = _get(session, event_id)
            preview = service.preview_update(session, event, fields)
            stale = _needs_asking(form, preview)
            if stale is not None:
                session.rollback()
                return _confirm_page(request, staff, _get(session, event_id), form, preview,
                                     action=f"/console/events/{event_id}", changes=fields, stale=stale or None)
        with runtime.work(staff.name) as work:
            event = _get(work.session, event_id, lock=True)  # a second click waits, then finds nothing to tell
            notified = service.update(work, event, fields)
            at = service.notice_time(work, event) if notified else None
    except (InputError, FormError) as exc:
        with runtime.sessions() as session:
            return _form_page(request, staff, session, _get(session, event_id), 422, form=form, **_errors(exc))
    return _saved(event_id, "saved", notified, at)


@router.post("/{event_id}/cancel", response_class=HTMLResponse, include_in_schema=False)
def cancel_event(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    """中止 / 雨天中止: always asked first (with how many people will be told), then saved."""
    runtime = runtime_of(request)
    if form.get("step") == "back":
        return redirect(f"/console/events/{event_id}")
    rain = form.get("reason") == "rain"
    status = Status.RAIN_CANCELLED if rain else Status.CANCELLED
    with runtime.sessions() as session:
        event = _get(session, event_id)
        if event.status in CANCELLED:  # e.g. the button pressed twice: nobody is told twice
            return _form_page(request, staff, session, event, 409,
                              error=f"「{event.title}」はすでに{STATUS_LABELS[event.status]}になっています。"
                                    "お知らせはもう送ってあります")
        preview = service.preview_update(session, event, {"status": status})
        stale = _needs_asking(form, preview, always=True)
        if stale is not None:
            session.rollback()
            return _confirm_page(request, staff, _get(session, event_id), form, preview,
                                 action=f"/console/events/{event_id}/cancel", changes={"status": status},
                                 stale=stale or None)
    with runtime.work(staff.name) as work:
        event = _get(work.session, event_id, lock=True)
        notified = service.cancel(work, event, rain=rain)
        at = service.notice_time(work, event) if notified else None
    return _saved(event_id, "event_cancelled", notified, at)

"""Events in the console: list, create, edit, cancel (reminders follow). A change that sends notices (a new time,
中止, 雨天中止) is asked about first, on a page of its own that says how many people will hear (the count comes
from the same rule and audience as the sending: events.service.preview_update); afterwards the page says how many
did, or that the notices wait for the morning (the quiet hours)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape
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
    templates,
)
from db.models import Event
from events import messages, service, venues
from events.schema import (
    CANCELLED,
    DAY_LABELS,
    KIND_LABELS,
    MEETINGS,
    STATUS_LABELS,
    TOPIC_HINTS,
    TOPIC_LABELS,
    VISIBILITY_LABELS,
    DayStatus,
    EventInput,
    Status,
)
from members import service as members

router = APIRouter(prefix="/events")
DAY_PANEL_AHEAD = dt.timedelta(days=2)  # from then on, 当日の状況 is the first thing on the event's page
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
            "event_subcommittee": current, "topics": TOPIC_LABELS, "topic_hints": TOPIC_HINTS,
            "day_labels": DAY_LABELS}


def _words(value: Any) -> list[str]:
    return [w.strip() for w in str(value or "").replace("、", ",").split(",") if w.strip()]


def _number(value: Any, what: str, field: str) -> float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise FormError(f"{what}は数字で入れてください（例: 34.6647）", field=field) from None


def _fields(form: Any) -> dict[str, Any]:
    """The form as the event's fields (the domain's EventInput checks them); FormError for what cannot be read."""
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in TEXT_FIELDS}
    values["starts_at"] = parse_local(str(form.get("starts_at", "")), "開始")
    values["ends_at"] = parse_local(str(form.get("ends_at", "")), "終了")
    values["all_day"] = form.get("all_day") == "on"
    values["latitude"] = _number(form.get("latitude"), "緯度", "latitude")
    values["longitude"] = _number(form.get("longitude"), "経度", "longitude")
    values["tags"] = _words(form.get("tags"))
    values["keywords"] = _words(form.get("keywords"))
    hours = _words(form.get("reminder_hours"))
    if any(not h.isdigit() for h in hours):
        raise FormError("リマインドの時間は「72, 24」のように、何時間前かを数字で入れてください",
                        field="reminder_hours")
    values["reminder_hours"] = [int(h) for h in hours] or None
    documents = []
    for line in str(form.get("documents", "")).splitlines():
        if line.strip():
            title, _, url = line.rpartition("|") if "|" in line else ("資料", "", line)
            documents.append({"title": title.strip() or "資料", "url": url.strip()})
    values["documents"] = documents
    values["answers"] = {topic: str(form.get(f"answer_{topic}", "")) for topic in TOPIC_LABELS}
    values["free"] = {"free": True, "paid": False}.get(str(form.get("free", "")))
    values["status_urgent"] = form.get("status_urgent") == "on"
    values["faq"] = _faq(str(form.get("faq", "")))
    return values


def _faq(typed: str) -> list[dict[str, str]]:
    """「質問 | 答え」 one per line (the full-width ｜ too); a line without one is refused, next to the field."""
    pairs: list[dict[str, str]] = []
    for number, line in enumerate(typed.splitlines(), 1):
        line = line.replace("｜", "|")
        if "|" in line:
            question, _, answer = line.partition("|")
            pairs.append({"q": question.strip(), "a": answer.strip()})
        elif line.strip():
            raise FormError(f"{number}行目「{line.strip()[:30]}」に「|」がありません。1行に1つ「質問 | 答え」の形で"
                            "入れてください", field="faq")
    return pairs


def _form_page(request: Request, staff: Staff, session: Session, event: Event | None, status_code: int = 200,
               form: Any = None, error: str | None = None, errors: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
    attendance = service.attendance(session, event) if event is not None and event.kind in MEETINGS else None
    context.setdefault("day", _day_panel(request, session, event))
    return render(request, "event_form.html", staff, status_code, event=event, form=form, error=error,
                  errors=errors or {}, attendance=attendance, **_choices(session, event), **context)


def _day_panel(request: Request, session: Session, event: Event | None, form: Any = None) -> dict[str, Any] | None:
    """The 当日の状況 panel of an event not over yet: at the top of the page from two days before."""
    if event is None or event.ends_at < clock.now():
        return None
    settings = runtime_of(request).settings
    return {"soon": event.starts_at - clock.now() < DAY_PANEL_AHEAD,
            "count": service.preview_day_status(session, event),
            "quiet": (settings.quiet_hours_start, settings.quiet_hours_end),
            # what was said last stays in the panel: the same tap again tells nobody twice
            "message": str(form.get("message", "")) if form else (event.status_message or ""),
            "rain": bool(form.get("rain")) if form else event.status == Status.RAIN_CANCELLED,
            "said": event.status_at is not None,
            # the notice each button sends (staff's message is added below it), shown before the tap
            "previews": {**{day.value: _preview(event, day.status(), day.label) for day in DayStatus},
                         "rain": _preview(event, Status.RAIN_CANCELLED, DayStatus.CANCELLED.label)}}


def _preview(event: Event, status: Status, label: str) -> dict[str, str]:
    head, body = messages.day_notice_lines(event, status)
    return {"head": head, "body": body, "label": label}


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


@router.get("/places", include_in_schema=False)
def places(request: Request, staff: StaffDep, q: str = "") -> dict[str, Any]:
    """会場の候補 for the event form (event_place.js): the ward's venues and those events used, matching q."""
    with runtime_of(request).sessions() as session:
        return {"places": [place.as_dict() for place in venues.search(session, q[:100])]}


# Credit the tile servers require (OpenStreetMap's tile policy: the licence, linked); another server is named by host.
MAP_CREDITS = {
    "tile.openstreetmap.org": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    "cyberjapandata.gsi.go.jp": '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
}


def place_map(request: Request) -> dict[str, str]:
    """The event form's map (templates: event_place.html): the tile URL ("" for none) and its credit, as HTML."""
    tiles = runtime_of(request).settings.map_tile_url
    host = urlsplit(tiles).hostname or ""
    return {"tiles": tiles, "credit": MAP_CREDITS.get(host, str(escape(host)))}


templates.env.globals["place_map"] = place_map


def _errors(exc: InputError | FormError) -> dict[str, Any]:
    if isinstance(exc, InputError):
        return {"error": exc.japanese(), "errors": exc.by_field()}
    return {"error": str(exc), "errors": {exc.field: str(exc)} if exc.field else {}}


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


@router.post("/{event_id}/day", response_class=HTMLResponse, include_in_schema=False)
def day_status(request: Request, staff: Editor, form: Posted, event_id: Id) -> Response:
    """当日の状況 in one tap: the count of who will hear was on the button's page; asked again only if it changed
    since (e.g. more people subscribed), and a second tap with the same word tells nobody twice."""
    runtime = runtime_of(request)
    if form.get("step") == "back":
        return redirect(f"/console/events/{event_id}")
    try:
        day = DayStatus(str(form.get("day", "")))
    except ValueError:
        with runtime.sessions() as session:
            return _form_page(request, staff, session, _get(session, event_id), 422,
                              error="「開催」「中止」「延期」「内容変更」のどれかを押してください")
    message, rain = str(form.get("message", "")), form.get("rain") == "on"
    with runtime.sessions() as session:
        event = _get(session, event_id)
        count = service.preview_day_status(session, event)
        given = str(form.get("notify", ""))
        if given != str(count):
            stale = (f"お知らせが届く人数が変わりました（{given}人 → {count}人）。もう一度確認してください"
                     if given.isdigit() else None)
            return render(request, "event_confirm.html", staff, event=event, preview=service.Preview(None, count, {}),
                          carried=[(k, str(v)) for k, v in form.multi_items() if k not in OWN_FIELDS],
                          quiet=(runtime.settings.quiet_hours_start, runtime.settings.quiet_hours_end),
                          action=f"/console/events/{event_id}/day", changes={}, stale=stale, statuses=STATUS_LABELS,
                          cancelling=day in (DayStatus.CANCELLED, DayStatus.POSTPONED),
                          day_label=day.status(rain).label, day_message=message.strip(),
                          day_urgent=event.status_urgent)
    try:
        with runtime.work(staff.name) as work:
            event = _get(work.session, event_id, lock=True)  # a double tap waits, then finds it said already
            same = (event.status == day.status(rain) and event.status_at is not None
                    and (event.status_message or "") == message.strip())
            notified = service.set_day_status(work, event, day, message=message, rain=rain)
            at = work.not_before(urgent=event.status_urgent) if notified else None
    except InputError as exc:
        with runtime.sessions() as session:
            event = _get(session, event_id)
            return _form_page(request, staff, session, event, 422, **_errors(exc),
                              day=_day_panel(request, session, event, form) | {"soon": True})
    return _saved(event_id, "day_same" if same else "day_saved", notified, at)


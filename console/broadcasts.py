"""Broadcasts in the console: compose (a live counter per text; over 5,000 characters is refused with the count,
the text kept), preview (as in LINE, with the exact count and the quota), test send, confirm (now or at a time;
once: a scheduled, started or sent broadcast offers no second send and refuses one), progress, the per-recipient
log, history, cancel. What the page says is what happens: a broadcast held by the quiet hours says when it goes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from bot import clock
from bot.inputs import InputError, validate
from bot.messages import TEXT_LIMIT, utf16_len
from broadcasts import images, service
from console.deps import (
    NOTICES,
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
from db.models import Broadcast, Event, Survey, User
from events.service import OPT_IN_CATEGORIES
from members import service as members

router = APIRouter(prefix="/broadcasts")
SLOTS = 5
LOG_PAGE = 100


def _get(session: Session, broadcast_id: Id, lock: bool = False) -> Broadcast:
    return get_or_404(session, Broadcast, broadcast_id, "配信", lock=lock)


def _text(form: Any, i: int) -> str:
    """Slot i's text as the clerk sees it in the field (the browser sends its line breaks as CR LF)."""
    return str(form.get(f"text{i}", "") or "").replace("\r\n", "\n")


def too_long(length: int) -> str:
    return f"{length:,}文字あります。{TEXT_LIMIT:,}文字までにしてください"


def _items(form: Any) -> list[dict[str, Any]]:
    """The message slots staff filled in (an empty slot is left out). A text over LINE's 5,000 characters is
    refused with its count, next to its field (the field itself cuts nothing)."""
    items = []
    long = [(i, n) for i in range(SLOTS) if str(form.get(f"type{i}", "")) == "text"
            and (n := utf16_len(_text(form, i))) > TEXT_LIMIT]
    if long:
        raise InputError([{"loc": [f"text{i}"], "msg": f"message {i + 1}: {n} characters, at most {TEXT_LIMIT}",
                           "type": "too_long", "ja": f"メッセージ {i + 1}: {too_long(n)}"} for i, n in long])
    for i in range(SLOTS):
        kind = str(form.get(f"type{i}", ""))
        if kind == "text" and _text(form, i).strip():
            items.append({"type": "text", "text": _text(form, i)})
        elif kind == "event" and form.get(f"event{i}"):
            items.append({"type": "event", "event_id": form.get(f"event{i}")})
        elif kind == "survey" and form.get(f"survey{i}"):
            items.append({"type": "survey", "survey_id": form.get(f"survey{i}")})
        elif kind == "image" and str(form.get(f"image{i}", "")).strip():
            items.append({"type": "image", "image_url": str(form.get(f"image{i}")),
                          "link_url": str(form.get(f"link{i}", "")).strip() or None,
                          "caption": str(form.get(f"caption{i}", ""))})
    return items


def _audience(form: Any) -> dict[str, Any]:
    return {"kind": str(form.get("audience", "")), "subcommittees": [str(v) for v in form.getlist("subcommittee")],
            "category": str(form.get("category", ""))}


def _input(form: Any) -> service.BroadcastInput:
    """The compose form as the domain's input; InputError (in Japanese) when something is missing or wrong."""
    items = _items(form)
    if not items:
        raise service.BroadcastError("メッセージを1つ以上入れてください")
    data: service.BroadcastInput = validate(service.BroadcastInput, {
        "title": str(form.get("title", "")), "messages": items, "audience": _audience(form),
        "urgent": form.get("urgent") == "on"})
    return data


def _form_of(broadcast: Broadcast) -> dict[str, Any]:
    """A stored broadcast as the compose form's values (for editing)."""
    values: dict[str, Any] = {"title": broadcast.title, "audience": broadcast.audience["kind"],
                              "subcommittee": broadcast.audience.get("subcommittees", []),
                              "category": broadcast.audience.get("category", ""), "urgent": broadcast.urgent}
    for i, item in enumerate(broadcast.items):
        values[f"type{i}"] = item["type"]
        values[f"text{i}"] = item.get("text", "")
        values[f"event{i}"] = str(item.get("event_id", ""))
        values[f"survey{i}"] = str(item.get("survey_id", ""))
        values[f"image{i}"], values[f"link{i}"] = item.get("image_url", ""), item.get("link_url") or ""
        values[f"caption{i}"] = item.get("caption", "")
    return values


def _compose(request: Request, staff: Staff, *, form: Any, broadcast: Broadcast | None = None,
             error: InputError | str | None = None, status_code: int = 200) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        events = list(session.scalars(select(Event).where(Event.ends_at >= clock.now()).order_by(Event.starts_at)))
        surveys = list(session.scalars(select(Survey).where(Survey.status.in_(("open", "scheduled", "draft")))))
        subcommittees = members.subcommittee_names(session)
    values = form if hasattr(form, "getlist") else None
    errors = error.by_field() if isinstance(error, InputError) else {}
    for i in range(SLOTS):  # next to the field, without the slot number the page's heading gives
        if f"text{i}" in errors:
            errors[f"text{i}"] = too_long(utf16_len(_text(form, i)))
        if f"upload{i}" in errors:
            errors[f"upload{i}"] = errors[f"upload{i}"].removeprefix(f"メッセージ {i + 1}: ")
    base = runtime_of(request).settings.public_base_url
    shown = {i: str(form.get(f"image{i}", "") or "").strip() for i in range(SLOTS)}
    previews = {i: url for i, url in shown.items() if url.startswith("https://") or images.is_own(url, base)}
    warnings = {i: images.DEV_WARNING for i, url in shown.items() if images.needs_https(url, base)}
    return render(request, "broadcast_form.html", staff, status_code, form=form, values=values, broadcast=broadcast,
                  previews=previews, image_warnings=warnings, image_hint=images.SIZE_HINT,
                  line_side=images.LINE_MAX_SIDE,
                  error=error.japanese() if isinstance(error, InputError) else error, errors=errors,
                  lengths=[utf16_len(_text(form, i)) for i in range(SLOTS)], limit=TEXT_LIMIT,
                  events=events, surveys=surveys, subcommittees=subcommittees, slots=range(SLOTS),
                  audiences=service.AUDIENCES, item_types=service.ITEM_TYPES, categories=OPT_IN_CATEGORIES)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def history(request: Request, staff: StaffDep) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        rows = [(b, service.progress(session, b)) for b in service.recent(session, 100)]
    quiet = runtime_of(request).settings
    return render(request, "broadcasts.html", staff, rows=rows, statuses=service.STATUSES,
                  describe=service.describe_audience,  # a booked one: when it really goes (the quiet hours)
                  starts=lambda b: service.starts_at(b, quiet.quiet_hours_start, quiet.quiet_hours_end))


@router.get("/new", response_class=HTMLResponse, include_in_schema=False)
def new(request: Request, staff: Editor) -> HTMLResponse:
    return _compose(request, staff, form={"type0": "text", "audience": "members"})


def _uploads(request: Request, staff: Staff, form: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Keep the images uploaded in the image slots (broadcasts.images: checked, made upright, fitted to LINE's
    limits, their metadata stripped), each in its own transaction: an upload that worked stays done, and its URL
    takes the place of the slot's URL, so the form shown again after any error keeps it (a file field cannot be
    filled in again). Returns the form so and the refusals, each for its slot's file field."""
    runtime = runtime_of(request)
    uploaded: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for i in range(SLOTS):
        upload = form.get(f"upload{i}")
        if str(form.get(f"type{i}", "")) != "image" or not isinstance(upload, UploadFile):
            continue
        data = upload.file.read(images.UPLOAD_MAX_BYTES + 1)
        if not data and not upload.filename:
            continue  # no file chosen
        try:
            with runtime.work(staff.name) as work:
                uploaded[f"image{i}"] = images.url_of(work.base_url, images.store(work, data, field=f"upload{i}"))
        except images.ImageRefused as exc:  # the file field is empty again: the message names the file
            chosen = f"（選んだファイル: {upload.filename}）" if upload.filename else ""
            problems += [{**e, "ja": f"メッセージ {i + 1}: {e['ja']}{chosen}"} for e in exc.errors]
    kept = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile) and k not in uploaded]
    return FormData([*kept, *uploaded.items()]), problems


def _save(request: Request, staff: Staff, form: Any, broadcast_id: int | None = None) -> Response:
    """Create a draft, or change one: uploads first (_uploads), then the broadcast; any error shows the form
    again with everything typed (and uploaded) kept, each error next to its field."""
    runtime = runtime_of(request)
    form, problems = _uploads(request, staff, form)
    try:
        data = _input(form)
    except InputError as exc:
        # beside a refused upload, only the other fields' own errors (not 「メッセージを1つ以上…」, which the
        # refused image caused)
        problems += [e for e in exc.errors if not problems or str((e["loc"] or [""])[0]).startswith("text")]
        data = None
    try:
        if problems or data is None:
            raise InputError(problems)
        with runtime.work(staff.name) as work:
            if broadcast_id is None:
                broadcast_id = service.create(work, data).id
            else:
                service.edit(work, _get(work.session, broadcast_id, lock=True), data)
                return redirect(f"/console/broadcasts/{broadcast_id}", "saved")
    except InputError as exc:
        broadcast = None
        if broadcast_id is not None:
            with runtime.sessions() as session:
                broadcast = _get(session, broadcast_id)
        return _compose(request, staff, form=form, broadcast=broadcast, error=exc, status_code=422)
    return redirect(f"/console/broadcasts/{broadcast_id}")


@router.post("/new", response_class=HTMLResponse, include_in_schema=False)
def create(request: Request, staff: Editor, form: Posted) -> Response:
    return _save(request, staff, form)


@router.get("/{broadcast_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_page(request: Request, staff: Editor, broadcast_id: Id) -> HTMLResponse:
    with runtime_of(request).sessions() as session:
        broadcast = _get(session, broadcast_id)
    if broadcast.status not in ("draft", "scheduled"):
        raise HTTPException(409, "送信を始めた配信は変更できません")
    return _compose(request, staff, form=_form_of(broadcast), broadcast=broadcast)


@router.post("/{broadcast_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit(request: Request, staff: Editor, form: Posted, broadcast_id: Id) -> Response:
    return _save(request, staff, form, broadcast_id)


@router.get("/{broadcast_id}", response_class=HTMLResponse, include_in_schema=False)
async def show(request: Request, staff: StaffDep, broadcast_id: Id) -> HTMLResponse:
    """A draft: the preview with the count, the quota and the confirmation. Scheduled: when it goes (no second
    send). Later: progress and the log."""
    return await _page(request, staff, broadcast_id, notice_key=request.query_params.get("notice", ""))


async def _page(request: Request, staff: Staff, broadcast_id: int, *, notice_key: str = "", error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    runtime = runtime_of(request)
    settings = runtime.settings

    def load() -> dict[str, Any]:
        with runtime.sessions() as session:
            broadcast = _get(session, broadcast_id)
            counted = service.count(session, broadcast.audience)
            own = session.get(User, staff.user_id) if staff.user_id else None  # their own LINE (自分のLINE)
            return {"broadcast": broadcast, "count": counted, "progress": service.progress(session, broadcast),
                    "starts_at": service.starts_at(broadcast, settings.quiet_hours_start, settings.quiet_hours_end),
                    "own_line": own, "can_test": own is not None and own.is_reachable}

    data = await run_in_threadpool(load)
    broadcast, starts_at = data["broadcast"], data["starts_at"]
    # a draft, or a broadcast booked for later, can still be changed (a draft only is sent from here); otherwise
    # show how the sending goes
    data["editable"] = broadcast.status == "draft" or (broadcast.status == "scheduled" and starts_at > clock.now())
    quota = await runtime.gateway.quota() if data["editable"] else None
    image_warning = next((images.DEV_WARNING for item in broadcast.items if item.get("type") == "image"
                          and images.needs_https(str(item.get("image_url", "")), settings.public_base_url)), None)
    return render(request, "broadcast.html", staff, status_code, quota=quota, line_enabled=settings.line_enabled,
                  image_warning=image_warning,
                  statuses=service.STATUSES, audience=service.describe_audience(data["broadcast"].audience),
                  quiet=(settings.quiet_hours_start, settings.quiet_hours_end), error=error,
                  notice=_notice(notice_key, broadcast, starts_at), **data)


def _notice(key: str, broadcast: Broadcast, starts_at: Any) -> str | None:
    """What the confirmation did, as it really is: sending started, or booked, and for when."""
    if key in ("held", "scheduled") and broadcast.status == "scheduled" and starts_at is not None:
        if key == "held":
            return f"夜間のため、{clock.format_jst(starts_at)} に送信します（予約済み）"
        later = "（夜間は送らないため、朝に送ります）" if starts_at != broadcast.scheduled_at else ""
        return f"送信を予約しました。{clock.format_jst(starts_at)} に送信します{later}"
    return NOTICES.get(key)


def already(broadcast: Broadcast, starts_at: Any) -> str:
    """Why a broadcast that is not a draft is not sent (again), in plain words."""
    if broadcast.status == "scheduled":
        when = f"{clock.format_jst(starts_at)} に送信します" if starts_at else "まもなく送信します"
        return (f"この配信は予約済みです（{when}）。もう一度送る必要はありません。"
                "内容や日時を変えるときは「内容を直す」から直してください")
    if broadcast.status == "sending":
        return "この配信はいま送信中です。二度は送りません"
    if broadcast.status == "done":
        return "この配信は送信しました（完了）。二度は送りません"
    return "この配信は取り消してあります。送るときは、新しい配信をつくってください"


@router.post("/{broadcast_id}/confirm", response_class=HTMLResponse, include_in_schema=False)
async def confirm(request: Request, staff: Editor, form: Posted, broadcast_id: Id) -> Response:
    """Send a draft now or at a time, once: a second click, or a POST for a broadcast already booked, started or
    sent, is refused (409) with the page saying why."""
    runtime = runtime_of(request)
    settings = runtime.settings

    def send() -> tuple[str | None, str]:
        try:
            with runtime.work(staff.name) as work:
                broadcast = _get(work.session, broadcast_id, lock=True)  # a second click waits here, then sees it
                if broadcast.status != "draft":
                    return already(broadcast, service.starts_at(broadcast, settings.quiet_hours_start,
                                                                settings.quiet_hours_end)), ""
                when = str(form.get("when", "now"))
                at = parse_local(str(form.get("scheduled_at", "")), "送信") if when == "later" else None
                confirmed = str(form.get("confirmed_count", ""))
                service.schedule(work, broadcast, at=at, confirmed_count=int(confirmed) if confirmed.isdigit() else -1)
                starts = service.starts_at(broadcast, settings.quiet_hours_start, settings.quiet_hours_end)
                held = starts is not None and starts > clock.now()  # "now" in the quiet hours: the morning
                notice = "scheduled" if at is not None else "held" if held else "started"
        except (service.BroadcastError, FormError) as exc:
            return str(exc), ""
        return None, notice

    refused, notice = await run_in_threadpool(send)
    if refused is not None:
        return await _page(request, staff, broadcast_id, error=refused, status_code=409)
    if notice == "started":
        runtime.kick_broadcasts()
    return redirect(f"/console/broadcasts/{broadcast_id}", notice)


NO_OWN_LINE = ("テスト送信先のLINEが登録されていません。「自分のLINE」でコードを出し、LINEでボットに送って"
               "登録してください")
OWN_LINE_BLOCKED = ("テスト送信先のLINEがボットをブロックしているため、送れません。ブロックを解除するか、"
                    "「自分のLINE」で登録しなおしてください")


@router.post("/{broadcast_id}/test", response_class=HTMLResponse, include_in_schema=False)
async def test_send(request: Request, staff: Editor, form: Posted, broadcast_id: Id) -> Response:
    """The broadcast to the clerk's own LINE (自分のLINE, linked by a code sent to the bot); without one, the page
    says so, with the way to link it."""
    runtime = runtime_of(request)

    def send() -> str | None:
        with runtime.work(staff.name) as work:
            broadcast = _get(work.session, broadcast_id)
            user = work.session.get(User, staff.user_id) if staff.user_id else None
            if user is None:
                return NO_OWN_LINE
            if not service.test_send(work, broadcast, user=user):
                return OWN_LINE_BLOCKED
        return None

    refused = await run_in_threadpool(send)
    if refused is not None:
        return await _page(request, staff, broadcast_id, error=refused, status_code=409)
    return redirect(f"/console/broadcasts/{broadcast_id}", "tested")


@router.post("/{broadcast_id}/cancel", include_in_schema=False)
def cancel(request: Request, staff: Editor, form: Posted, broadcast_id: Id) -> Response:
    with runtime_of(request).work(staff.name) as work:
        try:
            service.cancel(work, _get(work.session, broadcast_id, lock=True))
        except service.BroadcastError as exc:
            raise HTTPException(409, str(exc)) from None
    return redirect(f"/console/broadcasts/{broadcast_id}", "cancelled")


@router.get("/{broadcast_id}/progress.json", include_in_schema=False)
def progress(request: Request, staff: StaffDep, broadcast_id: Id) -> JSONResponse:
    with runtime_of(request).sessions() as session:
        broadcast = _get(session, broadcast_id)
        return JSONResponse({"status": broadcast.status, "label": service.STATUSES[broadcast.status],
                             "started": clock.format_jst(broadcast.started_at) if broadcast.started_at else "—",
                             "finished": clock.format_jst(broadcast.finished_at) if broadcast.finished_at else "—",
                             **service.progress(session, broadcast)})


@router.get("/{broadcast_id}/log", response_class=HTMLResponse, include_in_schema=False)
def recipient_log(request: Request, staff: StaffDep, broadcast_id: Id, page: int = 1) -> HTMLResponse:
    page = max(page, 1)
    with runtime_of(request).sessions() as session:
        broadcast = _get(session, broadcast_id)
        rows = service.recipient_log(session, broadcast, offset=(page - 1) * LOG_PAGE, limit=LOG_PAGE + 1)
    return render(request, "broadcast_log.html", staff, broadcast=broadcast, rows=rows[:LOG_PAGE], page=page,
                  more=len(rows) > LOG_PAGE, labels=LOG_LABELS)


# What became of each recipient's request. Without LINE (development) deliveries stay in the outbox, where the
# simulator shows them: they were not sent, and no attempt was made.
LOG_LABELS = {"sent": "送信済み", "outbox": "シミュレーターに表示（開発用）", "failed": "失敗", "pending": "送信待ち",
              "sending": "送信中", "held": "上限待ち（来月）", "waiting": "朝まで待機（夜間）",
              "skipped": "送らず（ブロック中）"}

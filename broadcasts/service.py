"""Broadcasts: messages from the ward office to a segment of the bot's friends.

A broadcast is composed (items), previewed (the exact recipient count and the quota it uses), confirmed (sent now or
at a set time) and cancelled until it starts. When it starts, one transaction writes who it goes to (one row per
recipient) and the multicast deliveries of 500 that carry it; from there the gateway sends them with retry keys.
So a crash before that commit starts it again from nothing, and a crash after it only resends what LINE has not
confirmed, under the same retry keys: nobody gets it twice, nobody is missed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, insert, literal, not_, select, update
from sqlalchemy.orm import Session

from bot import clock, outbox
from bot.inputs import Moment, Refused, Text
from bot.messages import MAX_MESSAGES_PER_REQUEST, TEXT_LIMIT, Message, utf16_len
from bot.outbox import MULTICAST_LIMIT
from bot.work import Work
from broadcasts import images
from db.models import (
    Broadcast,
    BroadcastRecipient,
    CategorySubscription,
    Delivery,
    Event,
    Member,
    Subcommittee,
    Survey,
    User,
)
from events import messages as event_messages
from events.service import OPT_IN_CATEGORIES
from members import service as members
from surveys import messages as survey_messages
from surveys import service as surveys

AUDIENCES = {
    "all": "すべての友だち",
    "residents": "区民（委員以外）",
    "members": "区政会議の委員",
    "subcommittees": "部会の委員",
    "category": "通知設定をしている区民",
}
ITEM_TYPES = {"text": "テキスト", "event": "イベントカード", "survey": "アンケートの案内", "image": "画像とリンク"}
STATUSES = {"draft": "下書き", "scheduled": "予約済み", "sending": "送信中", "done": "完了", "cancelled": "取消"}
QUEUE_CHUNK = 5000  # recipients queued in one transaction
ID = Field(ge=1, le=2_147_483_647)


class BroadcastError(Refused):
    """A broadcast that cannot be made or changed as asked; the message is for staff (Japanese), and names the
    field it is about."""

    def __init__(self, message: str, field: str = "messages") -> None:
        super().__init__(message, field)


# --------------------------------------------------------------------------- input


class TextItem(BaseModel):
    type: Literal["text"]
    text: Text = Field(min_length=1, max_length=TEXT_LIMIT, title="テキスト")


class EventItem(BaseModel):
    type: Literal["event"]
    event_id: int = Field(ge=1, le=2_147_483_647, title="イベント")


class SurveyItem(BaseModel):
    type: Literal["survey"]
    survey_id: int = Field(ge=1, le=2_147_483_647, title="アンケート")


class ImageItem(BaseModel):
    type: Literal["image"]
    image_url: str = Field(pattern=r"^https?://", max_length=1000, title="画像のURL",
                           description="https://, or an image uploaded to this app (POST /api/v1/media: its URL, "
                                       "http in development, where LINE will not show it)")
    link_url: str | None = Field(None, pattern=r"^https://", max_length=1000, title="リンク")
    caption: str | None = Field(None, max_length=100, title="見出し")


Item = Annotated[TextItem | EventItem | SurveyItem | ImageItem, Field(discriminator="type")]


class Audience(BaseModel):
    kind: Literal["all", "residents", "members", "subcommittees", "category"] = Field(title="送信先")
    subcommittees: list[str] = Field(default_factory=list, max_length=50, description="部会 names", title="部会")
    category: str | None = Field(None, description="通知設定 category, e.g. まつり", title="通知設定のカテゴリ")


class BroadcastInput(BaseModel):
    """A broadcast as staff compose it (console, API)."""

    title: Text = Field(min_length=1, max_length=100, description="for staff only", title="件名")
    messages: list[Item] = Field(min_length=1, max_length=MAX_MESSAGES_PER_REQUEST, title="メッセージ")
    audience: Audience = Field(title="送信先")
    urgent: bool = Field(False, description="防災: sent also in the quiet hours", title="防災・緊急")

    def items(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_none=True) for m in self.messages]


class Schedule(BaseModel):
    """Confirming a broadcast: now (at=None) or at a set time."""

    at: Moment | None = Field(None, description="null: now", title="送信日時")


# --------------------------------------------------------------------------- audience


def normalise_audience(session: Session, audience: dict[str, Any]) -> dict[str, Any]:
    """A checked copy of an audience: a known kind, existing 部会 names, a known category."""
    kind = audience.get("kind")
    if kind not in AUDIENCES:
        raise BroadcastError(f"送信先の種類が正しくありません: {kind!r}", "audience")
    if kind == "subcommittees":
        names = sorted({str(n).strip() for n in audience.get("subcommittees") or [] if str(n).strip()})
        if not names:
            raise BroadcastError("部会を1つ以上選んでください", "audience")
        _ids, unknown = members.subcommittee_ids(session, names)
        if unknown:
            raise BroadcastError("存在しない部会です: " + "、".join(unknown), "audience")
        return {"kind": kind, "subcommittees": names}
    if kind == "category":
        category = str(audience.get("category") or "").strip()
        if category not in OPT_IN_CATEGORIES:
            raise BroadcastError(f"通知設定のカテゴリを選んでください（{'・'.join(OPT_IN_CATEGORIES)}）", "audience")
        return {"kind": kind, "category": category}
    return {"kind": kind}


def describe_audience(audience: dict[str, Any]) -> str:
    kind = audience.get("kind", "")
    if kind == "subcommittees":
        return "部会: " + "、".join(audience.get("subcommittees", []))
    if kind == "category":
        return f"通知設定: {audience.get('category')}"
    return AUDIENCES.get(kind, kind)


def audience_users(audience: dict[str, Any]) -> Select[Any]:
    """The users an audience names, reachable or not (id, line_user_id, is_reachable)."""
    query = select(User.id, User.line_user_id, User.is_reachable)
    kind = audience["kind"]
    members = select(Member.user_id).where(Member.active.is_(True), Member.user_id.is_not(None))
    if kind == "residents":
        return query.where(User.id.not_in(members))
    if kind == "members":
        return query.where(User.id.in_(members))
    if kind == "subcommittees":
        in_subcommittees = (select(Member.user_id).join(Subcommittee, Subcommittee.id == Member.subcommittee_id)
                            .where(Member.active.is_(True), Subcommittee.name.in_(audience["subcommittees"])))
        return query.where(User.id.in_(in_subcommittees))
    if kind == "category":
        return query.where(User.id.in_(select(CategorySubscription.user_id)
                                       .where(CategorySubscription.category == audience["category"])))
    return query  # all


@dataclass
class Count:
    reachable: int
    blocked: int

    @property
    def quota_use(self) -> int:
        """Messages counted against LINE's monthly quota: one per recipient per request (up to five bubbles)."""
        return self.reachable


def count(session: Session, audience: dict[str, Any]) -> Count:
    users = audience_users(audience).subquery()
    reachable, total = session.execute(
        select(func.count().filter(users.c.is_reachable.is_(True)), func.count()).select_from(users)).one()
    return Count(int(reachable or 0), int(total or 0) - int(reachable or 0))


# --------------------------------------------------------------------------- messages


def _https(url: str, what: str) -> str:
    url = (url or "").strip()
    try:
        parsed = urlparse(url)
    except ValueError:  # e.g. "https://[": not a URL at all
        parsed = urlparse("")
    if parsed.scheme != "https" or not parsed.netloc or len(url) > 1000 or any(c.isspace() for c in url):
        raise BroadcastError(f"{what}は https:// で始まるURLにしてください（1000文字まで）")
    return url


def build_messages(session: Session, items: list[dict[str, Any]], base_url: str) -> list[Message]:
    """LINE message objects for what staff composed; every item is checked, nothing is trusted."""
    if not items:
        raise BroadcastError("メッセージを1つ以上入れてください")
    if len(items) > MAX_MESSAGES_PER_REQUEST:
        raise BroadcastError(f"メッセージは{MAX_MESSAGES_PER_REQUEST}つまでです")
    out: list[Message] = []
    for number, item in enumerate(items, 1):
        kind = item.get("type")
        if kind == "text":
            body = str(item.get("text") or "").strip()
            if not body:
                raise BroadcastError(f"{number}つ目のテキストが空です")
            if utf16_len(body) > TEXT_LIMIT:
                raise BroadcastError(f"{number}つ目のテキストが長すぎます（{TEXT_LIMIT}文字まで）")
            out.append({"type": "text", "text": body})
        elif kind == "event":
            event = session.get(Event, _int(item.get("event_id"), number, "イベント"))
            if event is None:
                raise BroadcastError(f"{number}つ目: イベントが見つかりません")
            out.append(event_messages.carousel([event], base_url))
        elif kind == "survey":
            survey = session.get(Survey, _int(item.get("survey_id"), number, "アンケート"))
            if survey is None:
                raise BroadcastError(f"{number}つ目: アンケートが見つかりません")
            out.append(survey_messages.invitation(survey, surveys.template_of(session, survey)))
        elif kind == "image":
            out.append(_image_card(session, item, number, base_url))
        else:
            raise BroadcastError(f"{number}つ目: メッセージの種類が正しくありません: {kind!r}")
    return out


def _int(value: Any, number: int, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BroadcastError(f"{number}つ目: {what}を選んでください") from None


def _image_url(session: Session, url: str, base_url: str, number: int) -> tuple[str, str]:
    """An image LINE can fetch, and the shape of the card's image: https, cut to 20:13 as LINE shows a hero; or
    one uploaded to this app (which must exist; in development its URL is http: the simulator shows it, LINE will
    not, and the console says so), shown whole, in its own proportions (LINE allows a height up to three times
    the width)."""
    url = (url or "").strip()
    if not images.is_own(url, base_url):
        return _https(url, f"{number}つ目の画像"), "20:13"
    image = images.find(session, url.removeprefix(base_url.rstrip("/") + images.MEDIA_PATH))
    if image is None:
        raise BroadcastError(f"{number}つ目の画像が見つかりません。画像をアップロードしなおしてください")
    return url, f"{image.width}:{min(image.height, 3 * image.width)}"


def _image_card(session: Session, item: dict[str, Any], number: int, base_url: str) -> Message:
    image, ratio = _image_url(session, str(item.get("image_url") or ""), base_url, number)
    caption = str(item.get("caption") or "").strip()[:100]
    bubble: dict[str, Any] = {"type": "bubble", "hero": {"type": "image", "url": image, "size": "full",
                                                         "aspectRatio": ratio, "aspectMode": "cover"}}
    if caption:
        bubble["body"] = {"type": "box", "layout": "vertical",
                          "contents": [{"type": "text", "text": caption, "wrap": True, "weight": "bold"}]}
    if item.get("link_url"):
        link = _https(str(item["link_url"]), f"{number}つ目のリンク")
        bubble["hero"]["action"] = {"type": "uri", "uri": link}
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "style": "link", "action": {"type": "uri", "label": "詳しく見る", "uri": link}}]}
    return {"type": "flex", "altText": caption or "お知らせ（画像）", "contents": bubble}


# --------------------------------------------------------------------------- lifecycle


def create(work: Work, data: BroadcastInput) -> Broadcast:
    """A draft: nothing is sent until it is confirmed (schedule())."""
    items = data.items()
    broadcast = Broadcast(title=data.title, items=items, messages=build_messages(work.session, items, work.base_url),
                          audience=normalise_audience(work.session, data.audience.model_dump()), urgent=data.urgent,
                          status="draft", created_by=work.actor[:100])
    work.session.add(broadcast)
    work.session.flush()
    work.audit("broadcast.draft", f"broadcast:{broadcast.id}", broadcast.title)
    return broadcast


def edit(work: Work, broadcast: Broadcast, data: BroadcastInput) -> None:
    """Change a draft or a scheduled broadcast that has not started; a scheduled one goes back to draft, so the
    new count is confirmed again."""
    if broadcast.status not in ("draft", "scheduled"):
        raise BroadcastError(f"{STATUSES[broadcast.status]}の配信は変更できません", "status")
    items = data.items()
    broadcast.title, broadcast.items, broadcast.urgent = data.title, items, data.urgent
    broadcast.messages = build_messages(work.session, items, work.base_url)
    broadcast.audience = normalise_audience(work.session, data.audience.model_dump())
    broadcast.status, broadcast.updated_at = "draft", clock.now()
    work.audit("broadcast.edit", f"broadcast:{broadcast.id}", broadcast.title)


def schedule(work: Work, broadcast: Broadcast, *, at: dt.datetime | None, confirmed_count: int | None = None
             ) -> None:
    """Confirm: send now (at=None) or at a set time. With confirmed_count, refuse if the audience has changed
    since the preview the staff member confirmed."""
    if broadcast.status not in ("draft", "scheduled"):
        raise BroadcastError(f"{STATUSES[broadcast.status]}の配信は送信できません", "status")
    now = clock.now()
    if at is not None and at < now - dt.timedelta(minutes=1):
        raise BroadcastError("送信日時が過ぎています", "scheduled_at")
    current = count(work.session, broadcast.audience).reachable
    if confirmed_count is not None and current != confirmed_count:
        raise BroadcastError(f"送信先の人数が変わりました（{confirmed_count}人 → {current}人）。"
                             "もう一度確認してください", "confirmed_count")
    broadcast.status, broadcast.scheduled_at, broadcast.updated_at = "scheduled", at or now, now
    work.audit("broadcast.schedule" if at else "broadcast.send", f"broadcast:{broadcast.id}",
               f"{broadcast.title} → {describe_audience(broadcast.audience)}（{current}人）")


def cancel(work: Work, broadcast: Broadcast) -> None:
    if broadcast.status not in ("draft", "scheduled"):
        raise BroadcastError(f"{STATUSES[broadcast.status]}の配信は取り消せません", "status")
    broadcast.status, broadcast.updated_at = "cancelled", clock.now()
    work.audit("broadcast.cancel", f"broadcast:{broadcast.id}", broadcast.title)


def starts_at(broadcast: Broadcast, quiet_start: int, quiet_end: int) -> dt.datetime | None:
    """When a scheduled broadcast will really start: its time, or the end of the quiet hours unless urgent."""
    if broadcast.status != "scheduled" or broadcast.scheduled_at is None:
        return None
    if broadcast.urgent:
        return broadcast.scheduled_at
    return clock.outside_quiet_hours(broadcast.scheduled_at, quiet_start, quiet_end)


def run_due(work: Work) -> dict[str, int]:
    """Start due broadcasts (recipients are then queued in chunks: queue_chunk) and mark finished ones done."""
    session, settings = work.session, work.settings
    now = clock.now()
    started = 0
    due = session.scalars(select(Broadcast).where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now)
                          .order_by(Broadcast.scheduled_at).with_for_update(skip_locked=True)).all()
    for broadcast in due:
        if not broadcast.urgent and clock.outside_quiet_hours(now, settings.quiet_hours_start,
                                                              settings.quiet_hours_end) > now:
            continue  # it waits for the morning
        start(work, broadcast)
        started += 1
    finished = 0
    for broadcast in session.scalars(select(Broadcast).where(Broadcast.status == "sending",
                                                             Broadcast.queued_at.is_not(None))
                                     .with_for_update(skip_locked=True)):
        if not work.outbox.unfinished(session, source=source(broadcast)):
            broadcast.status, broadcast.finished_at = "done", now
            finished += 1
    return {"started": started, "finished": finished}


def source(broadcast: Broadcast) -> str:
    return f"broadcast:{broadcast.id}"


def start(work: Work, broadcast: Broadcast) -> None:
    """Mark it sending. "All friends" is one request to LINE's broadcast endpoint (it reaches every friend, also
    those who never wrote to the bot); a segment's recipients are queued afterwards, a chunk at a time."""
    session = work.session
    broadcast.status, broadcast.started_at = "sending", clock.now()
    if broadcast.audience["kind"] == "all":
        work.outbox.broadcast(session, messages=broadcast.messages, source=source(broadcast))
        counted = count(session, broadcast.audience)
        broadcast.recipients, broadcast.skipped, broadcast.queued_at = counted.reachable, counted.blocked, clock.now()


def queue_chunk(work: Work, *, chunk: int = QUEUE_CHUNK) -> bool:
    """Queue the next recipients of a sending broadcast: a row each, and the multicasts of 500 that carry them, in
    this one transaction. Short transactions keep the webhook's writes flowing beside a big broadcast; a crash
    between two chunks loses nothing, as the next run goes on after the last user queued. The multicasts are held
    until the last chunk releases them: queueing and sending would otherwise share the process's one core (the GIL)
    and both go slower. False when no broadcast is left to queue."""
    session = work.session
    broadcast = session.scalars(select(Broadcast).where(Broadcast.status == "sending", Broadcast.queued_at.is_(None))
                                .order_by(Broadcast.id).limit(1).with_for_update(skip_locked=True)).first()
    if broadcast is None:
        return False
    after = session.scalar(select(func.max(BroadcastRecipient.user_id))
                           .where(BroadcastRecipient.broadcast_id == broadcast.id)) or 0
    users = audience_users(broadcast.audience).where(User.id > after).order_by(User.id).limit(chunk).subquery()
    added = session.scalar(select(func.count()).select_from(users)) or 0  # (PostgreSQL gives no rowcount below)
    session.execute(insert(BroadcastRecipient).from_select(
        ["broadcast_id", "user_id", "line_user_id", "skipped"],
        select(literal(broadcast.id), users.c.id, users.c.line_user_id, not_(users.c.is_reachable))))
    unqueued = (BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.skipped.is_(False),
                BroadcastRecipient.delivery_id.is_(None))
    rows = session.execute(select(BroadcastRecipient.id, BroadcastRecipient.line_user_id).where(*unqueued)
                           .order_by(BroadcastRecipient.id)).all()
    for begin in range(0, len(rows), MULTICAST_LIMIT):
        batch = rows[begin:begin + MULTICAST_LIMIT]
        delivery = work.outbox.multicast(session, line_user_ids=[r.line_user_id for r in batch],
                                         messages=broadcast.messages, source=source(broadcast), held=True)[0]
        session.flush()
        session.execute(update(BroadcastRecipient).where(
            *unqueued, BroadcastRecipient.id.between(batch[0].id, batch[-1].id)).values(delivery_id=delivery.id)
            .execution_options(synchronize_session=False))  # no recipient objects are loaded to keep in step
    broadcast.recipients += len(rows)
    broadcast.skipped += added - len(rows)
    if added < chunk:  # everyone is queued: the multicasts may leave now
        broadcast.queued_at = clock.now()
        work.outbox.release(session, source=source(broadcast))
    return True


def test_send(work: Work, broadcast: Broadcast, *, user: User) -> bool:
    """The messages to one staff member's own LINE account, before the real thing."""
    sent = bool(work.outbox.push(work.session, user=user,
                                 messages=[{"type": "text", "text": f"【テスト送信】{broadcast.title}"},
                                           *broadcast.messages][:MAX_MESSAGES_PER_REQUEST],
                                 source=f"broadcast-test:{broadcast.id}"))
    if sent:
        work.audit("broadcast.test", f"broadcast:{broadcast.id}", broadcast.title)
    return sent


# --------------------------------------------------------------------------- progress and log


def progress(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    """Recipients sent / failed / pending (and skipped: blocked the bot), for the progress bar and the API."""
    sent = failed = pending = 0
    if broadcast.audience["kind"] == "all":
        outcomes = {outbox.outcome(s) for s in outbox.Outbox.statuses(session, source=source(broadcast))}
        state = "failed" if "failed" in outcomes else "pending" if "pending" in outcomes else "sent"
        n = broadcast.recipients
        sent, failed, pending = (n, 0, 0) if state == "sent" else (0, n, 0) if state == "failed" else (0, 0, n)
    else:
        for status, n in session.execute(
            select(Delivery.status, func.count(BroadcastRecipient.id))
            .join(Delivery, Delivery.id == BroadcastRecipient.delivery_id)
            .where(BroadcastRecipient.broadcast_id == broadcast.id).group_by(Delivery.status)
        ):
            result = outbox.outcome(status)
            if result == "sent":
                sent += n
            elif result == "failed":
                failed += n
            else:
                pending += n
    total = sent + failed + pending
    return {"recipients": total, "sent": sent, "failed": failed, "pending": pending, "skipped": broadcast.skipped,
            "percent": 100 if total == 0 and broadcast.status == "done" else
            round(100 * (sent + failed) / total) if total else 0}


def recipient_log(session: Session, broadcast: Broadcast, *, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """One row per recipient: who, and what became of the request that carried the broadcast to them (its
    delivery status; "outbox": development without LINE, shown in the simulator, never sent)."""
    rows = session.execute(
        select(BroadcastRecipient, User.display_name, Delivery.status, Delivery.sent_at, Delivery.last_error,
               Delivery.attempts)
        .join(User, User.id == BroadcastRecipient.user_id)
        .outerjoin(Delivery, Delivery.id == BroadcastRecipient.delivery_id)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .order_by(BroadcastRecipient.id).offset(offset).limit(limit))
    return [{"user_id": r.user_id, "display_name": name, "line_user_id": r.line_user_id,
             "status": "skipped" if r.skipped else status or "pending",
             "sent_at": sent_at, "error": error, "attempts": attempts or 0}
            for r, name, status, sent_at, error, attempts in rows]


def recent(session: Session, limit: int = 50) -> list[Broadcast]:
    return list(session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


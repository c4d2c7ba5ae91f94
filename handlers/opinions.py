"""ご意見 by chat: category, then the text, then a name if they like; 事前意見 from members before a meeting."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import select

from bot import clock
from bot.messages import message_action, postback_action, quick_reply, text
from bot.postback import InvalidPostback
from db.models import Event
from events import service as events
from handlers.router import Context, Router, in_state, text_is
from opinions import service


class OpinionState(StrEnum):
    """The conversation states of this domain (a half-written opinion is dropped after TTL)."""

    CATEGORY = "opinion.category"  # asked which 分野
    TEXT = "opinion.text"  # data: {"category"}; asked for the opinion
    NAME = "opinion.name"  # data: {"category", "text"}; asked for a name (optional)
    PRE_MEETING = "opinion.pre_meeting"  # data: {"event_id"}; asked for a 事前意見 on that meeting


router = Router("opinions")
TTL = dt.timedelta(hours=2)


def _cancel_item(ctx: Context) -> dict[str, object]:
    return quick_reply(message_action(ctx.t("opinion.cancel")))


@router.message(text_is("ご意見", "ごいけん", "意見", "opinion", "opinions", "feedback"))
def on_start(ctx: Context) -> None:
    items = [quick_reply(postback_action(ctx.t(f"opinion.cat.{i}"), "opinion.category", k=i))
             for i in range(len(service.CATEGORIES))]
    ctx.set_state(OpinionState.CATEGORY, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.category"), [*items, _cancel_item(ctx)]))


@router.message(in_state(*OpinionState),
                lambda ctx: ctx.text in ("やめる", "Cancel", "cancel", "キャンセル"))
def on_cancel(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(text(ctx.t("opinion.cancelled")))


@router.postback("opinion.category")
def on_category(ctx: Context) -> None:
    assert ctx.postback is not None
    try:
        category = service.CATEGORIES[ctx.postback.int("k")]
    except (InvalidPostback, IndexError):
        ctx.reply(text(ctx.t("stale_button")))
        return
    ctx.set_state(OpinionState.TEXT, {"category": category}, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.type"), [_cancel_item(ctx)]))


def _typed(ctx: Context) -> str | None:
    body = ctx.text
    if not body:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))
        return None
    if len(body) > service.TEXT_LIMIT:
        ctx.reply(text(ctx.t("opinion.too_long", limit=service.TEXT_LIMIT), [_cancel_item(ctx)]))
        return None
    return body


@router.message(in_state(OpinionState.CATEGORY))
def on_text_before_category(ctx: Context) -> None:
    on_start(ctx)  # they typed instead of choosing: ask again


@router.message(in_state(OpinionState.TEXT))
def on_text(ctx: Context) -> None:
    body = _typed(ctx)
    if body is None:
        return
    state = ctx.state()
    assert state is not None
    ctx.set_state(OpinionState.NAME, {**state.data, "text": body}, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.name"), [quick_reply(message_action(ctx.t("opinion.no_name"))),
                                           _cancel_item(ctx)]))


@router.message(in_state(OpinionState.NAME))
def on_name(ctx: Context) -> None:
    assert ctx.user is not None
    state = ctx.state()
    assert state is not None
    name = None if ctx.text in ("", ctx.t("opinion.no_name")) else ctx.text[:100]
    service.record(ctx.work, user=ctx.user, category=state.data["category"], body=state.data["text"], name=name)
    ctx.clear_state()
    ctx.reply(text(ctx.t("opinion.thanks")))


# -- 事前意見: a member's opinion on a coming meeting


@router.message(text_is("事前意見", "じぜんいけん"))
def on_pre_meeting(ctx: Context) -> None:
    member = ctx.member()
    if member is None:
        ctx.reply(text(ctx.t("opinion.pre_meeting.members_only")))
        return
    meetings = [e for e in ctx.session.scalars(
        select(Event).where(events.visible_to(member), Event.kind.in_(events.MEETINGS),
                            Event.starts_at > clock.now(), Event.status.not_in(events.CANCELLED))
        .order_by(Event.starts_at).limit(10)) if events.in_meeting_audience(e, member)]
    if not meetings:
        ctx.reply(text(ctx.t("opinion.pre_meeting.none")))
        return
    items = [quick_reply(postback_action(e.title[:20], "opinion.meeting", display_text=e.title, e=e.id))
             for e in meetings]
    ctx.reply(text(ctx.t("opinion.pre_meeting.which"), [*items, _cancel_item(ctx)]))


@router.postback("opinion.meeting")
def on_meeting_chosen(ctx: Context) -> None:
    assert ctx.postback is not None
    member = ctx.member()
    try:
        event = ctx.session.get(Event, ctx.postback.int("e"))
    except InvalidPostback:
        event = None
    if member is None or event is None or not events.in_meeting_audience(event, member):
        ctx.reply(text(ctx.t("stale_button")))
        return
    ctx.set_state(OpinionState.PRE_MEETING, {"event_id": event.id}, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.pre_meeting.type", title=event.title), [_cancel_item(ctx)]))


@router.message(in_state(OpinionState.PRE_MEETING))
def on_pre_meeting_text(ctx: Context) -> None:
    assert ctx.user is not None
    body = _typed(ctx)
    if body is None:
        return
    state = ctx.state()
    member = ctx.member()
    event = ctx.session.get(Event, state.data.get("event_id")) if state else None
    ctx.clear_state()
    if member is None or event is None:
        ctx.reply(text(ctx.t("stale_button")))
        return
    service.record(ctx.work, user=ctx.user, category=service.PRE_MEETING, body=body, name=member.name, event=event)
    ctx.reply(text(ctx.t("opinion.pre_meeting.thanks")))

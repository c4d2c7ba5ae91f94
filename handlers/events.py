"""Residents asking about events in their own words; the buttons on event cards."""

from __future__ import annotations

from sqlalchemy import select

from bot import clock
from bot.messages import text
from bot.postback import InvalidPostback
from db.models import Event
from events import messages, service
from handlers.router import Context, Router
from members import service as members

router = Router("events")


def _about_events(ctx: Context) -> bool:
    if not ctx.text:
        return False
    found = service.find(ctx.session, user=ctx.user, text=ctx.text)
    ctx.memo["events"] = found
    return found is not None


@router.message(_about_events)
def on_question(ctx: Context) -> None:
    found = ctx.memo["events"]
    base = ctx.settings.public_base_url
    if found.query.bad_date:
        ctx.reply(text(ctx.t("event.bad_date", date=found.query.bad_date)))
        return
    if not found.events:
        key = "event.none_in_range" if found.query.dates else "event.none"
        upcoming = ctx.session.scalars(select(Event).where(
            service.visible_to(members.member_of(ctx.session, ctx.user)), Event.ends_at >= clock.now())
            .order_by(Event.starts_at).limit(8)).all()
        words = found.query.dates.words if found.query.dates else ""
        ctx.reply(text(ctx.t(key, words=words), messages.suggestions(list(upcoming), ctx.lang)))
        return
    replies = [messages.carousel(found.events, base, ctx.lang)]
    if found.more:
        replies.append(text(ctx.t("event.more", n=found.more)))
    ctx.reply(*replies)
    if ctx.user is not None:
        service.remember_inquiry(ctx.session, user=ctx.user, events=found.events)


def _event(ctx: Context) -> Event | None:
    """The event a button names, if this user may see it."""
    assert ctx.postback is not None
    try:
        event_id = ctx.postback.int("e")
    except InvalidPostback:
        event_id = -1
    event = ctx.session.scalars(select(Event).where(
        Event.id == event_id, service.visible_to(members.member_of(ctx.session, ctx.user)))).one_or_none()
    if event is None:
        ctx.reply(text(ctx.t("event.gone")))
    return event


@router.postback("event.detail")
def on_detail(ctx: Context) -> None:
    if (event := _event(ctx)) is not None:
        ctx.reply(messages.detail(event, ctx.settings.public_base_url, ctx.lang))


@router.postback("event.map")
def on_map(ctx: Context) -> None:
    event = _event(ctx)
    if event is None:
        return
    if event.latitude is None or event.longitude is None:
        ctx.reply(messages.detail(event, ctx.settings.public_base_url, ctx.lang))
    else:
        ctx.reply(messages.location(event))


@router.postback("event.remind")
def on_remind(ctx: Context) -> None:
    event = _event(ctx)
    if event is None or ctx.user is None:
        return
    title = messages.title(event, ctx.lang)
    if service.subscribe(ctx.session, user=ctx.user, event=event):
        ctx.reply(text(ctx.t("event.remind_ok", title=title)))
    else:
        ctx.reply(text(ctx.t("event.remind_already", title=title)))

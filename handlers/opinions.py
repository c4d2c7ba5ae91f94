"""ご意見 by chat: category, then the text, then a name if they like; 事前意見 from members before a meeting."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from bot.messages import message_action, postback_action, quick_reply, text
from bot.postback import InvalidPostback
from bot.texts import labels
from db.models import Event
from events import service as events
from handlers.common import with_menu
from handlers.router import Context, Router, in_state, text_is, typed
from opinions import service


class OpinionState(StrEnum):
    """The conversation states of this domain (a half-written opinion is dropped after TTL)."""

    OFFER = "opinion.offer"  # data: {"text"}; asked whether a text typed straight in is an opinion to send
    CATEGORY = "opinion.category"  # data: {"text"?}; asked which 分野 (a text typed already is kept)
    TEXT = "opinion.text"  # data: {"category"}; asked for the opinion
    TOO_LONG = "opinion.too_long"  # data: {"category", "text"}; offered to send a long text in parts
    NAME = "opinion.name"  # data: {"category", "text"}; asked for a name (optional)
    PRE_MEETING = "opinion.pre_meeting"  # data: {"event_id"}; asked for a 事前意見 on that meeting


router = Router("opinions")
TTL = dt.timedelta(hours=2)
CATEGORY_KEYS = tuple(f"opinion.cat.{i}" for i in range(len(service.CATEGORIES)))
CANCEL_WORDS = (*labels("opinion.cancel"), *typed("キャンセル", "やめます", "中止"))


def _cancel_item(ctx: Context) -> dict[str, object]:
    return quick_reply(message_action(ctx.t("opinion.cancel")))


def _ask_category(ctx: Context, data: dict[str, str], note: str | None = None) -> None:
    items = [quick_reply(postback_action(ctx.t(key), "opinion.category", display_text=ctx.t(key), k=i))
             for i, key in enumerate(CATEGORY_KEYS)]
    ctx.set_state(OpinionState.CATEGORY, data, ttl=TTL)
    body = ctx.t("opinion.category_kept") if data.get("text") else ctx.t("opinion.category")
    ctx.reply(*([text(note)] if note else []), text(body, [*items, _cancel_item(ctx)]))


def _category_typed(ctx: Context) -> int | None:
    """The index of the category whose label (in either language) was typed."""
    for i, key in enumerate(CATEGORY_KEYS):
        if ctx.text.casefold() in {label.casefold() for label in labels(key)}:
            return i
    return None


@router.message(text_is(*labels("qr.opinion"), "ごいけん", "意見", "opinions", "feedback",
                        "ご意見を送る", "意見を送る"))
def on_start(ctx: Context) -> None:
    _ask_category(ctx, {})


@router.message(in_state(*OpinionState), lambda ctx: ctx.text in CANCEL_WORDS)
def on_cancel(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(text(ctx.t("opinion.cancelled")))


@router.message(text_is(*CANCEL_WORDS))
def on_nothing_to_cancel(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("nothing_to_cancel")))


def _chosen(ctx: Context, index: int) -> None:
    """A category chosen (tapped or typed): on to the text, or to the name when the text came first."""
    state = ctx.state()
    kept = dict(state.data) if state is not None and state.state == OpinionState.CATEGORY else {}
    data = {**kept, "category": service.CATEGORIES[index]}
    if data.get("text"):
        _have_text(ctx, data)
        return
    ctx.set_state(OpinionState.TEXT, data, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.type"), [_cancel_item(ctx)]))


@router.postback("opinion.category")
def on_category(ctx: Context) -> None:
    assert ctx.postback is not None
    try:
        index = ctx.postback.int("k")
        service.CATEGORIES[index]
    except (InvalidPostback, IndexError):
        ctx.reply(text(ctx.t("stale_button")))
        return
    _chosen(ctx, index)


@router.message(in_state(OpinionState.CATEGORY))
def on_text_at_category(ctx: Context) -> None:
    """A category's label typed chooses it; anything else typed is the opinion itself: kept, and the category asked
    once more."""
    if (index := _category_typed(ctx)) is not None:
        _chosen(ctx, index)
    elif not ctx.text:
        _ask_category(ctx, dict(ctx.state().data) if ctx.state() else {})  # type: ignore[union-attr]
    else:
        _ask_category(ctx, {"text": ctx.text})


@router.message(text_is(*(label for key in CATEGORY_KEYS for label in labels(key))))
def on_category_word(ctx: Context) -> None:
    """A category's label typed outside the conversation: an opinion of that category begins."""
    index = _category_typed(ctx)
    assert index is not None
    _chosen(ctx, index)


def _have_text(ctx: Context, data: dict[str, str]) -> None:
    """The opinion is written: a name next, or first the offer to send a long text in parts."""
    if len(data["text"]) > service.TEXT_LIMIT:
        ctx.set_state(OpinionState.TOO_LONG, data, ttl=TTL)
        count = len(service.parts(data["text"]))
        ctx.reply(text(ctx.t("opinion.too_long", length=len(data["text"]), limit=service.TEXT_LIMIT, parts=count),
                       [quick_reply(message_action(ctx.t("opinion.btn.parts", parts=count))), _cancel_item(ctx)]))
        return
    ctx.set_state(OpinionState.NAME, data, ttl=TTL)
    ctx.reply(text(ctx.t("opinion.name"), [quick_reply(message_action(ctx.t("opinion.no_name"))),
                                           _cancel_item(ctx)]))


@router.message(in_state(OpinionState.TEXT))
def on_text(ctx: Context) -> None:
    if not ctx.text:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))
        return
    state = ctx.state()
    assert state is not None
    _have_text(ctx, {**state.data, "text": ctx.text})


@router.message(in_state(OpinionState.TOO_LONG))
def on_too_long(ctx: Context) -> None:
    """分けて送る keeps the whole text (sent as parts once named); a new, shorter text takes its place."""
    state = ctx.state()
    assert state is not None
    if re.search("|".join(typed("分けて", "わけて", r"in \d+ parts")), ctx.text) or ctx.text in ("はい", "yes"):
        ctx.set_state(OpinionState.NAME, {**state.data, "in_parts": "1"}, ttl=TTL)
        ctx.reply(text(ctx.t("opinion.name"), [quick_reply(message_action(ctx.t("opinion.no_name"))),
                                               _cancel_item(ctx)]))
    elif ctx.text:
        _have_text(ctx, {**state.data, "text": ctx.text})
    else:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))


@router.message(in_state(OpinionState.NAME))
def on_name(ctx: Context) -> None:
    assert ctx.user is not None
    state = ctx.state()
    assert state is not None
    name = None if ctx.text in ("", *labels("opinion.no_name"), *typed("なし", "なまえなし")) else ctx.text[:100]
    bodies = service.parts(state.data["text"])
    for i, body in enumerate(bodies, start=1):
        prefix = f"（{i}/{len(bodies)}）" if len(bodies) > 1 else ""
        service.record(ctx.work, user=ctx.user, category=state.data["category"], body=prefix + body, name=name)
    ctx.clear_state()
    ctx.reply(text(ctx.t("opinion.thanks")))


# -- a text typed straight in that reads like an opinion: offered, never sent unasked


SEND_WORDS = (*labels("opinion.btn.send", "opinion.btn.send_as"),
              *typed("はい", "おくる", "送ります", "お願いします", "おねがいします", "yes"))
OFFER_TTL = dt.timedelta(minutes=10)  # anything else typed meanwhile is handled as usual; the offer fades


@router.message(in_state(OpinionState.OFFER), lambda ctx: ctx.text.casefold() in {w.casefold() for w in SEND_WORDS})
def on_offer_accepted(ctx: Context) -> None:
    state = ctx.state()
    assert state is not None
    _ask_category(ctx, {"text": state.data["text"]})


def keep_for_later(ctx: Context) -> None:
    """A text nothing understood: kept a few minutes, so 「ご意見として送る」 can send it without typing it again."""
    ctx.set_state(OpinionState.OFFER, {"text": ctx.text}, ttl=OFFER_TTL)


def offer(ctx: Context) -> bool:
    """Offer to send a text nothing else understood as ご意見, when it reads like one (called by the fallback)."""
    if ctx.user is None or ctx.in_chat or not service.looks_like_opinion(ctx.text):
        return False
    ctx.set_state(OpinionState.OFFER, {"text": ctx.text}, ttl=OFFER_TTL)
    ctx.reply(text(ctx.t("opinion.offer", text=ctx.text[:60] + ("…" if len(ctx.text) > 60 else "")),
                   [quick_reply(message_action(ctx.t("opinion.btn.send"))), _cancel_item(ctx)]))
    return True


# -- 事前意見: a member's opinion on a coming meeting


@router.message(text_is(*labels("opinion.pre_meeting.menu"), "じぜんいけん", "事前意見を送る"))
def on_pre_meeting(ctx: Context) -> None:
    member = ctx.member()
    if member is None:
        ctx.reply(text(ctx.t("opinion.pre_meeting.members_only")))
        return
    meetings = events.upcoming_meetings(ctx.session, member)
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
    """The 事前意見 itself; a text too long for one is kept and recorded in parts (the member is told)."""
    assert ctx.user is not None
    if not ctx.text:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))
        return
    state = ctx.state()
    member = ctx.member()
    event = ctx.session.get(Event, state.data.get("event_id")) if state else None
    ctx.clear_state()
    if member is None or event is None:
        ctx.reply(text(ctx.t("stale_button")))
        return
    bodies = service.parts(ctx.text)
    for i, body in enumerate(bodies, start=1):
        prefix = f"（{i}/{len(bodies)}）" if len(bodies) > 1 else ""
        service.record(ctx.work, user=ctx.user, category=service.PRE_MEETING, body=prefix + body, name=member.name,
                       event=event)
    note = [text(ctx.t("opinion.in_parts", length=len(ctx.text), parts=len(bodies)))] if len(bodies) > 1 else []
    ctx.reply(*note, text(ctx.t("opinion.pre_meeting.thanks")))


# -- last: the flow's button words typed when no opinion is being written


@router.message(text_is(*labels("opinion.no_name", "opinion.btn.send", "opinion.btn.send_as")))
def on_late_button_word(ctx: Context) -> None:
    """名前なしで送る or 送る typed when no opinion is being written (after it expired): a new one begins."""
    on_start(ctx)

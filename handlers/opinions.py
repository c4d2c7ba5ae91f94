"""ご意見 by chat: category, then the text, then a name if they like (a member: whether their name may be shown in
the meeting's published table); 事前意見 from members before a meeting; the rating of the ward's answer
(十分 / まあ十分 / 不十分, then an optional comment); and 「わたしの意見」."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from bot.messages import message_action, postback_action, quick_reply, text
from bot.postback import InvalidPostback
from bot.texts import BUTTON_KEYS, labels
from db.models import Event, Member, Opinion
from events import service as events
from handlers.common import with_menu
from handlers.router import Context, Router, in_state, text_is, typed
from opinions import messages as opinion_messages
from opinions import service


class OpinionState(StrEnum):
    """The conversation states of this domain (a half-written opinion is dropped after TTL)."""

    OFFER = "opinion.offer"  # data: {"text"}; asked whether a text typed straight in is an opinion to send
    CATEGORY = "opinion.category"  # data: {"text"?}; asked which 分野 (a text typed already is kept)
    TEXT = "opinion.text"  # data: {"category"}; asked for the opinion
    TOO_LONG = "opinion.too_long"  # data: {"category", "text"}; offered to send a long text in parts
    NAME = "opinion.name"  # data: {"category", "text"}; asked for a name (optional)
    PRE_MEETING = "opinion.pre_meeting"  # data: {"event_id"}; asked for a 事前意見 on that meeting
    CONSENT = "opinion.consent"  # data: {"first", "last"}; a member's opinions sent: may their name be shown?
    COMMENT = "opinion.comment"  # data: {"opinion_id"}; the answer rated: a comment, if they like


# the states of an opinion being written (やめる drops it); in the others it is sent already
DRAFTS = (OpinionState.OFFER, OpinionState.CATEGORY, OpinionState.TEXT, OpinionState.TOO_LONG, OpinionState.NAME,
          OpinionState.PRE_MEETING)


router = Router("opinions")
TTL = dt.timedelta(hours=2)
CATEGORY_KEYS = tuple(f"opinion.cat.{i}" for i in range(len(service.CATEGORIES)))
CANCEL_WORDS = (*labels("opinion.cancel"), *typed("キャンセル", "やめます", "中止"))
YES_WORDS = {w.casefold() for w in (*labels("opinion.consent.yes"), *typed("はい", "いいです", "いいよ", "OK",
                                                                             "出してよい", "だしてよい", "yes"))}
NO_WORDS = {w.casefold() for w in (*labels("opinion.consent.no"), *typed("いいえ", "いや", "だめ", "出さない",
                                                                           "ださない", "no"))}
COMMENT_TTL = dt.timedelta(hours=1)
CONSENT_TTL = dt.timedelta(hours=2)


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


# 「ご意見を送りたい」, 「意見を言いたい」...: asking to send one, not the opinion itself
WANTS_TO_SEND = re.compile("^(?:" + "|".join(typed("ご意見", "ごいけん", "御意見", "意見", "いけん")) + ")"
                           + typed("(?:を|が)?")[0] + "(?:"
                           + "|".join(typed("送りたい", "おくりたい", "送る", "おくる", "送ります", "言いたい",
                                            "いいたい", "あります", "したい", "出したい", "伝えたい"))
                           + ")?" + typed("(?:です|のですが|んですが)?[。.!！]*$")[0])
# What is typed at a step of the flow that is not for the flow: the menu's words go to their own answer
MENU_WORDS = {w.casefold() for w in labels("qr.events", "qr.survey", "qr.help", "qr.settings", "meeting.menu",
                                           "opinion.pre_meeting.menu", "menu.info", "qr.contact")}


def _not_a_menu_word(ctx: Context) -> bool:
    return ctx.text.casefold() not in MENU_WORDS


@router.message(text_is(*labels("qr.opinion"), "opinions", "feedback"))
@router.message(lambda ctx: bool(WANTS_TO_SEND.match(ctx.text)))
def on_start(ctx: Context) -> None:
    _ask_category(ctx, {})


@router.message(in_state(*DRAFTS), lambda ctx: ctx.text.casefold() in {w.casefold() for w in CANCEL_WORDS})
def on_cancel(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(with_menu(ctx, ctx.t("opinion.cancelled")))


@router.message(text_is(*CANCEL_WORDS))  # (text_is ignores case)
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


@router.message(in_state(OpinionState.CATEGORY), _not_a_menu_word)
def on_text_at_category(ctx: Context) -> None:
    """A category's label typed chooses it. Without an opinion yet, what is typed is the opinion: kept, and the
    category asked once more. With one already kept, it stays (never replaced by what comes next): the kept text is
    shown and the category asked again."""
    state = ctx.state()
    kept = dict(state.data) if state is not None else {}
    if (index := _category_typed(ctx)) is not None:
        _chosen(ctx, index)
    elif kept.get("text") or not ctx.text:
        body = kept.get("text", "")
        note = ctx.t("opinion.category_again", text=body[:60] + ("…" if len(body) > 60 else "")) if body else None
        _ask_category(ctx, kept, note)
    else:
        _ask_category(ctx, _typed_text(ctx))


@router.message(text_is(*(label for key in CATEGORY_KEYS for label in labels(key))))
def on_category_word(ctx: Context) -> None:
    """A category's label typed outside the conversation: an opinion of that category begins."""
    index = _category_typed(ctx)
    assert index is not None
    _chosen(ctx, index)


def _typed_text(ctx: Context) -> dict[str, str]:
    """What was typed, with the quoteToken LINE gave its message (the answer will quote it)."""
    token = ctx.message.get("quoteToken")
    return {"text": ctx.text, **({"quote": str(token)} if isinstance(token, str) and token else {})}


def _name_question(ctx: Context, member: Member | None) -> tuple[str, list[dict[str, object]]]:
    """A resident is asked for a name (optional); a member (named from their record) whether it may be shown."""
    if member is not None:
        return ctx.t("opinion.consent.ask"), [quick_reply(message_action(ctx.t("opinion.consent.yes"))),
                                              quick_reply(message_action(ctx.t("opinion.consent.no"))),
                                              _cancel_item(ctx)]
    return ctx.t("opinion.name"), [quick_reply(message_action(ctx.t("opinion.no_name"))), _cancel_item(ctx)]


def _have_text(ctx: Context, data: dict[str, str]) -> None:
    """The opinion is written: a name next, or first the offer to send a long text in parts."""
    if len(data["text"]) > service.TEXT_LIMIT:
        ctx.set_state(OpinionState.TOO_LONG, data, ttl=TTL)
        count = len(service.parts(data["text"]))
        ctx.reply(text(ctx.t("opinion.too_long", length=len(data["text"]), limit=service.TEXT_LIMIT, parts=count),
                       [quick_reply(message_action(ctx.t("opinion.btn.parts", parts=count))), _cancel_item(ctx)]))
        return
    ctx.set_state(OpinionState.NAME, data, ttl=TTL)
    body = data["text"]
    shown = ctx.t("opinion.to_send", text=body[:100] + ("…" if len(body) > 100 else ""))
    question, items = _name_question(ctx, ctx.member())
    ctx.reply(text(f"{shown}\n{question}", items))


@router.message(in_state(OpinionState.TEXT), _not_a_menu_word)
def on_text(ctx: Context) -> None:
    if not ctx.text:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))
        return
    state = ctx.state()
    assert state is not None
    _have_text(ctx, {**state.data, **_typed_text(ctx)})


@router.message(in_state(OpinionState.TOO_LONG), _not_a_menu_word)
def on_too_long(ctx: Context) -> None:
    """分けて送る keeps the whole text (sent as parts once named); a new, shorter text takes its place."""
    state = ctx.state()
    assert state is not None
    if re.search("|".join(typed("分けて", "わけて", r"in \d+ parts")), ctx.text) or ctx.text in ("はい", "yes"):
        ctx.set_state(OpinionState.NAME, {**state.data, "in_parts": "1"}, ttl=TTL)
        question, items = _name_question(ctx, ctx.member())
        ctx.reply(text(question, items))
    elif ctx.text:
        _have_text(ctx, {**state.data, **_typed_text(ctx)})
    else:
        ctx.reply(text(ctx.t("opinion.text_only"), [_cancel_item(ctx)]))


def _record_parts(ctx: Context, body: str, *, category: str, name: str | None, quote: str | None,
                  event: Event | None = None, member: Member | None = None) -> list[Opinion]:
    """The opinion recorded, in parts （1/2） when it is long; every part keeps the quote token of the message it
    came from."""
    assert ctx.user is not None
    bodies = service.parts(body)
    return [service.record(ctx.work, user=ctx.user, category=category, body=(f"（{i}/{len(bodies)}）"
                                                                            if len(bodies) > 1 else "") + part,
                           name=name, event=event, member=member, quote_token=quote)
            for i, part in enumerate(bodies, start=1)]


@router.message(in_state(OpinionState.NAME), _not_a_menu_word)
def on_name(ctx: Context) -> None:
    assert ctx.user is not None
    state = ctx.state()
    assert state is not None
    member = ctx.member()
    if member is not None:  # a member is named from their record; asked only whether the name may be shown
        word = ctx.text.casefold()
        if word not in YES_WORDS | NO_WORDS:
            question, items = _name_question(ctx, member)
            ctx.reply(text(question, items))
            return
        sent = _record_parts(ctx, state.data["text"], category=state.data["category"], name=member.name,
                             quote=state.data.get("quote"), member=member)
        for opinion in sent:
            opinion.name_consent = word in YES_WORDS
        ctx.clear_state()
        ctx.reply(text(ctx.t("opinion.thanks")))
        return
    name = None if ctx.text in ("", *labels("opinion.no_name"), *typed("なし", "なまえなし")) else ctx.text[:100]
    _record_parts(ctx, state.data["text"], category=state.data["category"], name=name, quote=state.data.get("quote"))
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
    _ask_category(ctx, {key: state.data[key] for key in ("text", "quote") if key in state.data})


def keep_for_later(ctx: Context) -> None:
    """A text nothing understood: kept a few minutes, so 「ご意見として送る」 can send it without typing it again."""
    ctx.set_state(OpinionState.OFFER, _typed_text(ctx), ttl=OFFER_TTL)


def offer(ctx: Context) -> bool:
    """Offer to send a text nothing else understood as ご意見, when it reads like one (called by the fallback)."""
    if ctx.user is None or ctx.in_chat or not service.looks_like_opinion(ctx.text):
        return False
    ctx.set_state(OpinionState.OFFER, _typed_text(ctx), ttl=OFFER_TTL)
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
    items = [quick_reply(postback_action(e.title, "opinion.meeting", display_text=e.title, e=e.id))
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
    sent = _record_parts(ctx, ctx.text, category=service.PRE_MEETING, name=member.name,
                         quote=_typed_text(ctx).get("quote"), event=event, member=member)
    note = [text(ctx.t("opinion.in_parts", length=len(ctx.text), parts=len(sent)))] if len(sent) > 1 else []
    ctx.reply(*note, text(ctx.t("opinion.pre_meeting.thanks")), _consent_question(ctx, sent))


# -- whether a member's name may be shown in the meeting's published table (asked when sending; no until then)


def _consent_question(ctx: Context, sent: list[Opinion]) -> dict[str, object]:
    first, last = sent[0].id, sent[-1].id
    ctx.set_state(OpinionState.CONSENT, {"first": first, "last": last}, ttl=CONSENT_TTL)
    items = [quick_reply(postback_action(ctx.t(key), "opinion.consent", display_text=ctx.t(key), f=first, l=last,
                                         y=1 if key == "opinion.consent.yes" else 0))
             for key in ("opinion.consent.yes", "opinion.consent.no")]
    return text(ctx.t("opinion.consent.ask"), items)


def _consented(ctx: Context, first: int, last: int, consent: bool) -> None:
    assert ctx.user is not None
    state = ctx.state()
    if state is not None and state.state == OpinionState.CONSENT:
        ctx.clear_state()
    if not service.set_consent(ctx.work, user=ctx.user, first=first, last=last, consent=consent):
        ctx.reply(text(ctx.t("stale_button")))
        return
    ctx.reply(with_menu(ctx, ctx.t("opinion.consent.yes_done" if consent else "opinion.consent.no_done")))


@router.postback("opinion.consent")
def on_consent(ctx: Context) -> None:
    assert ctx.postback is not None
    try:
        first, last, answer = ctx.postback.int("f"), ctx.postback.int("l"), ctx.postback.int("y")
    except InvalidPostback:
        ctx.reply(text(ctx.t("stale_button")))
        return
    if ctx.user is None or answer not in (0, 1) or last < first:
        ctx.reply(text(ctx.t("stale_button")))
        return
    _consented(ctx, first, last, answer == 1)


@router.message(in_state(OpinionState.CONSENT), lambda ctx: ctx.text.casefold() in YES_WORDS | NO_WORDS)
def on_consent_typed(ctx: Context) -> None:
    state = ctx.state()
    assert state is not None
    _consented(ctx, int(state.data["first"]), int(state.data["last"]), ctx.text.casefold() in YES_WORDS)


# -- the rating of the ward's answer: one tap, then a comment if they like


def _rated(ctx: Context, outcome: str, opinion: Opinion | None) -> None:
    if outcome == "stale" or opinion is None:
        ctx.reply(text(ctx.t("opinion.rate.stale")))
    elif outcome == "already":
        rating = ctx.t(f"opinion.rate.{opinion.rating}") if opinion.rating else ""
        ctx.reply(with_menu(ctx, ctx.t("opinion.rate.already", rating=rating)))
    else:
        ctx.set_state(OpinionState.COMMENT, {"opinion_id": opinion.id}, ttl=COMMENT_TTL)
        ctx.reply(text(ctx.t("opinion.rate.comment"),
                       [quick_reply(postback_action(ctx.t("opinion.rate.skip"), "opinion.comment_skip",
                                                    display_text=ctx.t("opinion.rate.skip"), o=opinion.id))]))


@router.postback("opinion.rate")
def on_rate(ctx: Context) -> None:
    """十分 / まあ十分 / 不十分 tapped under an answer: a double tap, an older answer's button or someone else's
    gets a plain answer and changes nothing."""
    assert ctx.postback is not None
    try:
        opinion_id, version = ctx.postback.int("o"), ctx.postback.int("n")
    except InvalidPostback:
        ctx.reply(text(ctx.t("opinion.rate.stale")))
        return
    if ctx.user is None:
        ctx.reply(text(ctx.t("opinion.rate.stale")))
        return
    _rated(ctx, *service.rate(ctx.work, user=ctx.user, opinion_id=opinion_id,
                              rating=ctx.postback.params.get("r", ""), answer=version))


RATING_WORDS = {label.casefold(): key for key in opinion_messages.RATING_KEYS
                for label in labels(f"opinion.rate.{key}")}
BUTTON_WORDS = {w.casefold() for w in labels(*BUTTON_KEYS)}


def _comment_text(ctx: Context) -> bool:
    """Text typed after the rating that is a comment: not a menu word, not a button's label."""
    return bool(ctx.text) and ctx.text.casefold() not in BUTTON_WORDS | MENU_WORDS


@router.message(in_state(OpinionState.COMMENT), _comment_text)
def on_comment(ctx: Context) -> None:
    assert ctx.user is not None
    state = ctx.state()
    assert state is not None
    ctx.clear_state()
    service.comment(ctx.work, user=ctx.user, opinion_id=int(state.data["opinion_id"]), body=ctx.text)
    ctx.reply(with_menu(ctx, ctx.t("opinion.rate.comment_thanks")))


@router.postback("opinion.comment_skip")
def on_comment_skip(ctx: Context) -> None:
    state = ctx.state()
    if state is not None and state.state == OpinionState.COMMENT:
        ctx.clear_state()
    ctx.reply(with_menu(ctx, ctx.t("opinion.rate.thanks")))


@router.message(text_is(*labels("opinion.rate.skip"), "スキップします"))
def on_comment_skip_typed(ctx: Context) -> None:
    state = ctx.state()
    if state is not None and state.state == OpinionState.COMMENT:
        ctx.clear_state()
        ctx.reply(with_menu(ctx, ctx.t("opinion.rate.thanks")))
    else:
        ctx.reply(with_menu(ctx, ctx.t("opinion.rate.nothing")))


@router.message(lambda ctx: ctx.text.casefold() in RATING_WORDS)
def on_rating_typed(ctx: Context) -> None:
    """A rating's label typed: it rates the latest answer not rated yet (else: nothing to rate, or rated)."""
    if ctx.user is None:
        ctx.reply(with_menu(ctx, ctx.t("opinion.rate.nothing")))
        return
    opinion = service.awaiting_rating(ctx.session, ctx.user)
    if opinion is None:
        state = ctx.state()
        rated = ctx.session.get(Opinion, state.data.get("opinion_id")) if state is not None and \
            state.state == OpinionState.COMMENT else None
        if rated is not None:
            _rated(ctx, "already", rated)
        else:
            ctx.reply(with_menu(ctx, ctx.t("opinion.rate.nothing")))
        return
    _rated(ctx, *service.rate(ctx.work, user=ctx.user, opinion_id=opinion.id,
                              rating=RATING_WORDS[ctx.text.casefold()], answer=service.answer_version(opinion)))


# -- 「わたしの意見」: what they sent, its status and the answer


@router.message(text_is(*labels("opinion.mine.menu"), "わたしのいけん", "私の意見", "自分の意見", "じぶんのいけん",
                        "送った意見", "おくったいけん"))
def on_mine(ctx: Context) -> None:
    if ctx.user is None:
        ctx.reply(with_menu(ctx, ctx.t("opinion.mine.none")))
        return
    sent, total = service.of_user(ctx.session, ctx.user)
    ctx.reply(with_menu(ctx, opinion_messages.mine(sent, total, ctx.lang)))


# -- last: the flow's button words typed when no opinion is being written


@router.message(text_is(*labels("opinion.no_name", "opinion.btn.send", "opinion.btn.send_as")))
def on_late_button_word(ctx: Context) -> None:
    """名前なしで送る or 送る typed when no opinion is being written (after it expired): a new one begins."""
    on_start(ctx)

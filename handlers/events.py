"""Residents asking about events in their own words; the buttons on event cards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import clock
from bot.messages import message_action, postback_action, quick_reply, text, uri_action, with_quick_replies
from bot.postback import InvalidPostback
from bot.texts import labels, t
from db.models import Event
from events import dates, messages, search, service
from events.kept import kept
from events.schema import CANCELLED, Visibility
from handlers.common import with_menu
from handlers.router import Context, Router, text_is, typed

router = Router("events")


def _about_events(ctx: Context) -> bool:
    if not ctx.text or (ctx.user is not None and _unsubscribe_typed(ctx) is not None):  # 解除: わんぱく (below)
        return False
    found = service.find(ctx.session, member=ctx.member(), text=ctx.text)
    ctx.memo["events"] = found
    if found is None and ctx.user is not None:  # ペット大丈夫？ after looking at an event with that in its Q&A
        shown = service.recently_shown(ctx.session, user=ctx.user, member=ctx.member())
        ctx.memo["faq"] = service.faq_of(shown, ctx.text)
        return ctx.memo["faq"] is not None
    return found is not None


@router.message(_about_events)
def on_question(ctx: Context) -> None:
    found = ctx.memo["events"]
    if found is None:
        _answer_faq(ctx, *ctx.memo["faq"])
        return
    query = found.query
    base = ctx.settings.public_base_url
    if query.bad_date:
        ctx.reply(text(ctx.t("event.bad_date", date=query.bad_date)))
        return
    if found.topics and (found.events or not (query.dates or query.categories or query.wants_events)):
        _answer_topics(ctx, found)
        return
    if found.named and len(found.events) == 1 and (faq := service.faq_of(found.events, ctx.text)) is not None:
        _answer_faq(ctx, *faq)  # わんぱくまつり ペット
        return
    if not found.events:
        suggestions = messages.suggestions(service.upcoming(ctx.session, member=ctx.member()), ctx.lang)
        today = clock.today_jst()
        if query.unknown_date:  # a date-like phrase not understood: say so, with examples to tap, never everything
            examples = [ctx.t("event.date_example.1"), ctx.t("event.date_example.2")]
            ctx.reply(text(ctx.t("event.date_unknown", phrase=query.unknown_date, example1=examples[0],
                                 example2=examples[1]),
                           [quick_reply(message_action(e, e)) for e in examples] + suggestions))
        elif query.dates and query.dates.passed(today):
            words = dates.describe(query.dates, ctx.lang, today, preposition=False)
            ctx.reply(text(ctx.t("event.date_passed", words=words), suggestions))
        elif query.dates:
            ctx.reply(text(ctx.t("event.none_in_range", words=dates.describe(query.dates, ctx.lang, today)),
                           suggestions))
        else:
            ctx.reply(text(ctx.t("event.none", words=""), suggestions))
        return
    replies = [kept(ctx.session, ("carousel", tuple(e.id for e in found.events), base, ctx.lang),
                    lambda: messages.carousel(found.events, base, ctx.lang))]
    if not (found.named and len(found.events) == 1):  # say what the cards are: how the question was read
        replies.insert(0, text(_lead(ctx, found)))
    if found.more:
        replies.append(text(ctx.t("event.more", n=found.more)))
    ctx.reply(*replies)
    if ctx.user is not None:
        service.remember_inquiry(ctx.session, user=ctx.user, events=found.events)


def _lead(ctx: Context, found: service.Found) -> str:
    """これからのイベントは 5件です。 / 再来週（12月14日(月)〜12月20日(日)）のイベントは 2件です。"""
    query, n = found.query, len(found.events) + found.more
    if query.free:
        return ctx.t("event.free_heading", n=n)
    if query.dates:
        return ctx.t("event.found_in_range", n=n, words=dates.describe(query.dates, ctx.lang, clock.today_jst()))
    if names := [ctx.t(f"category.{c}") for c in sorted(query.categories) if f"category.{c}" in messages.CATEGORY_KEYS]:
        return ctx.t("event.found_in_category", n=n, category=ctx.t("event.dates.list_sep").join(names))
    if found.named and query.rest:
        return ctx.t("event.found_named", n=n, words=query.rest)
    return ctx.t("event.found", n=n)


def _answer_topics(ctx: Context, found: service.Found) -> None:
    """駐車場・雨天時・料金… for the events named; else for the event the resident just looked at; else for the
    coming events that answer it. The answer names each event, and offers the event's other answers."""
    events = found.events
    if not events and ctx.user is not None:
        events = service.recently_shown(ctx.session, user=ctx.user, member=ctx.member())
    if not events:
        events = service.having(ctx.session, member=ctx.member(), topics=found.topics)
    if not events and found.topics == [search.STATUS]:  # やってる？ on a day with nothing on
        upcoming = service.having(ctx.session, member=ctx.member(), topics=[], limit=8)
        ctx.reply(text(ctx.t("topic.status.none"), messages.suggestions(upcoming, ctx.lang)))
        return
    if not events:
        labels_ = "・".join(ctx.t(f"topic.{topic}") for topic in found.topics)
        ctx.reply(text(ctx.t("topic.nothing", topic=labels_) + "\n" + ctx.t("topic.ask_office"),
                       [quick_reply(message_action(ctx.t("qr.contact"))),
                        quick_reply(message_action(ctx.t("qr.events")))]))
        return
    events = events[:service.TOPIC_EVENTS]
    unanswered = any(messages.answers_topic(e, topic) is None for e in events for topic in found.topics)
    if unanswered and (faq := service.faq_of(events, ctx.text)) is not None:  # お弁当: its own Q&A says more
        _answer_faq(ctx, *faq)
        return
    answer = messages.topic_answer(events, found.topics, ctx.lang)
    items = _more_questions(ctx, events, asked=found.topics)
    if unanswered:
        answer += "\n\n" + ctx.t("topic.ask_office")
        items.insert(0, quick_reply(message_action(ctx.t("qr.contact"))))
    if search.STATUS in found.topics:  # is it on: the cards show it too; the buttons go on the last message,
        cards = messages.carousel(events, ctx.settings.public_base_url, ctx.lang)  # the only one LINE shows them on
        ctx.reply(text(answer), with_quick_replies(cards, items))
    else:
        ctx.reply(text(answer, items))
    if ctx.user is not None:  # a next question on its own (では、雨の日は？) is about these
        service.remember_inquiry(ctx.session, user=ctx.user, events=events)


def _more_questions(ctx: Context, events: list[Event], *, asked: list[str]) -> list[dict[str, Any]]:
    """Buttons for the other questions the event answers (one event), and its details."""
    if len(events) != 1:
        return [quick_reply(postback_action(messages.name(e, ctx.lang), "event.detail", e=e.id))
                for e in events]
    event = events[0]
    others = [topic for topic in messages.topics_of(event) if topic not in asked]
    return [quick_reply(message_action(ctx.t(f"topic.{topic}"),
                                       f"{messages.name(event, ctx.lang)} {ctx.t(f'topic.{topic}')}"))
            for topic in others] + [quick_reply(postback_action(ctx.t("event.btn.detail"), "event.detail",
                                                                 e=event.id))]


def _answer_faq(ctx: Context, event: Event, pair: dict[str, Any]) -> None:
    ctx.reply(text(messages.faq_answer(event, pair, ctx.lang), _more_questions(ctx, [event], asked=[])))
    if ctx.user is not None:
        service.remember_inquiry(ctx.session, user=ctx.user, events=[event])


def _event(ctx: Context) -> Event | None:
    """The event a button names, if this user may see it."""
    assert ctx.postback is not None
    try:
        event_id = ctx.postback.int("e")
    except InvalidPostback:
        event_id = -1
    event = ctx.session.scalars(select(Event).where(
        Event.id == event_id, service.visible_to(ctx.member()))).one_or_none()
    if event is None:
        ctx.reply(text(ctx.t("event.gone")))
    return event


@router.postback("event.detail")
def on_detail(ctx: Context) -> None:
    if (event := _event(ctx)) is not None:
        _detail(ctx, event)


def _next_steps(ctx: Context, event: Event, *, after: str) -> list[dict[str, Any]]:
    """What one can do next with the event just answered about (never a dead end): its map, its details, a
    reminder (or stopping it), and back to the events. after: the button key just answered."""
    items = []
    if after != "event.btn.map" and event.latitude is not None and event.longitude is not None:
        items.append(quick_reply(postback_action(ctx.t("event.btn.map"), "event.map", e=event.id)))
    if after != "event.btn.detail":
        items.append(quick_reply(postback_action(ctx.t("event.btn.detail"), "event.detail", e=event.id)))
    if ctx.user is not None and event.visibility == Visibility.PUBLIC and event.status not in CANCELLED:
        if service.is_subscribed(ctx.session, user=ctx.user, event=event):
            items.append(quick_reply(postback_action(ctx.t("event.btn.unremind"), "event.unsubscribe", e=event.id)))
        else:
            items.append(quick_reply(postback_action(ctx.t("event.btn.remind"), "event.remind", e=event.id)))
    return [*items, quick_reply(message_action(ctx.t("qr.events")))]


def _detail(ctx: Context, event: Event) -> None:
    ctx.reply(with_quick_replies(messages.detail(event, ctx.settings.public_base_url, ctx.lang),
                                 _next_steps(ctx, event, after="event.btn.detail")))
    if ctx.user is not None:  # what 「地図」 typed next refers to
        service.remember_inquiry(ctx.session, user=ctx.user, events=[event])


@router.postback("event.map")
def on_map(ctx: Context) -> None:
    if (event := _event(ctx)) is not None:
        _map(ctx, event)


def _map(ctx: Context, event: Event) -> None:
    if event.latitude is None or event.longitude is None:  # say so, then where it is in words
        ctx.reply(text(ctx.t("event.no_map", title=messages.title(event, ctx.lang))))
        _detail(ctx, event)
    else:
        ctx.reply(with_quick_replies(messages.location(event), _next_steps(ctx, event, after="event.btn.map")))


def _calendar(ctx: Context, event: Event) -> None:
    label = ctx.t("event.btn.calendar")
    ctx.reply(text(ctx.t("event.calendar_link", title=messages.title(event, ctx.lang)), [
        quick_reply(uri_action(label, messages.ics_url(event, ctx.settings.public_base_url)))]))


@router.postback("event.remind")
def on_remind(ctx: Context) -> None:
    if (event := _event(ctx)) is not None:
        _remind(ctx, event)


def _remind(ctx: Context, event: Event) -> None:
    if ctx.user is None:
        return
    title = messages.title(event, ctx.lang)
    said = ctx.t("event.remind_ok" if service.subscribe(ctx.session, user=ctx.user, event=event)
                 else "event.remind_already", title=title)
    reminders = quick_reply(postback_action(ctx.t("settings.list"), "settings.list"))
    ctx.reply(text(said, [*_next_steps(ctx, event, after="event.btn.remind"), reminders]))


def _unremind(ctx: Context, event: Event) -> None:
    """リマインドをやめる (tapped, typed for the event looked at last, or 解除: … from the list): said with the
    event's name, and リマインドする to take it back."""
    assert ctx.user is not None
    removed = service.unsubscribe(ctx.session, user=ctx.user, event_id=event.id)
    ctx.reply(text(ctx.t("event.unreminded" if removed else "event.remind_none", title=messages.title(event, ctx.lang)),
                   _next_steps(ctx, event, after="event.btn.unremind")))


# -- a card's button label typed: 「詳しく」, 「地図」... refer to the events the user was shown last

CARD_BUTTONS = {"event.btn.detail": ("event.detail", _detail), "event.btn.map": ("event.map", _map),
                "event.btn.calendar": ("event.calendar", _calendar), "event.btn.remind": ("event.remind", _remind),
                "event.btn.unremind": ("event.unsubscribe", _unremind)}
CARD_WORDS = {**{label.casefold(): key for key in CARD_BUTTONS for label in labels(key)},
              **{w: "event.btn.detail" for w in typed("詳細", "くわしく", "もっと詳しく", "details", "detail")},
              **{w: "event.btn.map" for w in typed("ちず", "マップ", "場所", "ばしょ", "map")}}


@router.message(lambda ctx: ctx.text.casefold() in CARD_WORDS)
def on_card_word(ctx: Context) -> None:
    key = CARD_WORDS[ctx.text.casefold()]
    action, do = CARD_BUTTONS[key]
    shown = service.last_shown(ctx.session, user=ctx.user, member=ctx.member()) if ctx.user is not None else []
    if len(shown) == 1:
        do(ctx, shown[0])
        return
    if shown:  # several cards were shown: which one?
        if action == "event.calendar":
            items = [quick_reply(uri_action(e.title, messages.ics_url(e, ctx.settings.public_base_url)))
                     for e in shown]
        else:
            items = [quick_reply(postback_action(messages.title(e, ctx.lang), action,
                                                 display_text=f"{ctx.t(key)}: {e.title}", e=e.id)) for e in shown]
        ctx.reply(text(ctx.t("event.which"), items))
        return
    ctx.reply(text(ctx.t("event.which"), messages.suggestions(service.upcoming(ctx.session, member=ctx.member()),
                                                             ctx.lang)))


# -- 通知設定: categories on and off, the list of reminders


def _settings_menu(ctx: Context, note: str | None = None) -> None:
    assert ctx.user is not None
    on = service.categories_of(ctx.session, ctx.user)
    items = [quick_reply(postback_action(("✓" if c in on else "") + ctx.t(f"category.{c}"), "settings.toggle",
                                         display_text=ctx.t("settings.btn.off" if c in on else "settings.btn.on",
                                                            category=ctx.t(f"category.{c}")), k=i))
             for i, c in enumerate(service.OPT_IN_CATEGORIES)]
    items.append(quick_reply(postback_action(ctx.t("settings.list"), "settings.list")))
    ctx.reply(*([text(note)] if note else []), text(ctx.t("settings.title"), items))


@router.message(text_is("通知設定", "つうちせってい", "通知", "settings", "notifications"))
def on_settings(ctx: Context) -> None:
    _settings_menu(ctx)


@router.postback("settings.toggle")
def on_toggle_category(ctx: Context) -> None:
    assert ctx.postback is not None and ctx.user is not None
    try:
        category = service.OPT_IN_CATEGORIES[ctx.postback.int("k")]
    except (InvalidPostback, IndexError):
        ctx.reply(text(ctx.t("stale_button")))
        return
    on = service.toggle_category(ctx.session, user=ctx.user, category=category)
    ctx.session.flush()
    _settings_menu(ctx, ctx.t("settings.on" if on else "settings.off", category=ctx.t(f"category.{category}")))


@router.message(text_is(*labels("settings.list"), "リマインド", "りまいんど一覧", "reminders"))
@router.postback("settings.list")
def on_list(ctx: Context) -> None:
    """The events the user asked to be reminded of, each with a button to stop it (tapped, or the label typed)."""
    assert ctx.user is not None
    events = service.subscriptions(ctx.session, ctx.user)[:12]
    if not events:
        ctx.reply(with_menu(ctx, ctx.t("settings.none")))
        return
    lines = [ctx.t("settings.subscribed"), ""] + [f"・{messages.title(e, ctx.lang)} {messages.when(e, ctx.lang)}"
                                                  for e in events]
    items = [quick_reply(postback_action(ctx.t("settings.unsubscribe", title=messages.title(e, ctx.lang)),
                                         "event.unsubscribe", e=e.id)) for e in events]
    ctx.reply(text("\n".join(lines), items))


@router.message(lambda ctx: ctx.user is not None and _unsubscribe_typed(ctx) is not None)
def on_unsubscribe_typed(ctx: Context) -> None:
    """「解除: わんぱくまつり」 typed, as the button says."""
    assert ctx.user is not None
    event = _unsubscribe_typed(ctx)
    assert event is not None
    _unremind(ctx, event)


def _unsubscribe_typed(ctx: Context) -> Event | None:
    if "unsubscribe" not in ctx.memo:
        ctx.memo["unsubscribe"] = None
        for lang in ("ja", "en"):
            prefix = t("settings.unsubscribe", lang, title="")
            if ctx.text.casefold().startswith(prefix.casefold().strip()):
                name = ctx.text[len(prefix.strip()):].strip()
                assert ctx.user is not None
                ctx.memo["unsubscribe"] = next((e for e in service.subscriptions(ctx.session, ctx.user)
                                                if name and any(name.casefold() in title.casefold()
                                                                for title in (e.title, e.title_en or ""))), None)
    return ctx.memo["unsubscribe"]


@router.postback("event.unsubscribe")
def on_unsubscribe(ctx: Context) -> None:
    """A reminder stopped from the list or from the event's answers: said with the event's name, and a way back."""
    assert ctx.postback is not None and ctx.user is not None
    event = _event(ctx)
    if event is not None:
        _unremind(ctx, event)

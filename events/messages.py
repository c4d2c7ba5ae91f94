"""Event cards and notices as LINE messages (flex carousel, location), and the iCalendar export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from icalendar import Calendar
from icalendar import Event as IcsEvent

from bot import clock
from bot.messages import Message, message_action, postback_action, quick_reply, text, uri_action
from bot.texts import CATALOGUES, t
from db.models import Attendance, Event
from events.schema import CANCELLED, STATUS_TOPIC, Status, Topic, Visibility

STATE_COLOURS = {Status.SCHEDULED: "#2e7d32", Status.CHANGED: "#e65100"}  # else red: not taking place

CATEGORY_KEYS = {key for key in CATALOGUES["ja"] if key.startswith("category.")}


def when(event: Event, lang: str = "ja") -> str:
    """10月7日(水) 10:00〜16:00 (Wed 7 Oct, 10:00–16:00), or a span of days for an all-day or multi-day event."""
    start, end = event.starts_at.astimezone(clock.JST), event.ends_at.astimezone(clock.JST)
    dash = "–" if lang == "en" else "〜"
    if event.all_day or start.date() != end.date():
        first = clock.format_jst(event.starts_at, with_time=False, lang=lang)
        last_day = end - dt.timedelta(seconds=1) if event.all_day else end
        if last_day.date() == start.date():
            return first
        return f"{first}{dash}{clock.format_jst(last_day, with_time=False, lang=lang)}"
    return f"{clock.format_jst(event.starts_at, lang=lang)}{dash}{end:%H:%M}"


def categories(event: Event, lang: str = "ja") -> str:
    """The event's categories residents can follow in 通知設定, in the reader's language (まつり・こども)."""
    names = [t(f"category.{tag}", lang) for tag in event.tags or [] if f"category.{tag}" in CATEGORY_KEYS]
    return (" · " if lang == "en" else "・").join(dict.fromkeys(names))


def title(event: Event, lang: str = "ja") -> str:
    name = (event.title_en or event.title) if lang == "en" else event.title
    if event.status in (*CANCELLED, Status.CHANGED):
        return t(f"event.status.{event.status}", lang) + " " + name
    return name


def name(event: Event, lang: str = "ja") -> str:
    """The event's name alone (no status mark), in the reader's language."""
    return (event.title_en or event.title) if lang == "en" else event.title


def day_state(event: Event, lang: str = "ja") -> str | None:
    """What staff said on the day (開催 / 中止 / 延期 / 内容変更 and their message), with when they said it; None
    before they have said anything."""
    if event.status_at is None:
        return None
    words = t(f"event.day.{event.status}", lang)
    if event.status_message:
        words += "\n" + event.status_message
    updated = clock.format_jst(event.status_at, lang=lang)
    return words + t("event.day.updated", lang, time=updated)


def answers_topic(event: Event, topic: str, lang: str = "ja") -> str | None:
    """The event's answer to a usual question (Topic), or None when it has none. Whether it is on (STATUS_TOPIC) always
    has one; the fee falls back on 無料/有料."""
    if topic == STATUS_TOPIC:
        return day_state(event, lang) or t("event.day." + event.status if event.status != Status.SCHEDULED
                                            else "event.day.planned", lang)
    answer = (event.answers or {}).get(topic)
    if topic == Topic.FEE and event.free is not None:
        said = t("topic.fee.free" if event.free else "topic.fee.paid", lang)
        return f"{said}{answer}" if answer and answer != said else said
    if topic == Topic.RAIN and answer and event.status_at is not None:
        return f"{answer}\n{day_state(event, lang)}"  # and what was decided today
    return answer or None


def topic_answer(events: list[Event], topics: list[str], lang: str = "ja") -> str:
    """The answers to the questions asked, event by event: 「■港区民まつり（10月18日(日) 10:00〜16:00）
    【駐車場】ありません。…」; a topic an event has no answer for says so."""
    blocks = []
    for event in events:
        lines = [f"■{title(event, lang)}（{when(event, lang)}）"]
        for topic in topics:
            answer = answers_topic(event, topic, lang)
            label = t(f"topic.{topic}", lang)
            lines.append(f"【{label}】{answer}" if answer else t("topic.none", lang, topic=label))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)[:4900]


def faq_answer(event: Event, pair: dict[str, Any], lang: str = "ja") -> str:
    return f"■{title(event, lang)}（{when(event, lang)}）\n" + t("topic.faq", lang, q=pair["q"], a=pair["a"])


def topics_of(event: Event) -> list[str]:
    """The usual questions this event has answers to, in the order of Topic."""
    return [topic for topic in Topic if answers_topic(event, topic)]


def day_notice_lines(event: Event, status: str, lang: str = "ja") -> tuple[str, str]:
    """The push on the day with this status, without staff's message: (【中止】港区民まつり（10月18日(日)）,
    中止します。). The console shows it before the tap."""
    state = t(f"event.day.state.{status}", lang)
    return (t("event.day.notice", lang, state=state, title=name(event, lang), when=when(event, lang)),
            t(f"event.day.{status}", lang))


def day_notice(event: Event, lang: str = "ja") -> Message:
    """The push on the day: 【中止】港区民まつり（10月18日(日)）\n雨のため中止します。…"""
    head, body = day_notice_lines(event, event.status, lang)
    body += f"\n{event.status_message}" if event.status_message else ""
    return text(f"{head}\n{body}"[:4900], [quick_reply(postback_action(t("event.btn.detail", lang), "event.detail",
                                                                       e=event.id))])


def ics_url(event: Event, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/events/{event.id}.ics"


def card(event: Event, base_url: str, lang: str = "ja") -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "text", "text": title(event, lang), "weight": "bold", "size": "lg", "wrap": True,
         **({"color": "#d0342c"} if event.status in CANCELLED else {})},
        {"type": "text", "text": when(event, lang), "size": "md", "wrap": True},
    ]
    if event.venue:
        body.append({"type": "text", "text": event.venue, "size": "md", "wrap": True, "color": "#555555"})
    if (state := day_state(event, lang)) is not None:  # what staff said on the day, in the colour of the news
        body.append({"type": "text", "text": state, "size": "sm", "wrap": True, "weight": "bold",
                     "color": STATE_COLOURS.get(Status(event.status), "#d0342c")})
    if shown := categories(event, lang):
        body.append({"type": "text", "text": shown, "size": "sm", "wrap": True, "color": "#1e88e5"})
    if event.free:
        body.append({"type": "text", "text": t("topic.fee.free_mark", lang), "size": "sm", "color": "#2e7d32"})
    buttons = [postback_action(t("event.btn.detail", lang), "event.detail", e=event.id)]
    if event.latitude is not None and event.longitude is not None:
        buttons.append(postback_action(t("event.btn.map", lang), "event.map", e=event.id))
    if event.status not in CANCELLED:
        buttons.append(uri_action(t("event.btn.calendar", lang), ics_url(event, base_url)))
        if event.visibility == Visibility.PUBLIC:
            buttons.append(postback_action(t("event.btn.remind", lang), "event.remind", e=event.id))
    bubble: dict[str, Any] = {
        "type": "bubble", "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {"type": "box", "layout": "vertical", "spacing": "xs", "contents": [
            {"type": "button", "style": "link", "height": "sm", "action": action} for action in buttons]},
    }
    if event.image_url and event.image_url.startswith("https://"):
        bubble["hero"] = {"type": "image", "url": event.image_url, "size": "full", "aspectRatio": "20:13",
                          "aspectMode": "cover"}
    return bubble


def carousel(events: list[Event], base_url: str, lang: str = "ja") -> Message:
    alt = t("event.alt", lang, titles=t("event.dates.list_sep", lang).join(title(e, lang) for e in events[:3]))[:400]
    if len(events) == 1:
        return {"type": "flex", "altText": alt, "contents": card(events[0], base_url, lang)}
    return {"type": "flex", "altText": alt,
            "contents": {"type": "carousel", "contents": [card(e, base_url, lang) for e in events[:12]]}}


def suggestions(upcoming: list[Event], lang: str = "ja") -> list[dict[str, Any]]:
    names = [(e.title_en or e.title) if lang == "en" else e.title for e in upcoming[:8]]
    items = [quick_reply(message_action(name, name)) for name in names]
    items.append(quick_reply(message_action(t("qr.events", lang), t("qr.events", lang))))
    return items


def detail(event: Event, base_url: str, lang: str = "ja") -> Message:
    description = (event.description_en or event.description) if lang == "en" else event.description
    lines = [title(event, lang), when(event, lang)]
    if (state := day_state(event, lang)) is not None:
        lines.append(state)
    if event.venue:
        lines.append(event.venue + (f"（{event.address}）" if event.address else ""))
    if description:
        lines += ["", description]
    answered = [(t(f"topic.{topic}", lang), answers_topic(event, topic, lang)) for topic in Topic]
    faq = [t("topic.faq", lang, q=pair["q"], a=pair["a"]) for pair in event.faq or []]
    if any(answer for _, answer in answered) or faq:
        lines += ["", t("event.answers", lang)]
        lines += [f"【{label}】{answer}" for label, answer in answered if answer] + faq
    if event.documents:
        lines += ["", t("event.documents", lang)] + [f"・{d['title']}\n{d['url']}" for d in event.documents]
    if event.url:
        lines += ["", event.url]
    return text("\n".join(lines)[:4900])


def location(event: Event) -> Message:
    return {"type": "location", "title": event.venue or event.title, "address": event.address or event.venue or "",
            "latitude": event.latitude, "longitude": event.longitude}


def reminder(event: Event, *, base_url: str, with_documents: bool, meeting: bool = False, lang: str = "ja"
             ) -> Message:
    """A reminder; for a meeting, a card whose 出席 / 欠席 / 資料を確認しました buttons stay on the message (so the
    answer can be changed until the meeting starts), with the documents a week ahead."""
    lines = [t("event.reminder", lang, title=title(event, lang), when=when(event, lang))]
    if meeting:  # council business is in Japanese
        return {"type": "flex", "altText": lines[0][:400],
                "contents": meeting_card(event, None, heading=t("event.reminder.heading"),
                                         with_documents=with_documents)}
    if event.venue:
        lines.append(event.venue)
    if with_documents and event.documents:
        lines += ["", t("event.documents", lang)] + [f"・{d['title']}\n{d['url']}" for d in event.documents]
    return text("\n".join(lines), [quick_reply(postback_action(t("event.btn.detail", lang), "event.detail",
                                                                e=event.id))])


def meeting_card(event: Event, answer: Attendance | None, *, heading: str | None = None,
                 with_documents: bool = True) -> dict[str, Any]:
    """A meeting as a card for its members: when and where, the documents, the member's answer so far, and buttons
    for 出席 / 欠席 / 資料を確認しました that stay on the message (council business is in Japanese)."""
    body: list[dict[str, Any]] = []
    if heading:
        body.append({"type": "text", "text": heading, "size": "sm", "color": "#1e88e5", "weight": "bold"})
    body += [{"type": "text", "text": title(event), "weight": "bold", "size": "lg", "wrap": True},
             {"type": "text", "text": when(event), "size": "md", "wrap": True}]
    if event.venue:
        body.append({"type": "text", "text": event.venue, "size": "md", "wrap": True, "color": "#555555"})
    documents = event.documents if with_documents else []
    if documents:
        listing = "\n".join(f"・{d['title']}" for d in documents)
        body.append({"type": "text", "text": f"{t('event.documents')}\n{listing}", "size": "sm", "wrap": True})
    response = answer.response if answer else None
    status = t(f"meeting.your.{response or 'none'}")
    if answer is not None and answer.documents_confirmed_at is not None:
        status += "\n" + t("meeting.your.docs")
    if answer is not None or heading is None:
        body.append({"type": "text", "text": status, "size": "sm", "wrap": True, "color": "#555555"})
    body.append({"type": "text", "text": t("meeting.change" if response else "meeting.ask"), "size": "sm",
                 "wrap": True})
    buttons = []
    for action in ("attend", "absent"):
        label = t(f"meeting.btn.{action}")
        buttons.append({"type": "button", "style": "primary" if action == "attend" else "secondary", "height": "sm",
                        "action": postback_action(("✓" if response == action else "") + label, f"meeting.{action}",
                                                  display_text=f"{label}: {event.title}", e=event.id)})
    footer: list[dict[str, Any]] = [{"type": "box", "layout": "horizontal", "spacing": "sm", "contents": buttons}]
    if documents:
        for d in documents[:3]:
            if str(d.get("url", "")).startswith(("https://", "http://")):
                footer.append({"type": "button", "style": "link", "height": "sm",
                               "action": uri_action(str(d["title"]), str(d["url"]))})
        label = t("meeting.btn.docs")
        read = answer is not None and answer.documents_confirmed_at is not None
        footer.append({"type": "button", "style": "link", "height": "sm",
                       "action": postback_action(("✓" if read else "") + label, "meeting.docs",
                                                 display_text=f"{label}: {event.title}", e=event.id)})
    footer.append({"type": "button", "style": "link", "height": "sm",
                   "action": postback_action(t("event.btn.detail"), "event.detail", e=event.id)})
    return {"type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
            "footer": {"type": "box", "layout": "vertical", "spacing": "xs", "contents": footer}}


def meetings(events: list[Event], answers: dict[int, Attendance]) -> Message:
    """The member's coming meetings as cards, each with their answer so far."""
    cards = [meeting_card(e, answers.get(e.id)) for e in events[:12]]
    alt = t("event.alt", titles="、".join(e.title for e in events[:3]))[:400]
    contents = cards[0] if len(cards) == 1 else {"type": "carousel", "contents": cards}
    return {"type": "flex", "altText": alt, "contents": contents}


def change_notice(event: Event, *, base_url: str, what: str, lang: str = "ja") -> Message:
    name = (event.title_en or event.title) if lang == "en" else event.title
    if what == "cancelled":
        body = t(f"event.notice.{event.status}", lang, title=name, when=when(event, lang))
    else:
        body = t("event.notice.moved", lang, title=name, when=when(event, lang))
    return text(body + (f"\n{event.venue}" if event.venue and what != "cancelled" else ""))


def ics(events: list[Event], base_url: str) -> bytes:
    """An iCalendar file of the events (a cancelled one carries STATUS:CANCELLED)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Minato ward council bot//JA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", t("event.calendar_name"))
    for event in events:
        item = IcsEvent()
        item.add("uid", f"event-{event.id}@{base_url.split('//')[-1].split('/')[0]}")
        item.add("summary", event.title)
        if event.all_day:
            item.add("dtstart", event.starts_at.astimezone(clock.JST).date())
            item.add("dtend", event.ends_at.astimezone(clock.JST).date())
        else:
            item.add("dtstart", event.starts_at)
            item.add("dtend", event.ends_at)
        item.add("dtstamp", event.updated_at)
        if event.venue:
            item.add("location", event.venue + (f" {event.address}" if event.address else ""))
        if event.description:
            item.add("description", event.description)
        if event.url:
            item.add("url", event.url)
        item.add("status", "TENTATIVE" if event.status == Status.POSTPONED
                 else "CANCELLED" if event.status in CANCELLED else "CONFIRMED")
        calendar.add_component(item)
    return calendar.to_ical()

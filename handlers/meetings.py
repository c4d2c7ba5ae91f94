"""Council meetings for their members: 会議・資料 (the coming meetings as cards), and 出席 / 欠席 / 資料を確認しました
from the cards' buttons, which stay on the message, or typed. An answer can be changed until the meeting starts."""

from __future__ import annotations

import re

from bot import clock
from bot.messages import postback_action, quick_reply, text
from bot.postback import InvalidPostback
from bot.texts import labels
from db.models import Event
from events import messages
from events import service as events
from handlers.common import with_menu
from handlers.router import Context, Router, text_is, typed

router = Router("meetings")

# What members type for the buttons' words: 出席 / 出席します / 欠席です / 休みます / 資料を確認しました ...
_POLITE = "(?:" + "|".join(typed("します", "する", "です", "でお願いします", "でおねがいします", "で", "予定です",
                                  "予定", "いたします")) + ")?[。.!！]*"
_WORDS = {
    "attend": (*labels("meeting.btn.attend"), *typed("しゅっせき", "出ます", "でます")),
    "absent": (*labels("meeting.btn.absent"), *typed("けっせき", "休み", "やすみ", "休みます", "やすみます",
                                                     "出られません", "でられません", "行けません", "いけません")),
    "docs": (*labels("meeting.btn.docs"), *typed("資料を確認", "資料確認", "資料を確認した", "資料をかくにんしました",
                                                 "資料を読みました", "資料をよみました", "資料を見ました",
                                                 "資料をみました")),
}
TYPED = {action: re.compile(f"^(?:{'|'.join(map(re.escape, words))}){_POLITE}$") for action, words in _WORDS.items()}
DONE = {"attend": "meeting.ok.attend", "absent": "meeting.ok.absent", "docs": "meeting.ok.docs"}


def _typed_answer(ctx: Context) -> bool:
    for action, pattern in TYPED.items():
        if pattern.match(ctx.text):
            ctx.memo["meeting.action"] = action
            return True
    return False


def _is_member(ctx: Context) -> bool:
    return ctx.member() is not None


@router.message(text_is(*labels("meeting.menu", "event.documents"), "会議", "会議資料", "資料", "かいぎ", "しりょう",
                        "会議の資料", "会議の日程", "会議 資料", "会議の予定", "会議予定", "次の会議", "つぎの会議",
                        "meetings", "meeting"), _is_member)
def on_meetings(ctx: Context) -> None:
    """A member's coming meetings, each card with the documents and the attendance buttons."""
    member = ctx.member()
    assert member is not None
    coming = events.upcoming_meetings(ctx.session, member)
    if not coming:
        ctx.reply(text(ctx.t("meeting.none")))
        return
    ctx.reply(text(ctx.t("meeting.list")),
              messages.meetings(coming, events.attendance_of(ctx.session, member, coming)))


@router.message(_typed_answer)
def on_typed(ctx: Context) -> None:
    """出席 typed: the next meeting when there is one; which one, when there are several."""
    action = ctx.memo["meeting.action"]
    member = ctx.member()
    if member is None:
        ctx.reply(text(ctx.t("meeting.members_only")))
        return
    coming = events.upcoming_meetings(ctx.session, member, limit=4)
    if action == "docs":
        coming = [e for e in coming if e.documents]
    if not coming:
        ctx.reply(text(ctx.t("meeting.none")))
        return
    if len(coming) == 1:
        _answer(ctx, coming[0], action)
        return
    label = ctx.t(f"meeting.btn.{action}")
    items = [quick_reply(postback_action(f"{clock.format_jst(e.starts_at, with_time=False)} {e.title}",
                                         f"meeting.{action}", display_text=f"{label}: {e.title}", e=e.id))
             for e in coming]
    ctx.reply(text(ctx.t("meeting.which"), items))


def _answer(ctx: Context, event: Event, action: str) -> None:
    member = ctx.member()
    if member is None or not events.in_meeting_audience(event, member):
        ctx.reply(text(ctx.t("meeting.not_yours")))
        return
    response = None if action == "docs" else action
    if event.starts_at <= clock.now() and response is not None:
        ctx.reply(text(ctx.t("meeting.started", title=event.title)))
        return
    events.answer_attendance(ctx.session, event=event, member=member, response=response,
                             documents_read=action == "docs")
    ctx.reply(with_menu(ctx, ctx.t(DONE[action], title=event.title)))


def _tapped(action: str) -> None:
    @router.postback(f"meeting.{action}")
    def on_tap(ctx: Context) -> None:
        assert ctx.postback is not None
        try:
            event = ctx.session.get(Event, ctx.postback.int("e"))
        except InvalidPostback:
            event = None
        if event is None:
            ctx.reply(text(ctx.t("event.gone")))
            return
        _answer(ctx, event, action)


for _action in TYPED:
    _tapped(_action)

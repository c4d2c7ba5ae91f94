"""Opinions: store what residents and members send; staff mark them and reply (pushed to the sender)."""

from __future__ import annotations

import csv
import io
import re

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.inputs import Text
from bot.messages import text
from bot.texts import t
from bot.work import Work
from db.models import Event, Opinion, User

CATEGORIES = ("区政情報", "まちの魅力", "その他")
PRE_MEETING = "事前意見"  # the category of a member's opinion on a meeting
STATUSES = {"unread": "未読", "in_progress": "対応中", "answered": "回答済"}
TEXT_LIMIT = 2000
REPLY_LIMIT = 4000


# What an opinion typed straight into the chat tends to say: a wish, a request, a complaint (「ベンチをふやして
# ください」, 「〜してほしい」, 「〜が危ないです」). Questions about events go to events first; this is asked only of
# text nothing else understood, and only to offer sending it, never to send it unasked.
_OPINION_MARKERS = re.compile(
    r"(ください|下さい|ほしい|欲しい|してほしい|もらいたい|いただきたい|頂きたい|べき|要望|希望|困って|こまって|不便|"
    r"ふべん|危ない|あぶない|危険|改善|なおして|直して|ふやして|増やして|へらして|減らして|やめて|止めて|"
    r"思います|おもいます|思う|おもう|と良い|といい|たらいい|たら良い|残念|うるさい|汚い|きたない|暗い|くらい道)")


def looks_like_opinion(body: str) -> bool:
    """A typed text that reads like an opinion for the ward office (offered to send, not sent unasked)."""
    body = body.strip()
    if len(body) < 6 or body.endswith(("?", "？")):
        return False
    return bool(_OPINION_MARKERS.search(body)) or len(body) >= 40


def parts(body: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A text too long for one opinion, cut into parts of at most limit characters, at a line or a sentence end
    where one is near."""
    out: list[str] = []
    while len(body) > limit:
        cut = max(body.rfind("\n", 0, limit), body.rfind("。", 0, limit) + 1)
        if cut < limit // 2:
            cut = limit
        out.append(body[:cut].strip())
        body = body[cut:].strip()
    if body:
        out.append(body)
    return out


class ReplyInput(BaseModel):
    """The ward's answer to an opinion (console, API)."""

    text: Text = Field(min_length=1, max_length=REPLY_LIMIT, title="返信")


def record(work: Work, *, user: User, category: str, body: str, name: str | None = None,
           event: Event | None = None) -> Opinion:
    """An opinion a resident or member sent in LINE."""
    opinion = Opinion(user_id=user.id, kind="pre_meeting" if event else "opinion", category=category,
                      event_id=event.id if event else None, text=body[:TEXT_LIMIT], name=(name or None))
    work.session.add(opinion)
    work.session.flush()
    work.audit("opinion.receive", f"opinion:{opinion.id}", category)
    return opinion


def set_status(work: Work, opinion: Opinion, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown opinion status {status!r}")
    opinion.status = status
    work.audit("opinion.status", f"opinion:{opinion.id}", STATUSES[status])


def reply(work: Work, opinion: Opinion, data: ReplyInput) -> bool:
    """Push staff's answer to the sender (if they can still be reached) and mark the opinion answered."""
    user = work.session.get(User, opinion.user_id) if opinion.user_id else None
    sent = False
    not_before = work.not_before()  # written at night, it reaches the person in the morning
    if user is not None and user.is_reachable:
        message = text(t("opinion.reply", user.language, original=opinion.text[:100], reply=data.text))
        sent = bool(work.outbox.push(work.session, user=user, messages=[message], source=f"opinion:{opinion.id}",
                                     not_before=not_before))
    opinion.reply_text, opinion.replied_at, opinion.status = data.text, clock.now(), "answered"
    how = ("LINEで送信" if not_before <= clock.now() else f"LINEで{clock.format_jst(not_before)}に送信") if sent \
        else "送信先なし（ブロック等）"
    work.audit("opinion.reply", f"opinion:{opinion.id}", f"{how}: {data.text[:200]}")
    return sent


def export_csv(session: Session) -> bytes:
    """Every opinion as CSV, UTF-8 with a BOM so Excel reads Japanese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["番号", "種類", "分野", "会議", "お名前", "ご意見", "状態", "受付日時", "回答", "回答日時"])
    rows = session.execute(select(Opinion, Event.title).outerjoin(Event, Event.id == Opinion.event_id)
                           .order_by(Opinion.id))
    for opinion, event_title in rows:
        writer.writerow([opinion.id, "事前意見" if opinion.kind == "pre_meeting" else "ご意見", opinion.category,
                         event_title or "", opinion.name or "", opinion.text, STATUSES[opinion.status],
                         clock.format_jst(opinion.created_at), opinion.reply_text or "",
                         clock.format_jst(opinion.replied_at) if opinion.replied_at else ""])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")

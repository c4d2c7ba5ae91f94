"""What the sender of an opinion reads in LINE: the ward's answer quoting their message, the one-tap rating under
it, and 「わたしの意見」. Nothing here reads the internal memo, the 担当課 or who in the office answered."""

from __future__ import annotations

from bot import clock
from bot.messages import Message, postback_action, text
from bot.texts import t
from db.models import Opinion

RATING_KEYS = ("enough", "mostly", "not_enough")  # the order of the buttons (opinions.service.RATINGS)
MINE_TEXT = 60  # characters of each opinion shown in 「わたしの意見」
MINE_ANSWER = 300


def answer(opinion: Opinion, lang: str) -> list[Message]:
    """The answer, quoting the sender's own message where LINE gave us its quoteToken (they do not expire and work
    with push), and under it 「この回答で 十分でしたか？」 with buttons that stay on the message."""
    reply = opinion.reply_text or ""
    if opinion.quote_token:
        message = text(t("opinion.reply_quoted", lang, reply=reply))
        message["quoteToken"] = opinion.quote_token
    else:
        message = text(t("opinion.reply", lang, original=opinion.text[:100], reply=reply))
    return [message, rating_question(opinion, lang)]


def rating_question(opinion: Opinion, lang: str) -> Message:
    version = int(opinion.replied_at.timestamp() * 100) if opinion.replied_at else 0  # service.answer_version
    ask = t("opinion.rate.ask", lang)
    actions = [postback_action(t(f"opinion.rate.{key}", lang), "opinion.rate",
                               display_text=t(f"opinion.rate.{key}", lang), o=opinion.id, r=key, n=version)
               for key in RATING_KEYS]
    return {"type": "template", "altText": ask, "template": {"type": "buttons", "text": ask, "actions": actions}}


def mine(opinions: list[Opinion], total: int, lang: str) -> str:
    """The sender's own opinions, latest first: when, what (cut), its status and the ward's answer."""
    if not opinions:
        return t("opinion.mine.none", lang)
    lines = [t("opinion.mine.head", lang, shown=len(opinions), total=total)]
    for opinion in opinions:
        body = opinion.text if len(opinion.text) <= MINE_TEXT else opinion.text[:MINE_TEXT] + "…"
        lines.append("")
        lines.append(t("opinion.mine.item", lang, day=clock.format_jst(opinion.created_at, False, lang), text=body,
                       status=t(f"opinion.status.{opinion.status}", lang)))
        if opinion.status == "difficult" and opinion.reason:
            lines.append(t("opinion.mine.reason", lang, reason=opinion.reason[:MINE_ANSWER]))
        if opinion.reply_text:
            reply = opinion.reply_text
            lines.append(t("opinion.mine.answer", lang,
                           answer=reply if len(reply) <= MINE_ANSWER else reply[:MINE_ANSWER] + "…"))
    return "\n".join(lines)

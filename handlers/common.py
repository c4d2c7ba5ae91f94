"""Pieces of answers several handlers share."""

from __future__ import annotations

from bot.messages import Message, message_action, quick_reply, text
from handlers.router import Context


def main_menu(ctx: Context, *, without: str | None = None) -> list[dict[str, object]]:
    """The quick replies offered after a greeting, an answer that ends a conversation, or when the bot did not
    understand: a council member's lead to meetings, the survey and 「わたしの意見」; a resident's, to notification
    settings instead (surveys are for members). without: the key of the answer just given (help does not offer
    ヘルプ)."""
    keys = (("meeting.menu", "qr.survey", "qr.events", "qr.opinion", "opinion.mine.menu", "qr.help")
            if ctx.member() is not None
            else ("qr.events", "qr.opinion", "qr.settings", "qr.help"))
    return [quick_reply(message_action(ctx.t(key))) for key in keys if key != without]


def with_menu(ctx: Context, body: str) -> Message:
    return text(body, main_menu(ctx))

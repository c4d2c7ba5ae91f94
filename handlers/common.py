"""Pieces of answers several handlers share."""

from __future__ import annotations

from bot.messages import Message, message_action, quick_reply, text
from handlers.router import Context


def main_menu(ctx: Context) -> list[dict[str, object]]:
    """The quick replies offered after a greeting or when the bot did not understand: a council member's include
    the survey; a resident's, their notification settings instead (surveys are for members)."""
    keys = (("qr.events", "qr.survey", "qr.opinion", "qr.help") if ctx.member() is not None
            else ("qr.events", "qr.opinion", "qr.settings", "qr.help"))
    return [quick_reply(message_action(ctx.t(key))) for key in keys]


def with_menu(ctx: Context, body: str) -> Message:
    return text(body, main_menu(ctx))

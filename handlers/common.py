"""Pieces of answers several handlers share."""

from __future__ import annotations

from bot.messages import Message, message_action, quick_reply, text
from handlers.router import Context


def main_menu(ctx: Context) -> list[dict[str, object]]:
    """The quick replies offered after a greeting or when the bot did not understand."""
    return [quick_reply(message_action(ctx.t(key))) for key in ("qr.events", "qr.survey", "qr.opinion", "qr.help")]


def with_menu(ctx: Context, body: str) -> Message:
    return text(body, main_menu(ctx))

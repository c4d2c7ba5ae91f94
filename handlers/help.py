"""Help, and the answer of last resort: the bot never stays silent."""

from __future__ import annotations

from handlers.common import with_menu
from handlers.router import Context, Router, message_type, text_is

router = Router("help")


@router.message(text_is("ヘルプ", "へるぷ", "help", "?", "？", "使い方", "つかいかた", "メニュー"))
def on_help(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("help")))


@router.message(message_type("sticker"))
def on_sticker(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("sticker_thanks")))


# The fallbacks below belong to the last router: they catch whatever no other handler took.
fallback = Router("fallback")


@fallback.message(message_type("text"))
def on_unknown_text(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("not_understood")))


@fallback.message()
def on_other_message(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("unsupported_message")))


@fallback.on("postback")
def on_unknown_postback(ctx: Context) -> None:
    """A button we no longer know (an old message, or data that is not ours)."""
    ctx.reply(with_menu(ctx, ctx.t("stale_button")))

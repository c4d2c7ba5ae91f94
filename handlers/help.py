"""Help, and the answer of last resort: the bot never stays silent."""

from __future__ import annotations

from bot.messages import message_action, quick_reply, text
from handlers.common import main_menu, with_menu
from handlers.router import Context, Router, message_type, text_is

router = Router("help")


@router.message(text_is("ヘルプ", "へるぷ", "help", "?", "？", "使い方", "つかいかた", "メニュー"))
def on_help(ctx: Context) -> None:
    """Help follows who asks: a linked member hears of surveys, meetings and 事前意見, not of link codes."""
    menu = [*main_menu(ctx), quick_reply(message_action(ctx.t("language.switch")))]
    ctx.reply(text(ctx.t("help.member" if ctx.member() is not None else "help"), menu))


@router.message(text_is("English", "英語", "えいご", "in english"))
def on_english(ctx: Context) -> None:
    _set_language(ctx, "en")


@router.message(text_is("日本語", "にほんご", "Japanese", "nihongo"))
def on_japanese(ctx: Context) -> None:
    _set_language(ctx, "ja")


def _set_language(ctx: Context, lang: str) -> None:
    """The user's choice wins over the LINE profile's language from now on."""
    if ctx.user is None:
        return
    ctx.user.language = lang
    ctx.reply(with_menu(ctx, ctx.t("language.set")))


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

"""Help, and the answer of last resort: the bot never stays silent."""

from __future__ import annotations

import re

from bot.messages import message_action, quick_reply, text, uri_action
from bot.texts import labels
from handlers import opinions
from handlers.common import main_menu, with_menu
from handlers.router import Context, Router, message_type, text_is, typed

router = Router("help")


@router.message(text_is(*labels("qr.help"), "へるぷ", "help", "?", "？", "使い方", "つかいかた", "メニュー"))
def on_help(ctx: Context) -> None:
    """Help follows who asks: a linked member hears of surveys, meetings and 事前意見, not of link codes."""
    menu = [*main_menu(ctx, without="qr.help"), quick_reply(message_action(ctx.t("language.switch")))]
    ctx.reply(text(ctx.t("help.member" if ctx.member() is not None else "help"), menu))


@router.message(text_is(*labels("menu.info", "qr.contact"), "区のじょうほう", "区役所", "くやくしょ", "問い合わせ",
                        "お問い合わせ", "問合せ", "連絡先", "電話番号", "contact", "ward office"))
def on_info(ctx: Context) -> None:
    """The rich menu's 区の情報 typed, or a resident asking how to reach the office: the website and, where the
    office has set them, its phone number and hours."""
    settings = ctx.settings
    lines = [ctx.t("info", ward=settings.ward_name, site=settings.ward_site_url)]
    if settings.office_phone:
        lines.append(ctx.t("info.contact", office=settings.office_name, phone=settings.office_phone,
                           hours=settings.office_hours))
    elif settings.office_hours:  # no number set: where to find it, and when someone answers
        lines.append(ctx.t("info.no_phone", hours=settings.office_hours))
    ctx.reply(text("\n".join(lines), [quick_reply(uri_action(ctx.t("menu.info"), settings.ward_site_url)),
                                      *main_menu(ctx)]))


# Small talk: a greeting or thanks gets a short friendly answer and the menu (not 「わかりませんでした」).
_END = typed(r"[\s。、.!！?？~〜ー♪☆★wｗ]*")[0]
GREETINGS = re.compile("^(?:" + "|".join(typed(
    "こんにちは", "こんにちわ", "こんばんは", "こんばんわ", "おはよう", "おはようございます", "はじめまして",
    "よろしく", "よろしくお願いします", "よろしくおねがいします", "もしもし", "やあ", "どうも", "hello", "hi", "hey",
    "good morning", "good afternoon", "good evening")) + ")" + _END + "$", re.IGNORECASE)
THANKS = re.compile("^(?:" + "|".join(typed(
    "ありがとう", "ありがとうございます", "ありがとうございました", "ありがと", "どうもありがとう", "助かりました",
    "たすかりました", "了解", "りょうかい", "わかりました", "OK", "オッケー", "thanks", "thank you",
    "thank you very much", "got it")) + ")" + _END + "$", re.IGNORECASE)


@router.message(lambda ctx: bool(GREETINGS.match(ctx.text)))
def on_greeting(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("smalltalk.hello", ward=ctx.settings.ward_name)))


@router.message(lambda ctx: bool(THANKS.match(ctx.text)))
def on_thanks(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("smalltalk.thanks")))


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
    """Nothing understood the text: if it reads like an opinion, offer to send it; else say so, and offer a way
    out: asking the office (its phone and hours), or sending the question to it as ご意見 in one tap (kept)."""
    if opinions.offer(ctx):
        return
    if ctx.user is None or ctx.in_chat:
        ctx.reply(with_menu(ctx, ctx.t("not_understood")))
        return
    opinions.keep_for_later(ctx)
    ctx.reply(text(ctx.t("not_understood.way_out"), [
        quick_reply(message_action(ctx.t("qr.contact"))), quick_reply(message_action(ctx.t("opinion.btn.send_as"))),
        *main_menu(ctx)]))


@fallback.message()
def on_other_message(ctx: Context) -> None:
    ctx.reply(with_menu(ctx, ctx.t("unsupported_message")))


@fallback.on("postback")
def on_unknown_postback(ctx: Context) -> None:
    """A button we no longer know (an old message, or data that is not ours)."""
    ctx.reply(with_menu(ctx, ctx.t("stale_button")))

"""Groups and rooms: the bot speaks there only when added and when mentioned, and says it works one to one.

Whoever writes in a group is not a user of the bot for that (they never added it as a friend), so nothing about
them is stored and no member-only content is ever sent there. This router comes first and takes every event from
a group or room.
"""

from __future__ import annotations

from bot.inbox import mentions_the_bot
from bot.messages import text
from handlers.router import Context, Router

router = Router("group")


def in_chat(ctx: Context) -> bool:
    return ctx.in_chat


@router.on("join", in_chat)
def on_join(ctx: Context) -> None:
    """The bot was added to a group or room: a short note of what it does there."""
    ctx.reply(text(ctx.t("group.joined", ward=ctx.settings.ward_name)))


@router.message(in_chat)
def on_group_message(ctx: Context) -> None:
    """Addressed (a mention of the bot): the note that it works one to one; otherwise the bot stays quiet."""
    if mentions_the_bot(ctx.event):
        name = (ctx.profile or {}).get("displayName")
        ctx.reply(text(ctx.t("group.mentioned", name=ctx.t("greeting.name", name=name) if name else "")))


def quiet(ctx: Context) -> None:
    """Anything else from a group or room (a button of a forwarded message tapped there, say): nothing happens."""


for _type in ("postback", "follow", "unfollow", "beacon", "accountLink", "things"):
    router.on(_type, in_chat)(quiet)

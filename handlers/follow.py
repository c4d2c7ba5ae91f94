"""Follow and unfollow: who may receive messages."""

from __future__ import annotations

from bot.users import apply_profile
from handlers.common import with_menu
from handlers.router import Context, Router

router = Router("follow")


@router.on("follow")
def on_follow(ctx: Context) -> None:
    """A new friend, or one who unblocked the bot: reachable again, with a greeting."""
    assert ctx.user is not None
    user = ctx.user
    returning = user.unfollowed_at is not None
    user.is_reachable = True
    user.followed_at = ctx.now
    user.unfollowed_at = None
    apply_profile(user, ctx.profile)
    name = ctx.t("greeting.name", name=user.display_name) if user.display_name else ""
    if returning:
        ctx.reply(with_menu(ctx, ctx.t("welcome_back", name=name)))
        return
    ctx.reply(with_menu(ctx, ctx.t("greeting", name=name, ward=ctx.settings.ward_name)))


@router.on("unfollow")
def on_unfollow(ctx: Context) -> None:
    """The user blocked the bot: nothing may be pushed to them until they follow again."""
    assert ctx.user is not None
    ctx.user.is_reachable = False
    ctx.user.unfollowed_at = ctx.now
    ctx.clear_state()

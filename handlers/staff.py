"""A ward office staff member links their own LINE account (their test sends of broadcasts go there) by sending
the one-time code the console's 「自分のLINE」 page shows (S-482913: a shape no member's link code has)."""

from __future__ import annotations

from bot.messages import text
from handlers.router import Context, Router
from staff import service as staff

router = Router("staff")


def _staff_code(ctx: Context) -> bool:
    return not ctx.in_chat and ctx.user is not None and staff.looks_like_staff_code(ctx.text) is not None


@router.message(_staff_code)
def on_staff_code(ctx: Context) -> None:
    assert ctx.user is not None
    digits = staff.looks_like_staff_code(ctx.text)
    assert digits is not None
    result = staff.link_line(ctx.work, user=ctx.user, digits=digits)
    if result.status == "locked":
        ctx.reply(text(ctx.t("link.locked")))
        return
    name = result.account.name if result.account is not None else ""
    ctx.reply(text(ctx.t(f"link.staff.{result.status}", name=name)))

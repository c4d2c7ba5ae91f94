"""A council member links their LINE account by sending the one-time code the ward office gave them."""

from __future__ import annotations

from bot.messages import text
from handlers.router import Context, Router
from members import service as members

router = Router("registration")


def _code(ctx: Context) -> bool:
    return members.looks_like_code(ctx.text) is not None


@router.message(_code)
def on_link_code(ctx: Context) -> None:
    assert ctx.user is not None
    code = members.looks_like_code(ctx.text)
    assert code is not None
    result = members.link(ctx.work, user=ctx.user, code=code)
    if result.status == "linked" and result.member is not None:
        ctx.reply(text(ctx.t("link.ok", name=result.member.name)))
    else:
        ctx.reply(text(ctx.t(f"link.{result.status}")))

"""A council member links their LINE account by sending the one-time code the ward office gave them."""

from __future__ import annotations

from bot.messages import text
from handlers.router import Context, Router
from members import service as members
from surveys import messages as survey_messages
from surveys import service as surveys

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
        # the surveys already open for them are offered at once (they would not hear of them otherwise)
        available = surveys.open_for_member(ctx.session, result.member)[:4]
        if not available:
            ctx.reply(text(ctx.t("link.ok", name=result.member.name)))
            return
        cards = [survey_messages.invitation(s, surveys.template_of(ctx.session, s), resume=r is not None)
                 for s, r in available]
        ctx.reply(text(ctx.t("link.ok.surveys", name=result.member.name, count=len(available))), *cards)
    else:
        ctx.reply(text(ctx.t(f"link.{result.status}")))

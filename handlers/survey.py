"""Answering a council survey in LINE: routes taps and typed text to surveys.answering, and renders its Steps.

Where a member is lives in their SurveyResponse row (surveys.answering) and in a conversation row that routes what
they type; nothing waits in memory, so a restart loses nothing. Every button carries survey, template version and
question, and is checked against that row: a button from an old message, a double tap or a forwarded button gets
a plain answer and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from bot.messages import text
from bot.postback import InvalidPostback
from bot.texts import labels
from db.models import Member, Survey
from handlers.common import with_menu
from handlers.router import Context, Router, in_state, text_is
from surveys import answering, messages
from surveys import service as surveys
from surveys.answering import Answering, Refusal, Step


class SurveyState(StrEnum):
    """The conversation states of this domain."""

    ANSWERING = "survey"  # data: {"survey_id"}: typed text goes to this survey


router = Router("survey")


def _render(ctx: Context, scene: Answering, step: Step) -> None:
    """Show the member what the step says."""
    note = ctx.t(step.note, **step.note_values) if step.note else None
    if step.show == "question":
        assert step.question is not None
        ctx.reply(*messages.question(scene.survey, scene.template, scene.response, step.question, note))
    elif step.show == "ticked":
        assert step.question is not None
        ctx.reply(messages.ticked(scene.survey, scene.template, scene.response, step.question, note))
    elif step.show == "summary":
        ctx.reply(*([text(note)] if note else []), messages.summary(scene.survey, scene.template, scene.response))
    elif step.show == "edit_menu":
        ctx.reply(messages.edit_menu(scene.survey, scene.template, scene.response))
    elif step.show == "thanks":
        ctx.clear_state()
        ctx.reply(with_menu(ctx, ctx.t("survey.thanks")))
    elif step.show == "paused":
        ctx.clear_state()
        ctx.reply(text(ctx.t("survey.paused")))


def _member_or_refuse(ctx: Context) -> Member | None:
    member = ctx.member()
    if member is None:
        ctx.reply(text(ctx.t("survey.not_member")))
    return member


def _open(ctx: Context, member: Member, survey: Survey | None, template_version: int | None = None
          ) -> Answering | None:
    """The member's answering of this survey, or a plain answer why not."""
    loaded = answering.load(ctx.session, member, survey, template_version=template_version)
    if isinstance(loaded, Refusal):
        if loaded.leave and survey is not None:
            _leave(ctx, survey.id)
        ctx.reply(text(ctx.t(loaded.reason, **loaded.values)))
        return None
    ctx.set_state(SurveyState.ANSWERING, {"survey_id": loaded.survey.id})
    return loaded


def _leave(ctx: Context, survey_id: int) -> None:
    state = ctx.state()
    if state is not None and state.state == SurveyState.ANSWERING and state.data.get("survey_id") == survey_id:
        ctx.clear_state()


def _from_postback(ctx: Context) -> Answering | None:
    pb = ctx.postback
    assert pb is not None
    member = _member_or_refuse(ctx)
    if member is None:
        return None
    try:
        survey, version = ctx.session.get(Survey, pb.int("s")), pb.int("t")
    except InvalidPostback:
        survey, version = None, None
    return _open(ctx, member, survey, version)


def _choice_index(ctx: Context) -> int | None:
    assert ctx.postback is not None
    try:
        return ctx.postback.int("c")
    except InvalidPostback:
        return None


# -- starting and resuming


@router.postback("survey.start")
def on_start(ctx: Context) -> None:
    if (scene := _from_postback(ctx)) is not None:
        _render(ctx, scene, scene.ask())


@router.message(text_is(*labels("qr.survey", "survey.btn.resume"), "あんけーと", "アンケートに答える"))
def on_survey_word(ctx: Context) -> None:
    member = _member_or_refuse(ctx)
    if member is None:
        return
    available = surveys.open_for_member(ctx.session, member)
    if not available:
        sent = surveys.sent_while_open(ctx.session, member)  # answered already: say so, not "none open"
        ctx.reply(with_menu(ctx, ctx.t("survey.already_sent", title=sent[0].title) if sent
                            else ctx.t("survey.none_open")))
        return
    if len(available) == 1:
        if (scene := _open(ctx, member, available[0][0])) is not None:
            _render(ctx, scene, scene.ask())
        return
    cards = [messages.invitation(s, surveys.template_of(ctx.session, s), resume=r is not None)
             for s, r in available[:4]]
    ctx.reply(text(ctx.t("survey.choose_survey")), *cards)


# -- buttons of the current question


def _tap(action: str) -> Callable[[Context], None]:
    def handle(ctx: Context) -> None:
        if (scene := _from_postback(ctx)) is not None:
            assert ctx.postback is not None
            _render(ctx, scene, scene.tap(action, ctx.postback.params.get("q"), _choice_index(ctx)))

    return handle


for _action in ("answer", "toggle", "done", "skip", "back"):
    router.postback(f"survey.{_action}")(_tap(_action))


# -- the summary and pausing


@router.postback("survey.pause")
def on_pause(ctx: Context) -> None:
    if (scene := _from_postback(ctx)) is not None:
        _render(ctx, scene, Step("paused"))


@router.postback("survey.edit")
def on_edit(ctx: Context) -> None:
    if (scene := _from_postback(ctx)) is not None:
        _render(ctx, scene, scene.edit_menu())


@router.postback("survey.goto")
def on_goto(ctx: Context) -> None:
    if (scene := _from_postback(ctx)) is not None:
        assert ctx.postback is not None
        _render(ctx, scene, scene.goto(ctx.postback.params.get("q", "")))


@router.postback("survey.submit")
def on_submit(ctx: Context) -> None:
    if (scene := _from_postback(ctx)) is not None:
        _render(ctx, scene, scene.submit())


# -- typing while in a survey


@router.message(in_state(SurveyState.ANSWERING))
def on_typed(ctx: Context) -> None:
    state, member = ctx.state(), ctx.member()
    scene = None
    if state is not None and member is not None:
        scene = _open(ctx, member, ctx.session.get(Survey, state.data.get("survey_id")))
    if scene is None:
        ctx.clear_state()
        return
    _render(ctx, scene, _typed_step(ctx, scene))


@router.message(text_is(*labels("survey.btn.start", "survey.btn.skip", "survey.btn.back", "survey.btn.pause",
                               "survey.btn.submit", "survey.btn.edit", "survey.btn.done")))
def on_control_word(ctx: Context) -> None:
    """A survey button's label typed while no survey is being answered (after a pause, or long after): the member's
    survey, where they left it."""
    on_survey_word(ctx)


def _choice_of_a_sent_survey(ctx: Context) -> bool:
    """「そう思う」 typed by a member who has sent the survey already (a choice of an old message, typed)."""
    member = ctx.member() if len(ctx.text) <= CHOICE_TYPED else None
    if member is None or ctx.state() is not None:  # (in another conversation, 特にない is its answer: 事前意見…)
        return False
    typed = ctx.text.strip()
    ctx.memo["sent"] = next((survey for survey in surveys.sent_while_open(ctx.session, member)
                             if any(typed in q.choices for q in surveys.template_of(ctx.session, survey).questions)),
                            None)
    return ctx.memo["sent"] is not None


CHOICE_TYPED = 40  # longer texts are not a choice typed


@router.message(_choice_of_a_sent_survey)
def on_choice_after_sending(ctx: Context) -> None:
    """Say the answers are in, rather than not understanding them (or offering to send them as ご意見)."""
    ctx.reply(with_menu(ctx, ctx.t("survey.already_sent", title=ctx.memo["sent"].title)))


def _typed_step(ctx: Context, scene: Answering) -> Step:
    """The buttons' labels typed do what the buttons do; anything else is an answer to the current question."""
    typed, question = ctx.text, scene.current
    commands: dict[str, Callable[[], Step]] = {
        ctx.t("survey.btn.pause"): lambda: Step("paused"),
        ctx.t("survey.btn.back"): scene.back,
        ctx.t("survey.btn.submit"): scene.submit,
        ctx.t("survey.btn.edit"): scene.edit_menu,
    }
    if question is not None:
        commands[ctx.t("survey.btn.skip")] = lambda: scene.skip(question)
        if question.kind == "multiple":
            commands[ctx.t("survey.btn.done")] = lambda: scene.finish_multiple(question)
    command = commands.get(typed)
    return command() if command is not None else scene.typed(typed)

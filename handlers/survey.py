"""Answering a council survey in LINE: one generic scene walks any template, one question per message.

Where a member is lives in their SurveyResponse row (current question, answers so far, the summary step) and in
a "survey" conversation row that routes what they type; nothing waits in memory, so a restart loses nothing.
Every button carries survey, template version and question, and is checked against that row: a button from an
old message, a double tap or a forwarded button gets a plain answer and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from bot import clock
from bot.messages import Message, text
from bot.postback import InvalidPostback, Postback
from db.models import AnonymousAnswerSet, Member, Survey, SurveyResponse
from handlers.router import Context, Router, in_state, text_is
from surveys import engine, messages
from surveys import service as surveys
from surveys.definition import TEXT_ANSWER_LIMIT, Question, Template

router = Router("survey")
STATE = "survey"


@dataclass
class Scene:
    """One member's survey, loaded and checked."""

    ctx: Context
    survey: Survey
    template: Template
    member: Member
    response: SurveyResponse

    # -- asking
    def ask(self, note: str | None = None) -> None:
        """Ask the current question, or the next unanswered one, or show the summary."""
        r = self.response
        r.answers = engine.prune(self.template, r.answers)
        question = self.template.question(r.current_question) if r.current_question else None
        if r.reviewing or question is None or not engine.is_shown(question, r.answers):
            question = None if r.reviewing else engine.next_unanswered(self.template, r.answers)
        if question is None:
            r.reviewing, r.current_question = True, None
            self.reply(note, messages.summary(self.survey, self.template, r))
        else:
            r.current_question = question.id
            self.ctx.reply(*messages.question(self.survey, self.template, r, question, note))
        r.updated_at = clock.now()

    def reply(self, note: str | None, message: Message) -> None:
        self.ctx.reply(*([text(note)] if note else []), message)

    def answer(self, question: Question, value: object) -> None:
        r = self.response
        r.answers = {**r.answers, question.id: value}
        r.pending = []
        r.current_question = None  # the next unanswered one, or the summary
        self.ask()

    @property
    def current(self) -> Question | None:
        r = self.response
        return None if r.reviewing or not r.current_question else self.template.question(r.current_question)


def _member_or_refuse(ctx: Context) -> Member | None:
    member = ctx.member()
    if member is None:
        ctx.reply(text(ctx.t("survey.not_member")))
    return member


def _scene(ctx: Context, member: Member, survey: Survey | None) -> Scene | None:
    """Load the member's response to this survey, or answer why they cannot answer it."""
    if survey is None:
        ctx.reply(text(ctx.t("stale_button")))
        return None
    if not surveys.in_audience(survey, member):
        ctx.reply(text(ctx.t("survey.not_in_audience")))
        return None
    now = clock.now()
    if survey.status == "closed" or now >= survey.closes_at:
        _leave(ctx, survey.id)
        ctx.reply(text(ctx.t("survey.closed", title=survey.title)))
        return None
    if survey.status != "open" or now < survey.opens_at:
        ctx.reply(text(ctx.t("survey.not_open_yet", title=survey.title, opens=clock.format_jst(survey.opens_at))))
        return None
    response = ctx.session.scalars(select(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.member_id == member.id)).one_or_none()
    if response is None:
        response = SurveyResponse(survey_id=survey.id, member_id=member.id, answers={}, pending=[])
        ctx.session.add(response)
        ctx.session.flush()
    if response.status == "submitted":
        _leave(ctx, survey.id)
        ctx.reply(text(ctx.t("survey.already_sent", title=survey.title)))
        return None
    return Scene(ctx, survey, surveys.template_of(ctx.session, survey), member, response)


def _leave(ctx: Context, survey_id: int) -> None:
    state = ctx.state()
    if state is not None and state.state == STATE and state.data.get("survey_id") == survey_id:
        ctx.clear_state()


def _from_postback(ctx: Context) -> tuple[Scene, Postback] | None:
    pb = ctx.postback
    assert pb is not None
    member = _member_or_refuse(ctx)
    if member is None:
        return None
    try:
        survey = ctx.session.get(Survey, pb.int("s"))
        if survey is not None and survey.template_version_id != pb.int("t"):
            survey = None  # a button from another version of the survey
    except InvalidPostback:
        survey = None
    scene = _scene(ctx, member, survey)
    if scene is None:
        return None
    ctx.set_state(STATE, {"survey_id": scene.survey.id})
    return scene, pb


def _on_current(ctx: Context) -> tuple[Scene, Question, Postback] | None:
    """The scene, when the button is for the question being asked now; otherwise an answer is given here."""
    loaded = _from_postback(ctx)
    if loaded is None:
        return None
    scene, pb = loaded
    current = scene.current
    if current is None or pb.params.get("q") != current.id:
        if _is_repeat(scene, pb):
            return None  # a double tap of the answer already taken: it was answered, stay quiet
        scene.ask(note=ctx.t("survey.stale"))
        return None
    return scene, current, pb


def _is_repeat(scene: Scene, pb: Postback) -> bool:
    question = scene.template.question(pb.params.get("q", ""))
    if question is None or pb.action != "survey.answer" or question.kind != "single":
        return False
    try:
        choice = question.choices[pb.int("c")]
    except (InvalidPostback, IndexError):
        return False
    return scene.response.answers.get(question.id) == choice


def _choice(question: Question, pb: Postback) -> str | None:
    try:
        index = pb.int("c")
    except InvalidPostback:
        return None
    return question.choices[index] if index < len(question.choices) else None


# -- starting and resuming


@router.postback("survey.start")
def on_start(ctx: Context) -> None:
    loaded = _from_postback(ctx)
    if loaded is not None:
        loaded[0].ask()


@router.message(text_is("アンケート", "あんけーと", "アンケートに答える", "続きから回答"))
def on_survey_word(ctx: Context) -> None:
    member = _member_or_refuse(ctx)
    if member is None:
        return
    available = surveys.open_for_member(ctx.session, member)
    if not available:
        ctx.reply(text(ctx.t("survey.none_open")))
        return
    if len(available) == 1:
        scene = _scene(ctx, member, available[0][0])
        if scene is not None:
            ctx.set_state(STATE, {"survey_id": scene.survey.id})
            scene.ask()
        return
    cards = [messages.invitation(s, surveys.template_of(ctx.session, s), resume=r is not None)
             for s, r in available[:4]]
    ctx.reply(text(ctx.t("survey.choose_survey")), *cards)


# -- answering with buttons


def _chosen(ctx: Context, kind: str) -> tuple[Scene, Question, str] | None:
    """The scene, the current question and the choice a button names, when the button fits the question."""
    found = _on_current(ctx)
    if found is None:
        return None
    scene, question, pb = found
    choice = _choice(question, pb) if question.kind == kind else None
    if choice is None:
        scene.ask(note=ctx.t("survey.stale"))
        return None
    return scene, question, choice


@router.postback("survey.answer")
def on_answer(ctx: Context) -> None:
    if (chosen := _chosen(ctx, "single")) is not None:
        scene, question, choice = chosen
        scene.answer(question, choice)


@router.postback("survey.toggle")
def on_toggle(ctx: Context) -> None:
    if (chosen := _chosen(ctx, "multiple")) is not None:
        _toggle(*chosen)


def _toggle(scene: Scene, question: Question, choice: str) -> None:
    ticked = set(scene.response.pending)
    ticked ^= {choice}
    scene.response.pending = [c for c in question.choices if c in ticked]
    scene.ask()


@router.postback("survey.done")
def on_done(ctx: Context) -> None:
    found = _on_current(ctx)
    if found is not None:
        _finish_multiple(*found[:2])


def _finish_multiple(scene: Scene, question: Question) -> None:
    if question.kind != "multiple":
        scene.ask()
        return
    if not scene.response.pending and question.required:
        scene.ask(note=scene.ctx.t("survey.multi_need_one"))
        return
    scene.answer(question, list(scene.response.pending) or None)


@router.postback("survey.skip")
def on_skip(ctx: Context) -> None:
    found = _on_current(ctx)
    if found is not None:
        _skip(*found[:2])


def _skip(scene: Scene, question: Question) -> None:
    if question.required:
        scene.ask(note=scene.ctx.t("survey.choose_button"))
    else:
        scene.answer(question, None)


@router.postback("survey.back")
def on_back(ctx: Context) -> None:
    found = _on_current(ctx)
    if found is not None:
        _back(found[0])


def _back(scene: Scene) -> None:
    r = scene.response
    previous = engine.previous(scene.template, r.answers, r.current_question)
    if previous is not None:
        r.current_question, r.pending = previous.id, []
        if previous.kind == "multiple" and isinstance(r.answers.get(previous.id), list):
            r.pending = list(r.answers[previous.id])
    scene.ask()


@router.postback("survey.pause")
def on_pause(ctx: Context) -> None:
    loaded = _from_postback(ctx)
    if loaded is not None:
        ctx.clear_state()
        ctx.reply(text(ctx.t("survey.paused")))


@router.postback("survey.edit")
def on_edit(ctx: Context) -> None:
    loaded = _from_postback(ctx)
    if loaded is None:
        return
    scene = loaded[0]
    if not scene.response.reviewing:
        scene.ask()
        return
    ctx.reply(messages.edit_menu(scene.survey, scene.template, scene.response))


@router.postback("survey.goto")
def on_goto(ctx: Context) -> None:
    loaded = _from_postback(ctx)
    if loaded is None:
        return
    scene, pb = loaded
    target = scene.template.question(pb.params.get("q", ""))
    if target is None or not engine.is_shown(target, scene.response.answers):
        scene.ask(note=ctx.t("survey.stale"))
        return
    r = scene.response
    r.reviewing, r.current_question = False, target.id
    value = r.answers.get(target.id)
    r.pending = list(value) if target.kind == "multiple" and isinstance(value, list) else []
    scene.ask()


@router.postback("survey.submit")
def on_submit(ctx: Context) -> None:
    loaded = _from_postback(ctx)
    if loaded is not None:
        _submit(loaded[0])


def _submit(scene: Scene) -> None:
    r = scene.response
    if not r.reviewing or engine.next_unanswered(scene.template, engine.prune(scene.template, r.answers)):
        scene.ask()
        return
    now = clock.now()
    if scene.survey.anonymous:
        # The answers leave the member's row: only *that* they answered stays with their name.
        scene.ctx.session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=scene.survey.id,
                                                 answers=engine.prune(scene.template, r.answers)))
        r.answers = {}
    else:
        r.answers = engine.prune(scene.template, r.answers)
    r.status, r.submitted_at, r.updated_at = "submitted", now, now
    r.current_question, r.reviewing, r.pending = None, False, []
    scene.ctx.clear_state()
    scene.ctx.reply(text(scene.ctx.t("survey.thanks")))


# -- typing while in a survey


def _typed_scene(ctx: Context) -> Scene | None:
    state = ctx.state()
    member = ctx.member()
    if state is None or member is None:
        ctx.clear_state()
        return None
    scene = _scene(ctx, member, ctx.session.get(Survey, state.data.get("survey_id")))
    if scene is None:
        ctx.clear_state()
    return scene


@router.message(in_state(STATE))
def on_typed(ctx: Context) -> None:
    scene = _typed_scene(ctx)
    if scene is None:
        return
    typed = ctx.text
    question = scene.current
    commands = {
        ctx.t("survey.btn.pause"): lambda: (ctx.clear_state(), ctx.reply(text(ctx.t("survey.paused")))),
        ctx.t("survey.btn.back"): lambda: _back(scene),
        ctx.t("survey.btn.submit"): lambda: _submit(scene),
        ctx.t("survey.btn.edit"): lambda: (ctx.reply(messages.edit_menu(scene.survey, scene.template,
                                                                        scene.response))
                                           if scene.response.reviewing else scene.ask()),
    }
    if question is not None:
        commands[ctx.t("survey.btn.skip")] = lambda: _skip(scene, question)
        if question.kind == "multiple":
            commands[ctx.t("survey.btn.done")] = lambda: _finish_multiple(scene, question)
    if typed in commands:
        commands[typed]()
        return
    if question is None or not typed:  # on the summary, or a sticker / photo mid-survey
        scene.ask(note=ctx.t("survey.in_progress"))
        return
    if question.kind == "text":
        if len(typed) > TEXT_ANSWER_LIMIT:
            scene.ask(note=ctx.t("survey.too_long", limit=TEXT_ANSWER_LIMIT))
        else:
            scene.answer(question, typed)
        return
    choice = engine.choice_for_text(question, typed)
    if choice is None:
        scene.ask(note=ctx.t("survey.in_progress"))
    elif question.kind == "single":
        scene.answer(question, choice)
    else:
        _toggle(scene, question, choice)

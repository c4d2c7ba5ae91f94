"""Answering a survey: the rules one member's answers follow, whatever the client (LINE's handlers/survey.py today).

Where a member is lives in their SurveyResponse row (current question, answers so far, ticked choices, the summary
step); each operation changes that row and returns the Step to show next. Nothing here knows LINE or wording: a
Step names the question or screen, and a note key (bot.texts' ``survey.*``) says why it is shown again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from db.models import AnonymousAnswerSet, Member, Survey, SurveyResponse
from surveys import engine
from surveys import service as surveys
from surveys.definition import TEXT_ANSWER_LIMIT, Question, Template

Show = Literal["question", "ticked", "summary", "edit_menu", "thanks", "paused", "nothing"]


@dataclass(frozen=True)
class Step:
    """What the member is shown next: a question, what is ticked so far on a multiple question (not the whole
    question again), the summary (with 送信 / 修正), the menu of questions to edit, thanks after sending, a paused
    note, or nothing (a repeated tap that changes nothing)."""

    show: Show
    question: Question | None = None
    note: str | None = None  # a text key: survey.stale | survey.in_progress | survey.multi_need_one ...
    note_values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Why the member cannot answer this survey now; leave: the conversation about it is over."""

    reason: str  # stale_button | survey.not_in_audience | survey.closed | survey.not_open_yet | survey.already_sent
    values: dict[str, Any] = field(default_factory=dict)
    leave: bool = False


NOTHING = Step("nothing")


def load(session: Session, member: Member, survey: Survey | None, *, template_version: int | None = None
         ) -> Answering | Refusal:
    """The member's answering of this survey (their response row is made on the first visit), or why not.
    template_version, from a button, must be the survey's: a button from another version is stale."""
    if survey is None or (template_version is not None and survey.template_version_id != template_version):
        return Refusal("stale_button")
    if not surveys.in_audience(survey, member):
        return Refusal("survey.not_in_audience")
    now = clock.now()
    if survey.status == "closed" or now >= survey.closes_at:
        return Refusal("survey.closed", {"title": survey.title}, leave=True)
    if survey.status != "open" or now < survey.opens_at:
        return Refusal("survey.not_open_yet", {"title": survey.title, "opens": clock.format_jst(survey.opens_at)})
    response = session.scalars(select(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.member_id == member.id)).one_or_none()
    if response is None:
        response = SurveyResponse(survey_id=survey.id, member_id=member.id, answers={}, pending=[])
        session.add(response)
        session.flush()
    if response.status == "submitted":
        return Refusal("survey.already_sent", {"title": survey.title}, leave=True)
    return Answering(session, survey, surveys.template_of(session, survey), response)


@dataclass
class Answering:
    """One member's survey, loaded and checked."""

    session: Session
    survey: Survey
    template: Template
    response: SurveyResponse

    @property
    def current(self) -> Question | None:
        """The question being asked now (None on the summary)."""
        r = self.response
        return None if r.reviewing or not r.current_question else self.template.question(r.current_question)

    # -- moving through the questions
    def ask(self, note: str | None = None, **values: Any) -> Step:
        """The current question, or the next unanswered one, or the summary."""
        r = self.response
        r.answers = engine.prune(self.template, r.answers)
        question = self.template.question(r.current_question) if r.current_question else None
        if r.reviewing or question is None or not engine.is_shown(question, r.answers):
            question = None if r.reviewing else engine.next_unanswered(self.template, r.answers)
        r.updated_at = clock.now()
        if question is None:
            r.reviewing, r.current_question = True, None
            return Step("summary", note=note, note_values=values)
        r.current_question = question.id
        return Step("question", question, note, values)

    def answer(self, question: Question, value: object) -> Step:
        r = self.response
        r.answers = {**r.answers, question.id: value}
        r.pending = []
        r.current_question = None  # the next unanswered one, or the summary
        return self.ask()

    def back(self) -> Step:
        """The previous question again, saying what was answered there (kept unless changed)."""
        r = self.response
        previous = engine.previous(self.template, r.answers, r.current_question)
        if previous is None:
            return self.ask()
        r.current_question, r.pending = previous.id, []
        if previous.kind == "multiple" and isinstance(r.answers.get(previous.id), list):
            r.pending = list(r.answers[previous.id])
        if previous.id in r.answers:
            return self.ask("survey.previous_answer", answer=engine.display(previous, r.answers[previous.id], ""))
        return self.ask()

    def goto(self, question_id: str) -> Step:
        """From the summary's edit menu: ask this question again, with its answer so far."""
        target = self.template.question(question_id)
        if target is None or not engine.is_shown(target, self.response.answers):
            return self.ask("survey.stale")
        r = self.response
        r.reviewing, r.current_question = False, target.id
        value = r.answers.get(target.id)
        r.pending = list(value) if target.kind == "multiple" and isinstance(value, list) else []
        return self.ask()

    def edit_menu(self) -> Step:
        return Step("edit_menu") if self.response.reviewing else self.ask()

    # -- buttons: each names a question; one that is not the current question is stale
    def tap(self, action: str, question_id: str | None, choice: int | None) -> Step:
        """A button of the current question: answer (single), toggle (multiple), done, skip or back."""
        question = self.current
        if question is None or question_id != question.id:
            return NOTHING if self._is_repeat(action, question_id, choice) else self.ask("survey.stale")
        if action == "answer" or action == "toggle":
            kind = "single" if action == "answer" else "multiple"
            label = self._choice(question, choice) if question.kind == kind else None
            if label is None:
                return self.ask("survey.stale")
            return self.answer(question, label) if kind == "single" else self.toggle(question, label)
        if action == "done":
            return self.finish_multiple(question)
        if action == "skip":
            return self.skip(question)
        return self.back()

    def toggle(self, question: Question, choice: str) -> Step:
        """Tick or untick a choice; an exclusive one (「特にない」) unticks the others, and another unticks it."""
        ticked = set(self.response.pending) ^ {choice}
        alone = choice in ticked and choice in question.exclusive and len(ticked) > 1
        dropped = [c for c in question.exclusive if c in ticked and c != choice] if choice in ticked else []
        if choice in ticked:
            ticked = {choice} if choice in question.exclusive else ticked - set(question.exclusive)
        self.response.pending = [c for c in question.choices if c in ticked]
        self.response.updated_at = clock.now()
        if alone:  # 特にない after others: the others go
            return Step("ticked", question, "survey.multi_alone", {"choice": choice})
        if dropped:  # another after 特にない: 特にない goes; say so rather than untick it silently
            return Step("ticked", question, "survey.multi_dropped", {"choice": choice, "dropped": "、".join(dropped)})
        if choice in ticked and choice in question.exclusive:  # 特にない alone: nothing else to choose
            return Step("ticked", question, "survey.multi_only", {"choice": choice})
        return Step("ticked", question)

    def finish_multiple(self, question: Question) -> Step:
        if question.kind != "multiple":
            return self.ask()
        if not self.response.pending and question.required:
            return self.ask("survey.multi_need_one")
        return self.answer(question, list(self.response.pending) or None)

    def skip(self, question: Question) -> Step:
        return self.ask("survey.choose_button") if question.required else self.answer(question, None)

    def typed(self, text: str) -> Step:
        """A typed answer to the current question: a text answer, or a choice named exactly."""
        question = self.current
        if question is None:  # on the summary: its own two buttons
            return self.ask("survey.on_summary")
        if not text:  # a sticker / photo mid-survey
            return self.ask("survey.in_progress")
        if question.kind == "text":
            if len(text) > TEXT_ANSWER_LIMIT:
                return self.ask("survey.too_long", limit=TEXT_ANSWER_LIMIT)
            return self.answer(question, text)
        choice = engine.choice_for_text(question, text)
        if choice is None:
            return self.ask("survey.in_progress")
        return self.answer(question, choice) if question.kind == "single" else self.toggle(question, choice)

    # -- sending
    def submit(self, now: dt.datetime | None = None) -> Step:
        """Send the answers, from the summary only, when every question shown is answered. An anonymous survey's
        answers leave the member's row: only *that* they answered stays with their name (no time with them)."""
        r = self.response
        if not r.reviewing or engine.next_unanswered(self.template, engine.prune(self.template, r.answers)):
            return self.ask()
        # The row locked and its status read again, before anything of this event is written: paper answers
        # entered by staff meanwhile (surveys.service.record_paper locks the same row) count, these do not count
        # twice, and nothing of this member's draft is written beside them.
        with self.session.no_autoflush:
            status = self.session.scalar(select(SurveyResponse.status).where(SurveyResponse.id == r.id)
                                         .with_for_update())
        if status == "submitted":
            self.session.expire(r)
            return Step("thanks")
        now = now or clock.now()
        answers = engine.prune(self.template, r.answers)
        if self.survey.anonymous:
            self.session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=self.survey.id, answers=answers))
            r.answers = {}
        else:
            r.answers = answers
        r.status, r.submitted_at, r.updated_at = "submitted", now, now
        r.current_question, r.reviewing, r.pending = None, False, []
        return Step("thanks")

    # -- helpers
    @staticmethod
    def _choice(question: Question, index: int | None) -> str | None:
        return question.choices[index] if index is not None and 0 <= index < len(question.choices) else None

    def _is_repeat(self, action: str, question_id: str | None, choice: int | None) -> bool:
        """A double tap of the single answer already taken."""
        question = self.template.question(question_id or "")
        if question is None or action != "answer" or question.kind != "single":
            return False
        label = self._choice(question, choice)
        return label is not None and self.response.answers.get(question.id) == label

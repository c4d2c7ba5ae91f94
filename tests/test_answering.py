"""surveys.answering on its own, with no LINE in sight: the rules a member's answers follow, and anonymising at
submit (a surveys rule, not a handler's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot import clock
from db.models import AnonymousAnswerSet, Member, Survey, SurveyResponse
from members import service as members
from surveys import answering
from surveys import service as surveys
from tests.helpers import work


def _survey(sessions: Any, *, anonymous: bool) -> tuple[int, int]:
    with work(sessions, "港 花子") as unit:
        members.create_subcommittee(unit, "まちづくり部会")
        member = members.create(unit, members.MemberInput(name="港 はるこ", subcommittee="まちづくり部会"))
        survey = surveys.create(unit, surveys.SurveyInput(
            template_id="council-questionnaire", anonymous=anonymous,
            closes_at=clock.now() + dt.timedelta(days=7)))
        surveys.open_survey(unit, survey)
        return survey.id, member.id


def _walk(sessions: Any, survey_id: int, member_id: int) -> answering.Step:
    """Answer every question the way a member would: first choices, a skip, one tick, then send."""
    with work(sessions) as unit:
        scene = answering.load(unit.session, unit.session.get(Member, member_id), unit.session.get(Survey, survey_id))
        assert isinstance(scene, answering.Answering)
        step = scene.ask()
        while step.show == "question":
            question = step.question
            assert question is not None
            if question.kind == "single":
                step = scene.tap("answer", question.id, 0)
            elif question.kind == "multiple":
                assert scene.tap("toggle", question.id, 1).question == question  # ticked, still asked
                step = scene.tap("done", question.id, None)
            elif question.required:
                step = scene.typed("もっと話し合いたいです")
            else:
                step = scene.skip(question)
        assert step.show == "summary"
        return scene.submit()


def test_an_anonymous_surveys_answers_leave_the_members_row_when_sent(sessions: Any) -> None:
    survey_id, member_id = _survey(sessions, anonymous=True)
    assert _walk(sessions, survey_id, member_id).show == "thanks"
    with sessions() as session:
        response = session.scalars(select(SurveyResponse)).one()
        assert (response.status, response.answers) == ("submitted", {})
        answers = session.scalars(select(AnonymousAnswerSet)).one().answers
        assert answers["exchange"] == "そう思う" and answers["good_changes"] == ["資料・説明のわかりやすさ"]
        assert not hasattr(AnonymousAnswerSet, "member_id") and not hasattr(AnonymousAnswerSet, "submitted_at")


def test_a_named_surveys_answers_stay_with_the_member(sessions: Any) -> None:
    survey_id, member_id = _survey(sessions, anonymous=False)
    _walk(sessions, survey_id, member_id)
    with sessions() as session:
        assert session.scalars(select(SurveyResponse)).one().answers["exchange"] == "そう思う"
        assert session.scalars(select(AnonymousAnswerSet)).all() == []


def test_stale_taps_double_taps_and_closed_surveys(sessions: Any) -> None:
    survey_id, member_id = _survey(sessions, anonymous=True)
    with work(sessions) as unit:
        member, survey = unit.session.get(Member, member_id), unit.session.get(Survey, survey_id)
        assert answering.load(unit.session, member, survey, template_version=survey.template_version_id + 1) == \
            answering.Refusal("stale_button")
        scene = answering.load(unit.session, member, survey)
        assert isinstance(scene, answering.Answering)
        first = scene.ask().question
        assert first is not None
        second = scene.tap("answer", first.id, 1)
        assert scene.tap("answer", first.id, 1) == answering.NOTHING  # the same answer tapped twice
        assert scene.tap("answer", first.id, 2).note == "survey.stale"  # an old question's other choice
        assert scene.tap("answer", second.question.id if second.question else "", 99).note == "survey.stale"
        assert scene.back().question == first
        surveys.close_survey(unit, survey)
        refused = answering.load(unit.session, member, survey)
        assert isinstance(refused, answering.Refusal) and (refused.reason, refused.leave) == ("survey.closed", True)

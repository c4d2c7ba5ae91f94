"""Survey templates are data: the shipped ones load, and a bad file is refused naming its line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveys import engine
from surveys.definition import TemplateError, load_all, parse


def test_shipped_templates_load_with_their_indicators() -> None:
    templates = load_all()
    council = templates["council-questionnaire"]
    indicators = [q.indicator for q in council.questions if q.indicator]
    assert [(i.baseline_percent, i.targets) for i in indicators] == [
        (48, {"H30": 73, "H31": 73}), (75, {"H30": 77, "H31": 80})]
    assert all(i.positive == ("そう思う", "どちらかといえばそう思う") for i in indicators)
    evaluation = templates["management-evaluation"]
    assert len([q for q in evaluation.questions if q.kind == "single"]) == 6
    assert all(not q.required for q in evaluation.questions if q.kind == "text")


def test_show_if_adds_the_follow_up_question() -> None:
    council = load_all()["council-questionnaire"]
    assert len(engine.visible(council, {})) == 8
    assert len(engine.visible(council, {"exchange": "そう思わない"})) == 9
    # changing the answer hides the follow-up again, and its answer goes with it
    answers = {"exchange": "そう思う", "exchange_reason": "x"}
    assert "exchange_reason" not in engine.prune(council, answers)


GOOD = """\
id: t
title: テスト
questions:
  - id: a
    kind: single
    text: 質問
    choices: [はい, いいえ]
"""


@pytest.mark.parametrize(("text", "message"), [
    ("id: t\ntitle: [", "bad.yaml:2: not valid YAML"),
    ("", "bad.yaml:1: the file is empty"),
    ("id: t\nquestions: []\n", "bad.yaml:1: template: 'title' is missing"),
    (GOOD.replace("kind: single", "kind: scale"), "bad.yaml:5: questions[0].kind: 'scale' is not one of"),
    (GOOD.replace("[はい, いいえ]", "[はい]"), "bad.yaml:7: questions[0].choices: needs 2 to 10 choices"),
    (GOOD.replace("[はい, いいえ]", "[はい, はい]"), "bad.yaml:7: questions[0].choices: a choice appears twice"),
    (GOOD + "    colour: red\n", "bad.yaml:8: questions[0].colour: unknown field"),
    (GOOD + "    required: maybe\n", "bad.yaml:8: questions[0].required: must be true or false"),
    (GOOD + "  - id: a\n    kind: text\n    text: x\n", "bad.yaml:8: questions[1].id: 'a' is used by an earlier"),
    (GOOD + "  - id: b\n    kind: text\n    text: x\n    show_if: {question: a, in: [たぶん]}\n",
     "bad.yaml:11: questions[1].show_if.in: 'たぶん' is not a choice of 'a'"),
    (GOOD + "    indicator: {name: n, positive: [ぜひ], baseline: {year: H29, percent: 1}, targets: {H30: 2}}\n",
     "bad.yaml:8: questions[0].indicator.positive: 'ぜひ' is not a choice"),
    (GOOD + "    indicator: {name: n, positive: [はい], baseline: {year: H29, percent: 140}, targets: {H30: 2}}\n",
     "bad.yaml:8: questions[0].indicator.baseline.percent: must be a percentage"),
    (GOOD.replace("[はい, いいえ]", "[はい, とてもとてもとてもとてもとてもながい選択肢です]"),
     "bad.yaml:7: questions[0].choices: is longer than 20 characters"),
    (GOOD + "    exclusive: [いいえ]\n", "bad.yaml:8: questions[0].exclusive: only a multiple choice question"),
    (GOOD.replace("kind: single", "kind: multiple") + "    exclusive: [特にない]\n",
     "bad.yaml:8: questions[0].exclusive: '特にない' is not a choice of this question"),
    (GOOD + "    short: " + "あ" * 21 + "\n", "bad.yaml:8: questions[0].short: is longer than 20 characters"),
])
def test_a_bad_template_names_line_and_field(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(text, "bad.yaml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_cached_template_belongs_to_its_own_database(tmp_path: Path) -> None:
    """Template versions are cached, by database: version 1 of one database is not version 1 of another."""
    import datetime as dt

    from db.base import make_engine, make_session_factory, transaction
    from db.migrate import upgrade
    from db.models import Survey, SurveyTemplateVersion
    from surveys import service

    titles = []
    for name in ("a", "b"):
        db_engine = make_engine(f"sqlite:///{tmp_path}/{name}.db")
        upgrade(db_engine)
        definition = {"id": name, "title": f"調査{name}", "description": "", "questions": [
            {"id": "q1", "kind": "text", "text": f"質問{name}", "required": False, "help": None,
             "show_if": None, "indicator": None, "choices": []}]}
        with transaction(make_session_factory(db_engine)) as session:
            version = SurveyTemplateVersion(template_key=name, version=1, checksum=name, definition=definition)
            session.add(version)
            session.flush()
            now = dt.datetime.now(dt.UTC)
            survey = Survey(template_version_id=version.id, title=name, opens_at=now, closes_at=now, anonymous=True)
            session.add(survey)
            session.flush()
            assert version.id == 1
            titles.append(service.template_of(session, survey).questions[0].text)
        db_engine.dispose()
    assert titles == ["質問a", "質問b"]

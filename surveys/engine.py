"""One engine walks every survey: which question comes next, going back, show-if, checking an answer.

Answers are a dict ``{question_id: value}``: a choice label (single), a list of labels (multiple), a text, or
None for an optional question that was skipped.
"""

from __future__ import annotations

from typing import Any

from surveys.definition import Question, Template

Answers = dict[str, Any]


def is_shown(question: Question, answers: Answers) -> bool:
    if question.show_if is None:
        return True
    value = answers.get(question.show_if.question)
    values = value if isinstance(value, list) else [value]
    return any(v in question.show_if.any_of for v in values)


def visible(template: Template, answers: Answers) -> list[Question]:
    """The questions this member is asked, given their answers so far."""
    return [q for q in template.questions if is_shown(q, answers)]


def prune(template: Template, answers: Answers) -> Answers:
    """Drop answers to questions an edited earlier answer has hidden."""
    shown = {q.id for q in visible(template, answers)}
    return {k: v for k, v in answers.items() if k in shown}


def next_unanswered(template: Template, answers: Answers) -> Question | None:
    return next((q for q in visible(template, answers) if q.id not in answers), None)


def previous(template: Template, answers: Answers, current_id: str | None) -> Question | None:
    """The visible question before current_id (or the last one when reviewing)."""
    shown = visible(template, answers)
    if current_id is None:
        return shown[-1] if shown else None
    ids = [q.id for q in shown]
    if current_id not in ids:
        return None
    i = ids.index(current_id)
    return shown[i - 1] if i > 0 else None


def position(template: Template, answers: Answers, question_id: str) -> tuple[int, int]:
    """(number of this question, number of questions) as the member sees them, e.g. (3, 8)."""
    ids = [q.id for q in visible(template, answers)]
    return (ids.index(question_id) + 1 if question_id in ids else 1), len(ids)


def display(question: Question, value: Any, none_text: str) -> str:
    if value is None or value == [] or value == "":
        return none_text
    return "、".join(value) if isinstance(value, list) else str(value)


def choice_for_text(question: Question, text: str) -> str | None:
    """A typed text that names a choice exactly (after normalisation) counts as tapping it."""
    folded = text.strip()
    return next((c for c in question.choices if c == folded), None)

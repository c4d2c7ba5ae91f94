"""What a member sees of a survey in LINE: the invitation card, one question per message, the summary."""

from __future__ import annotations

from typing import Any

from bot import clock
from bot.messages import Message, postback_action, quick_reply, text
from bot.texts import t
from db.models import Survey, SurveyResponse
from surveys import engine
from surveys.definition import Question, Template


def _params(survey: Survey, question: Question | None = None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"s": survey.id, "t": survey.template_version_id}
    if question is not None:
        params["q"] = question.id
    return params


def invitation(survey: Survey, template: Template, resume: bool = False) -> Message:
    """A card with the title, the number of questions, the deadline, whether it is anonymous, and 回答をはじめる."""
    count = len(engine.visible(template, {}))
    body = t("survey.invite", count=count, deadline=clock.format_jst(survey.closes_at))
    body += "\n" + t("survey.anonymous" if survey.anonymous else "survey.named")
    label = t("survey.btn.resume" if resume else "survey.btn.start")
    return {
        "type": "flex",
        "altText": f"{survey.title}: {label}",
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": [
                {"type": "text", "text": survey.title, "weight": "bold", "size": "lg", "wrap": True},
                {"type": "text", "text": body, "size": "md", "wrap": True},
            ]},
            "footer": {"type": "box", "layout": "vertical", "contents": [
                {"type": "button", "style": "primary", "height": "md",
                 "action": postback_action(label, "survey.start", display_text=label, **_params(survey))},
            ]},
        },
    }


def reminder(survey: Survey) -> Message:
    label = t("survey.btn.resume")
    return text(t("survey.reminder", title=survey.title, deadline=clock.format_jst(survey.closes_at)),
                [quick_reply(postback_action(label, "survey.start", display_text=label, **_params(survey)))])


def _controls(survey: Survey, question: Question, first: bool) -> list[dict[str, Any]]:
    items = []
    if not question.required:
        label = t("survey.btn.skip")
        items.append(quick_reply(postback_action(label, "survey.skip", display_text=label,
                                                 **_params(survey, question))))
    if not first:
        label = t("survey.btn.back")
        items.append(quick_reply(postback_action(label, "survey.back", display_text=label,
                                                 **_params(survey, question))))
    label = t("survey.btn.pause")
    items.append(quick_reply(postback_action(label, "survey.pause", display_text=label, **_params(survey))))
    return items


def question(survey: Survey, template: Template, response: SurveyResponse, q: Question,
             note: str | None = None) -> list[Message]:
    """The question as one message, its choices as quick replies, with a progress marker (3/8)."""
    n, total = engine.position(template, response.answers, q.id)
    lines = [t("survey.progress", n=n, total=total) + q.text]
    if q.help:
        lines.append(q.help)
    items: list[dict[str, Any]] = []
    if q.kind == "single":
        for i, choice in enumerate(q.choices):
            items.append(quick_reply(postback_action(choice, "survey.answer", display_text=choice,
                                                     c=i, **_params(survey, q))))
    elif q.kind == "multiple":
        if response.pending:
            lines.append(t("survey.multi_selected", selected="、".join(response.pending)))
        items += _ticks(survey, response, q)
    else:
        lines.append(t("survey.type_answer"))
    items.extend(_controls(survey, q, first=n == 1))
    messages: list[Message] = []
    if note:
        messages.append(text(note))
    messages.append(text("\n".join(lines), items))
    return messages


def _ticks(survey: Survey, response: SurveyResponse, q: Question) -> list[dict[str, Any]]:
    """A multiple question's choices, ✓ on those ticked, and 決定."""
    ticked = set(response.pending)
    items = []
    for i, choice in enumerate(q.choices):
        label = ("✓" if choice in ticked else "") + choice
        shown = t("survey.untick", choice=choice) if choice in ticked else choice  # what the chat shows as sent
        items.append(quick_reply(postback_action(label, "survey.toggle", display_text=shown,
                                                 c=i, **_params(survey, q))))
    done = t("survey.btn.done")
    done_item = quick_reply(postback_action(done, "survey.done", display_text=done, **_params(survey, q)))
    # once something is ticked, 決定 comes first: on a phone the row of buttons is wider than the screen
    return [done_item, *items] if ticked else [*items, done_item]


def ticked(survey: Survey, template: Template, response: SurveyResponse, q: Question,
           note: str | None = None) -> Message:
    """After a tap on a multiple question: one short line of what is ticked, and the same buttons (the question
    stays where it is in the chat, above). note: why others were unticked (an exclusive choice)."""
    n, _ = engine.position(template, response.answers, q.id)
    selected = "、".join(response.pending)
    if not selected:
        body = t("survey.multi_none")
    else:
        body = t("survey.multi_selected", selected=selected) + "\n" + (note or t("survey.multi_next"))
    return text(body, [*_ticks(survey, response, q), *_controls(survey, q, first=n == 1)])


def summary(survey: Survey, template: Template, response: SurveyResponse) -> Message:
    """Every answer once more, with 送信 and 修正."""
    lines = [t("survey.summary"), ""]
    for i, q in enumerate(engine.visible(template, response.answers), start=1):
        value = engine.display(q, response.answers.get(q.id), t("survey.skipped"))
        lines.append(f"{i}. {q.label}\n　→ {value}")
    submit, edit = t("survey.btn.submit"), t("survey.btn.edit")
    return text("\n".join(lines), [
        quick_reply(postback_action(submit, "survey.submit", display_text=submit, **_params(survey))),
        quick_reply(postback_action(edit, "survey.edit", display_text=edit, **_params(survey))),
    ])


def edit_menu(survey: Survey, template: Template, response: SurveyResponse) -> Message:
    shown = engine.visible(template, response.answers)[:12]
    items = [quick_reply(postback_action(str(i), "survey.goto", display_text=f"{i}", **_params(survey, q)))
             for i, q in enumerate(shown, start=1)]
    submit = t("survey.btn.submit")
    items.append(quick_reply(postback_action(submit, "survey.submit", display_text=submit, **_params(survey))))
    return text(t("survey.edit_which"), items)

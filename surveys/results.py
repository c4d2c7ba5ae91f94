"""Results for staff: response rate, per-question counts, free texts, the outcome indicators against targets,
CSV exports (UTF-8 with BOM, so Excel opens Japanese correctly) and SVG charts.

A group of fewer than MIN_GROUP answers is never shown (the result says so instead), so nobody can be picked out.
That rule lives here once (too_few, answers_withheld) and everything staff can read goes through it: the console
page, the CSV downloads, the API's JSON, CSV and charts all call compute() or answers_csv(). Anonymous answers are
listed in an order made of the answers alone (anonymous_order), never in the order they were sent.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock
from db.models import AnonymousAnswerSet, Member, Subcommittee, Survey, SurveyResponse
from surveys import engine
from surveys import service as surveys
from surveys.definition import Question, Template

MIN_GROUP = 3
SUPPRESSED = f"回答が{MIN_GROUP}件未満のため表示しません"


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def too_few(count: int) -> bool:
    """The small-group rule: a group of fewer than MIN_GROUP answers is not shown (SUPPRESSED says so instead)."""
    return count < MIN_GROUP


def answers_withheld(survey: Survey, responses: int) -> bool:
    """Whether an anonymous survey's answers are withheld as a whole: with fewer than MIN_GROUP responses, whoever
    knows who answered (the response rate says it) could tell what they answered. The page, the summary, the charts,
    the answers CSV and the API all ask this one question."""
    return survey.anonymous and too_few(responses)


def anonymous_order(template: Template, answers: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """Sort key for anonymous answer sets: the answers themselves, question by question in the template's order as
    the CSV shows them, then the whole set as canonical JSON (so answer sets that look alike still sort by value).

    The order is a function of the answers alone: any two orders of sending give the same export, byte for byte,
    so row order cannot be joined to who sent when (the members' submission times, the response rate watched
    live). Sorting by storage key would rest on an accident of storage (the random key today; a sequence or
    time-ordered key would turn it into the order of sending), and a shuffle per export would make two downloads
    of the same answers differ and be hard to test; sorting by value is deterministic and testable.
    """
    shown = tuple(engine.display(q, answers.get(q.id), "") if engine.is_shown(q, answers) else ""
                  for q in template.questions)
    return shown, json.dumps(answers, sort_keys=True, ensure_ascii=False, default=str)


def answer_rows(session: Session, survey: Survey) -> list[tuple[str | None, dict[str, Any]]]:
    """(subcommittee name or None, answers) for each sent response. Anonymous answers carry no subcommittee and
    come in anonymous_order (by value, never in the order sent)."""
    if survey.anonymous:
        template = surveys.template_of(session, survey)
        sets = session.scalars(select(AnonymousAnswerSet.answers).where(AnonymousAnswerSet.survey_id == survey.id))
        return [(None, a) for a in sorted(sets, key=lambda a: anonymous_order(template, a))]
    rows = session.execute(
        select(Subcommittee.name, SurveyResponse.answers)
        .join(Member, Member.id == SurveyResponse.member_id)
        .outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")
        .order_by(SurveyResponse.id))
    return [(name, answers) for name, answers in rows]


def _choice_counts(question: Question, values: list[Any]) -> list[dict[str, Any]]:
    counter: Counter[str] = Counter()
    for value in values:
        for v in value if isinstance(value, list) else [value]:
            counter[v] += 1
    return [{"label": c, "count": counter[c], "percent": _percent(counter[c], len(values))} for c in question.choices]


def _question_result(question: Question, rows: list[tuple[str | None, dict[str, Any]]], named: bool,
                     suppress_all: bool) -> dict[str, Any]:
    answered = [(group, a[question.id]) for group, a in rows if a.get(question.id) not in (None, "", [])]
    result: dict[str, Any] = {"id": question.id, "text": question.text, "kind": question.kind,
                              "answered": len(answered)}
    if suppress_all:
        result["suppressed"] = SUPPRESSED
        return result
    if question.kind == "text":
        result["texts"] = [v for _g, v in answered]
        return result
    result["choices"] = _choice_counts(question, [v for _g, v in answered])
    if named:
        groups: dict[str, list[Any]] = {}
        for group, value in answered:
            groups.setdefault(group or "（部会なし）", []).append(value)
        result["by_subcommittee"] = [
            {"name": name, "answered": len(values),
             **({"suppressed": SUPPRESSED} if too_few(len(values)) else
                {"choices": _choice_counts(question, values)})}
            for name, values in sorted(groups.items())
        ]
    return result


def _indicator_result(survey: Survey, question: Question, qres: dict[str, Any]) -> dict[str, Any]:
    indicator = question.indicator
    assert indicator is not None
    year = survey.target_year if survey.target_year in indicator.targets else list(indicator.targets)[-1]
    target = indicator.targets[year]
    out: dict[str, Any] = {
        "question": question.id, "name": indicator.name, "answered": qres["answered"],
        "positive_answers": list(indicator.positive),
        "baseline": {"year": indicator.baseline_year, "percent": indicator.baseline_percent},
        "targets": indicator.targets, "target_year": year, "target": target,
    }
    if "suppressed" in qres or not qres["answered"]:
        out.update(positive_percent=None, achieved=None, status=qres.get("suppressed", "回答なし"))
        return out
    positive = sum(c["count"] for c in qres["choices"] if c["label"] in indicator.positive)
    share = _percent(positive, qres["answered"])
    assert share is not None
    out.update(positive_percent=share, change_from_baseline=round(share - indicator.baseline_percent, 1),
               achieved=share >= target, status="達成" if share >= target else "未達成")
    return out


def compute(session: Session, survey: Survey) -> dict[str, Any]:
    template = surveys.template_of(session, survey)
    rows = answer_rows(session, survey)
    answered, audience = surveys.counts(session, survey)
    suppress_all = answers_withheld(survey, len(rows))
    rate: dict[str, Any] = {"answered": answered, "audience": audience, "percent": _percent(answered, audience)}
    if not survey.anonymous:
        rate["by_subcommittee"] = _rate_by_subcommittee(session, survey)
    questions = [_question_result(q, rows, not survey.anonymous, suppress_all) for q in template.questions]
    by_id = {q["id"]: q for q in questions}
    return {
        "survey": {"id": survey.id, "title": survey.title, "status": survey.status, "anonymous": survey.anonymous,
                   "opens_at": survey.opens_at.isoformat(), "closes_at": survey.closes_at.isoformat(),
                   "template": template.id, "template_version_id": survey.template_version_id},
        "response_rate": rate,
        "responses": len(rows),
        "questions": questions,
        "indicators": [_indicator_result(survey, q, by_id[q.id]) for q in template.questions if q.indicator],
        "min_group": MIN_GROUP,
    }


def _rate_by_subcommittee(session: Session, survey: Survey) -> list[dict[str, Any]]:
    members = surveys.audience_query(survey).subquery()
    audience = dict(session.execute(
        select(func.coalesce(Subcommittee.name, "（部会なし）"), func.count())
        .select_from(members).outerjoin(Subcommittee, Subcommittee.id == members.c.subcommittee_id)
        .group_by(Subcommittee.name)).all())
    answered = dict(session.execute(
        select(func.coalesce(Subcommittee.name, "（部会なし）"), func.count())
        .select_from(SurveyResponse).join(members, members.c.id == SurveyResponse.member_id)
        .outerjoin(Subcommittee, Subcommittee.id == members.c.subcommittee_id)
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")
        .group_by(Subcommittee.name)).all())
    return [{"name": name, "answered": int(answered.get(name, 0)), "audience": int(total),
             "percent": _percent(int(answered.get(name, 0)), int(total))} for name, total in sorted(audience.items())]


# ---------------------------------------------------------------------------------------------- exports


def _csv(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def answers_csv(session: Session, survey: Survey) -> bytes:
    """One row per sent response. Named: with the member, 部会 and time sent, in the order sent. Anonymous: answers
    only (no member, no time), in anonymous_order; with too few responses (answers_withheld, as on the page) no
    answer at all, only the header and a line saying why."""
    template = surveys.template_of(session, survey)
    questions = list(template.questions)
    header = ["番号"] + ([] if survey.anonymous else ["氏名", "部会", "送信日時"]) + [q.text for q in questions]
    rows: list[list[Any]] = [header]
    if survey.anonymous:
        anonymous = answer_rows(session, survey)
        if answers_withheld(survey, len(anonymous)):
            return _csv([header, [SUPPRESSED]])
        data = [([], answers) for _g, answers in anonymous]
    else:
        data = [([name, group or "", clock.format_jst(sent)], answers) for name, group, sent, answers in
                session.execute(select(Member.name, Subcommittee.name, SurveyResponse.submitted_at,
                                       SurveyResponse.answers)
                                .join(Member, Member.id == SurveyResponse.member_id)
                                .outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)
                                .where(SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")
                                .order_by(SurveyResponse.submitted_at, SurveyResponse.id))]
    for n, (who, answers) in enumerate(data, start=1):
        cells = [engine.display(q, answers.get(q.id), "") if engine.is_shown(q, answers) else "" for q in questions]
        rows.append([n, *who, *cells])
    return _csv(rows)


def summary_csv(results: dict[str, Any]) -> bytes:
    rows: list[list[Any]] = [["区分", "質問", "選択肢・項目", "件数", "割合(%)"]]
    rate = results["response_rate"]
    rows.append(["回答率", "", "回答数 / 対象者", f"{rate['answered']} / {rate['audience']}", rate["percent"]])
    for group in rate.get("by_subcommittee", []):
        rows.append(["回答率", "", group["name"], f"{group['answered']} / {group['audience']}", group["percent"]])
    for q in results["questions"]:
        if "suppressed" in q:
            rows.append(["質問", q["text"], q["suppressed"], "", ""])
        for c in q.get("choices", []):
            rows.append(["質問", q["text"], c["label"], c["count"], c["percent"]])
    for ind in results["indicators"]:
        rows.append(["指標", ind["name"], f"肯定的な回答の割合（目標 {ind['target_year']}: {ind['target']}%）",
                     ind["answered"], ind["positive_percent"]])
        rows.append(["指標", ind["name"], f"基準値 {ind['baseline']['year']}", "", ind["baseline"]["percent"]])
        rows.append(["指標", ind["name"], "判定", ind["status"], ""])
    return _csv(rows)


# ---------------------------------------------------------------------------------------------- charts (SVG)


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Noto Sans CJK JP, sans-serif" font-size="16" role="img">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def question_chart(result: dict[str, Any]) -> str:
    """Horizontal bars: each choice's share of those who answered the question."""
    choices = result.get("choices", [])
    width, bar_left, bar_width = 720, 260, 380
    height = 60 + 40 * max(len(choices), 1)
    body = [f'<text x="10" y="28" font-size="18" font-weight="bold">{escape(result["text"][:40])}</text>']
    if not choices:
        body.append(f'<text x="10" y="70">{escape(result.get("suppressed", "選択式ではありません"))}</text>')
    for i, choice in enumerate(choices):
        y = 50 + 40 * i
        pct = choice["percent"] or 0
        body.append(f'<text x="10" y="{y + 20}">{escape(choice["label"])}</text>')
        body.append(f'<rect x="{bar_left}" y="{y + 4}" width="{bar_width * pct / 100:.1f}" height="24" '
                    f'fill="#06c755"/>')
        body.append(f'<text x="{bar_left + bar_width * pct / 100 + 8:.1f}" y="{y + 22}">'
                    f'{pct:g}% ({choice["count"]})</text>')
    return _svg(width, height, body, result["text"])


def indicators_chart(results: dict[str, Any]) -> str:
    """For each outcome indicator: the baseline, this survey's positive share, and the target line."""
    indicators = results["indicators"]
    width, left, span = 760, 300, 400
    height = 70 + 90 * max(len(indicators), 1)
    body = ['<text x="10" y="28" font-size="18" font-weight="bold">成果指標（アウトカム）と目標</text>']
    for i, ind in enumerate(indicators):
        y = 50 + 90 * i
        body.append(f'<text x="10" y="{y + 20}">{escape(ind["name"][:18])}</text>')
        base = ind["baseline"]["percent"]
        body.append(f'<rect x="{left}" y="{y + 4}" width="{span * base / 100:.1f}" height="22" fill="#b0b8c4"/>')
        body.append(f'<text x="{left + span * base / 100 + 6:.1f}" y="{y + 20}">'
                    f'{escape(ind["baseline"]["year"])} {base:g}%</text>')
        actual = ind["positive_percent"]
        if actual is not None:
            color = "#06c755" if ind["achieved"] else "#e0523a"
            body.append(f'<rect x="{left}" y="{y + 32}" width="{span * actual / 100:.1f}" height="22" '
                        f'fill="{color}"/>')
            body.append(f'<text x="{left + span * actual / 100 + 6:.1f}" y="{y + 48}">今回 {actual:g}% '
                        f'{escape(ind["status"])}</text>')
        else:
            body.append(f'<text x="{left}" y="{y + 48}">{escape(ind["status"])}</text>')
        tx = left + span * ind["target"] / 100
        body.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 60}" stroke="#333" '
                    f'stroke-dasharray="4 3" stroke-width="2"/>')
        body.append(f'<text x="{tx + 4:.1f}" y="{y + 72}" font-size="14">目標 {escape(ind["target_year"])} '
                    f'{ind["target"]:g}%</text>')
    return _svg(width, height, body, "成果指標")


def template_summary(template: Template) -> dict[str, Any]:
    return {"id": template.id, "title": template.title, "description": template.description,
            "questions": [{"id": q.id, "kind": q.kind, "text": q.text, "choices": list(q.choices),
                           "required": q.required, "indicator": q.indicator.name if q.indicator else None}
                          for q in template.questions]}

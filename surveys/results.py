"""Results for staff: response rate, per-question counts, free texts, the outcome indicators against targets,
exports (CSV and .xlsx, through bot.sheets) and SVG charts.

A group of fewer than MIN_GROUP answers is never shown (the result says so instead), so nobody can be picked out.
That rule lives here once (too_few, answers_withheld) and everything staff can read goes through it: the console
page, the downloads, the API's JSON, CSV and charts all call compute() or answers_table(). Anonymous answers are
listed in an order made of the answers alone (anonymous_order), never in the order they were sent, and carry no
time.

Years: a survey belongs to the fiscal year (年度, April to March) of its start, named in 令和 (fiscal_year_label).
Its indicators are judged against the target of the year staff named, else of the latest year with a target up to
the survey's own year; the page and the exports name both years, so 「目標（H31）」 is never passed off as this
year's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock, sheets
from bot.sheets import Column, Table
from db.models import AnonymousAnswerSet, Event, Member, Subcommittee, Survey, SurveyResponse, SurveyTemplateVersion
from events.schema import Kind
from surveys import engine
from surveys import pulse as pulses
from surveys import service as surveys
from surveys.definition import Question, Template

MIN_GROUP = 3
SUPPRESSED = f"回答が{MIN_GROUP}件未満のため表示しません"
NO_ANSWERS = "回答なし"


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
    result: dict[str, Any] = {"id": question.id, "text": question.text, "short": question.label,
                              "kind": question.kind, "answered": len(answered)}
    if suppress_all:  # not even how many answered: a follow-up's count would tell what the few answered before
        result["suppressed"], result["answered"] = SUPPRESSED, None
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


# ---------------------------------------------------------------------------------------------- years


_ERA_YEAR = re.compile(r"^(H|R|平成|令和)(\d{1,2}|元)(年度?)?$")
_WESTERN_YEAR = re.compile(r"^(\d{4})(年度?)?$")


def fiscal_year(moment: dt.datetime) -> int:
    """The fiscal year (年度, April to March, in JST) a moment falls in, as the year it starts: Dec 2026 → 2026,
    Feb 2027 → 2026."""
    local = moment.astimezone(clock.JST)
    return local.year if local.month >= 4 else local.year - 1


def fiscal_year_label(year: int) -> str:
    """2026 → 令和8年度 (2019 → 令和元年度; before it, 平成)."""
    if year >= 2019:
        n = year - 2018
        return f"令和{'元' if n == 1 else n}年度"
    n = year - 1988
    return f"平成{'元' if n == 1 else n}年度"


def year_of(key: str | None) -> int | None:
    """The fiscal year a target's key means: H31, 平成31年度 → 2019; R8, 令和8年度 → 2026; 2026 → 2026."""
    text = unicodedata.normalize("NFKC", key or "").strip().upper().replace(" ", "")
    if found := _ERA_YEAR.match(text):
        era, number = found.group(1), found.group(2)
        n = 1 if number == "元" else int(number)
        return n + (1988 if era in ("H", "平成") else 2018)
    if found := _WESTERN_YEAR.match(text):
        return int(found.group(1))
    return None


def target_key(targets: dict[str, float], asked: str | None, year: int) -> str:
    """Which target a survey of this fiscal year is judged against: the year staff asked for if the indicator has
    it; else the latest year with a target up to the asked year (or the survey's year); else the first target."""
    if asked in targets:
        return str(asked)
    wanted = year_of(asked)
    wanted = year if wanted is None else wanted
    dated = sorted((y, key) for key in targets if (y := year_of(key)) is not None)
    if not dated:
        return list(targets)[-1]
    earlier = [key for y, key in dated if y <= wanted]
    return earlier[-1] if earlier else dated[0][1]


def survey_year(survey: Survey) -> int:
    """The fiscal year a survey belongs to: that of its start."""
    return fiscal_year(survey.opens_at)


def closed_early(survey: Survey) -> bool:
    """Closed by staff before its planned close (closed_at is then the real end, closes_at only the plan)."""
    return survey.closed_at is not None and survey.closed_at < survey.closes_at


def ended_at(survey: Survey) -> dt.datetime:
    """When answering ended (or will end): the real close when it was closed early, else the planned one."""
    return survey.closed_at if survey.closed_at is not None and closed_early(survey) else survey.closes_at


def target_hint(template: Template, year: int) -> dict[str, Any] | None:
    """For the create form: the years that have targets, and which one a survey of this year is judged against."""
    indicators = [q.indicator for q in template.questions if q.indicator]
    if not indicators:
        return None
    years = list(dict.fromkeys(key for i in indicators for key in i.targets))
    return {"years": years, "chosen": target_key(indicators[0].targets, None, year)}


def _indicator_result(survey: Survey, question: Question, qres: dict[str, Any]) -> dict[str, Any]:
    indicator = question.indicator
    assert indicator is not None
    this_year = survey_year(survey)
    key = target_key(indicator.targets, survey.target_year, this_year)
    target = indicator.targets[key]
    out: dict[str, Any] = {
        "question": question.id, "name": indicator.name, "answered": qres["answered"],
        "positive_answers": list(indicator.positive),
        "baseline": {"year": indicator.baseline_year, "percent": indicator.baseline_percent},
        "targets": indicator.targets, "target_year": key, "target": target,
        "target_label": f"目標（{key}）", "survey_year": fiscal_year_label(this_year),
        # said when the target is not this year's: 令和8年度 has no target of its own, H31's is the latest
        "target_note": None if year_of(key) == this_year else
        f"{fiscal_year_label(this_year)}の目標はないため、{key}の目標と比べています",
    }
    if "suppressed" in qres or not qres["answered"]:
        out.update(positive_percent=None, achieved=None, status=qres.get("suppressed", NO_ANSWERS))
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
                   "closed_at": survey.closed_at.isoformat() if survey.closed_at else None,
                   "closed_early": closed_early(survey), "fiscal_year": survey_year(survey),
                   "fiscal_year_label": fiscal_year_label(survey_year(survey)),
                   "template": template.id, "template_version_id": survey.template_version_id},
        "response_rate": rate,
        "responses": len(rows),
        "questions": questions,
        "indicators": [_indicator_result(survey, q, by_id[q.id]) for q in template.questions if q.indicator],
        "min_group": MIN_GROUP,
    }


def _rate_by_subcommittee(session: Session, survey: Survey) -> list[dict[str, Any]]:
    members = surveys.audience_query(survey, counted=True).subquery()
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


def export_name(survey: Survey, what: str, ext: str) -> tuple[str, str]:
    """(file name, ASCII fallback): 区政会議に関するアンケート_2026-12-01_集計.xlsx, survey-12-summary.xlsx."""
    opened = survey.opens_at.astimezone(clock.JST).strftime("%Y-%m-%d")
    fallback = {"集計": "summary", "回答": "answers"}.get(what, "export")
    return sheets.file_name(survey.title, opened, what, ext=ext), f"survey-{survey.id}-{fallback}.{ext}"


def answers_table(session: Session, survey: Survey) -> Table:
    """One row per sent response, the columns named by the questions' short labels. Named: with the member, 部会
    and time sent, in the order sent. Anonymous: answers only (no member, no time), in anonymous_order; with too
    few responses (answers_withheld, as on the page) no answer at all, only a line saying why."""
    template = surveys.template_of(session, survey)
    questions = list(template.questions)
    columns = [Column("番号", 6)]
    if not survey.anonymous:
        columns += [Column("氏名"), Column("部会"), Column("送信日時", 18)]
    columns += [Column(q.label, wrap=q.kind == "text") for q in questions]
    if survey.anonymous:
        anonymous = answer_rows(session, survey)
        if answers_withheld(survey, len(anonymous)):
            return Table("回答", columns, [[SUPPRESSED]])
        data: list[tuple[list[Any], dict[str, Any]]] = [([], answers) for _g, answers in anonymous]
    else:
        data = [([name, group or "", sent], answers) for name, group, sent, answers in
                session.execute(select(Member.name, Subcommittee.name, SurveyResponse.submitted_at,
                                       SurveyResponse.answers)
                                .join(Member, Member.id == SurveyResponse.member_id)
                                .outerjoin(Subcommittee, Subcommittee.id == Member.subcommittee_id)
                                .where(SurveyResponse.survey_id == survey.id, SurveyResponse.status == "submitted")
                                .order_by(SurveyResponse.submitted_at, SurveyResponse.id))]
    rows = []
    for n, (who, answers) in enumerate(data, start=1):
        cells = [engine.display(q, answers.get(q.id), "") if engine.is_shown(q, answers) else "" for q in questions]
        rows.append([n, *who, *cells])
    return Table("回答", columns, rows)


def questions_table(template: Template) -> Table:
    """What each column of the answers means: the short label, the whole question, its kind and choices."""
    kinds = {"single": "ひとつ選ぶ", "multiple": "いくつでも選ぶ", "text": "自由記述"}
    return Table("質問", [Column("列名"), Column("質問", wrap=True), Column("形式"), Column("選択肢", wrap=True)],
                 [[q.label, q.text, kinds.get(q.kind, q.kind), "、".join(q.choices)] for q in template.questions])


def _about(results: dict[str, Any]) -> list[list[Any]]:
    """The lines above the summary: which survey, when it ran (the real close when closed early), which year."""
    survey = results["survey"]
    opens = dt.datetime.fromisoformat(survey["opens_at"])
    closes = dt.datetime.fromisoformat(survey["closes_at"])
    closed = dt.datetime.fromisoformat(survey["closed_at"]) if survey.get("closed_at") else None
    lines: list[list[Any]] = [["アンケート", survey["title"]], ["開始", opens]]
    if closed is not None and survey.get("closed_early"):
        lines.append(["締切", closed, f"予定（{sheets.csv_time(closes)}）より早く締め切りました"])
    else:
        lines.append(["締切" if closed is not None or closes <= clock.now() else "締切予定", closes])
    status = surveys.STATUSES.get(survey["status"], survey["status"])
    lines.append(["状態", "・".join([status, "匿名" if survey["anonymous"] else "記名",
                                    survey.get("fiscal_year_label", "")])])
    lines.append(["集計日時", clock.now()])
    return lines


def summary_table(results: dict[str, Any]) -> Table:
    columns = [Column("区分"), Column("質問・指標", wrap=True), Column("選択肢・項目", wrap=True), Column("件数"),
               Column("割合(%)", 9, number_format="0.0")]
    rows: list[list[Any]] = []
    rate = results["response_rate"]
    rows.append(["回答率", "", "回答数 / 対象者", f"{rate['answered']} / {rate['audience']}", rate["percent"]])
    for group in rate.get("by_subcommittee", []):
        rows.append(["回答率", "", group["name"], f"{group['answered']} / {group['audience']}", group["percent"]])
    for q in results["questions"]:
        if "suppressed" in q:
            rows.append(["質問", q["short"], q["suppressed"], "", None])
        for c in q.get("choices", []):
            rows.append(["質問", q["short"], c["label"], c["count"], c["percent"]])
    for ind in results["indicators"]:
        rows.append(["指標", ind["name"], f"今回（{ind['survey_year']}）肯定的な回答の割合", ind["answered"],
                     ind["positive_percent"]])
        rows.append(["指標", ind["name"], f"基準値（{ind['baseline']['year']}）", "", ind["baseline"]["percent"]])
        rows.append(["指標", ind["name"], ind["target_label"], "", ind["target"]])
        rows.append(["指標", ind["name"], "判定", ind["status"], None])
        if ind.get("target_note"):
            rows.append(["指標", ind["name"], ind["target_note"], "", None])
    return Table("集計", columns, rows, preamble=_about(results))


def answers_csv(session: Session, survey: Survey) -> bytes:
    return sheets.csv_bytes(answers_table(session, survey))


def answers_xlsx(session: Session, survey: Survey) -> bytes:
    table = answers_table(session, survey)
    return sheets.xlsx_bytes([table, questions_table(surveys.template_of(session, survey))], survey.title)


def summary_csv(results: dict[str, Any]) -> bytes:
    return sheets.csv_bytes(summary_table(results))


def summary_xlsx(results: dict[str, Any]) -> bytes:
    return sheets.xlsx_bytes([summary_table(results)], results["survey"]["title"])


# ---------------------------------------------------------------------------------------------- charts (SVG)
#
# Drawn by hand: no charting library is installed, and these two charts need what a library would not give for
# free anyway: Japanese labels wrapped by their width, values in a column of their own (never on a bar or the
# target line), and black-and-white print (hatching and words, not colour alone). Texts are measured roughly: a
# wide character is one em, anything else 0.6 em.

FONT = 16
INK, GRID, MUTED = "#1f2328", "#c8cdd2", "#4a525a"
BAR = "#2b6a45"  # dark: a solid grey in black and white, apart from the hatched baseline


def _width(text: str, size: float = FONT) -> float:
    return sum(size if unicodedata.east_asian_width(c) in "WFA" else size * 0.6 for c in text)


_TOKENS = re.compile(r"[A-Za-z0-9.,%/]+|.", re.S)
_NO_LINE_START = set("）)」』】、。，．・ー％%…")
_NO_LINE_END = set("（(「『【")


def wrap(text: str, width: float, size: float = FONT, max_lines: int = 3) -> list[str]:
    """The text in lines no wider than width (roughly), Latin words and numbers kept whole, no line starting with a
    closing bracket or a comma nor ending with an opening one; cut with … after max_lines."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if line and _width(line + token, size) > width and token[0] not in _NO_LINE_START:
            # break before an opening bracket in the line when what follows it fits: 「資料の事前送付」「（1週間前）」
            cut = max((i for i, c in enumerate(line) if c in _NO_LINE_END and i > 0), default=len(line))
            if _width(line[cut:] + token, size) > width:
                cut = len(line)
                while cut > 1 and line[cut - 1] in _NO_LINE_END:
                    cut -= 1
            lines.append(line[:cut])
            line = line[cut:] + token
        else:
            line += token
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _width(last + "…", size) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines or [""]


def _text(x: float, y: float, text: str, size: float = FONT, anchor: str = "start", weight: str = "normal",
          fill: str = INK) -> str:
    extra = (f' text-anchor="{anchor}"' if anchor != "start" else "") + \
            (f' font-weight="{weight}"' if weight != "normal" else "") + \
            (f' font-size="{size:g}"' if size != FONT else "") + (f' fill="{fill}"' if fill != INK else "")
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def _lines(x: float, y: float, lines: list[str], size: float = FONT, weight: str = "normal") -> str:
    """Lines of text, the first baseline at y."""
    return "".join(_text(x, y + i * size * 1.3, line, size, weight=weight) for i, line in enumerate(lines))


def _svg(width: int, height: float, body: list[str], title: str, defs: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
            f'viewBox="0 0 {width} {height:.0f}" font-family="Noto Sans CJK JP, Hiragino Sans, sans-serif" '
            f'font-size="{FONT}" fill="{INK}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{defs}" + "".join(body) + "</svg>")


def _axis(left: float, span: float, top: float, bottom: float, labels: bool = True) -> list[str]:
    """Light vertical lines at 0, 25, 50, 75 and 100 %, labelled under them."""
    out = []
    for pct in (0, 25, 50, 75, 100):
        x = left + span * pct / 100
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GRID}" '
                   f'stroke-width="1"/>')
        if labels:
            out.append(_text(x, bottom + 16, f"{pct}%", 12, "middle", fill=MUTED))
    return out


def question_chart(result: dict[str, Any], titled: bool = True) -> str:
    """Horizontal bars: each choice's share of those who answered the question. The choice labels are wrapped in
    their column, the values stand in a column of their own. The title is the question's short label (titled:
    drawn at the top, for the chart on its own; the console's page has the question as its heading instead)."""
    choices = result.get("choices", [])
    title = result.get("short") or result["text"]
    width, label_width, left, span = 720, 236, 262, 330
    value_x = width - 12
    body: list[str] = []
    y = 8.0
    if titled:
        body.append(_lines(12, y + 18, wrap(title, width - 24, 18, 2), 18, "bold"))
        y += 18 * 1.3 * len(wrap(title, width - 24, 18, 2)) + 6
    if result.get("kind") == "multiple" and choices:
        body.append(_text(12, y + 14, f"複数回答: 答えた{result['answered']}人のうち、選んだ人の割合", 13, fill=MUTED))
        y += 24
    if not choices:
        body.append(_text(12, y + 24, result.get("suppressed", "選択式ではありません")))
        return _svg(width, y + 44, body, title)
    top = y
    rows: list[str] = []
    for choice in choices:
        lines = wrap(choice["label"], label_width, FONT, 3)
        row_height = max(36.0, FONT * 1.3 * len(lines) + 12)
        middle = y + row_height / 2
        first = middle - (len(lines) - 1) * FONT * 1.3 / 2 + FONT * 0.35
        rows.append(_lines(12, first, lines))
        pct = choice["percent"] or 0
        if pct:
            rows.append(f'<rect x="{left}" y="{middle - 11:.1f}" width="{span * pct / 100:.1f}" height="22" '
                        f'fill="{BAR}"/>')
        rows.append(_text(value_x, middle + FONT * 0.35, f"{pct:g}%（{choice['count']}件）", anchor="end"))
        y += row_height
    body += _axis(left, span, top, y) + rows
    return _svg(width, y + 26, body, title)


_HATCH = ('<defs><pattern id="baseline-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
          'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
          f'<line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="2"/></pattern></defs>')


def indicators_chart(results: dict[str, Any], titled: bool = True) -> str:
    """For each outcome indicator: its name, the baseline (hatched), this survey's positive share (solid, with
    達成 / 未達成 in words) and the target (a dashed line, labelled above the bars with its own year). Values stand
    right of the bars, so no label lies on a bar or on the target line; hatching, dashes and words carry the
    meaning in black and white."""
    indicators = results["indicators"]
    width, label_x, left, span = 760, 12, 210, 390
    value_x = left + span + 14
    body: list[str] = []
    y = 8.0
    if titled:
        body.append(_text(12, y + 20, "成果指標（アウトカム）と目標", 18, weight="bold"))
        y += 34
    # the legend
    body.append(f'<rect x="12" y="{y + 2:.1f}" width="26" height="14" fill="url(#baseline-hatch)" stroke="{INK}"/>')
    body.append(_text(44, y + 14, "基準値", 14))
    body.append(f'<rect x="112" y="{y + 2:.1f}" width="26" height="14" fill="{BAR}" stroke="{INK}"/>')
    body.append(_text(144, y + 14, "今回", 14))
    body.append(f'<line x1="200" y1="{y + 9:.1f}" x2="226" y2="{y + 9:.1f}" stroke="{INK}" stroke-width="2" '
                f'stroke-dasharray="5 3"/>')
    body.append(_text(232, y + 14, "目標", 14))
    y += 30
    for ind in indicators:
        name = wrap(ind["name"], width - 24, FONT, 2)
        body.append(_lines(12, y + FONT, name, weight="bold"))
        y += FONT * 1.3 * len(name) + 6
        target_x = left + span * ind["target"] / 100
        label = f"{ind['target_label']} {ind['target']:g}%"
        half = _width(label, 14) / 2
        label_at = min(max(target_x, left + half), width - 12 - half)
        body.append(_text(label_at, y + 14, label, 14, "middle"))
        y += 22
        bars_top, bars_start = y, len(body)
        base = ind["baseline"]
        body.append(_text(label_x, y + 17, f"基準値（{base['year']}）"))
        body.append(f'<rect x="{left}" y="{y + 2:.1f}" width="{span * base["percent"] / 100:.1f}" height="20" '
                    f'fill="url(#baseline-hatch)" stroke="{INK}" stroke-width="1"/>')
        body.append(_text(value_x, y + 17, f"{base['percent']:g}%"))
        y += 30
        body.append(_text(label_x, y + 17, f"今回（{ind['survey_year']}）"))
        actual = ind["positive_percent"]
        later: list[str] = []
        if actual is not None:
            if actual:
                body.append(f'<rect x="{left}" y="{y + 2:.1f}" width="{span * actual / 100:.1f}" height="20" '
                            f'fill="{BAR}" stroke="{INK}" stroke-width="1"/>')
            body.append(_text(value_x, y + 17, f"{actual:g}%　{ind['status']}", weight="bold"))
        else:  # no share: the reason, on a white ground so the target line does not run through it
            later.append(f'<rect x="{left}" y="{y + 1:.1f}" width="{_width(ind["status"]) + 8:.1f}" height="22" '
                         f'fill="#fff"/>')
            later.append(_text(left + 4, y + 17, ind["status"]))
        y += 30
        grid = _axis(left, span, bars_top - 2, y)
        body.insert(bars_start, "".join(grid))  # under the bars
        body.append(f'<line x1="{target_x:.1f}" y1="{bars_top - 2:.1f}" x2="{target_x:.1f}" y2="{y:.1f}" '
                    f'stroke="{INK}" stroke-width="2" stroke-dasharray="5 3"/>')
        body += later
        y += 34
    return _svg(width, y, body, "成果指標と目標", _HATCH)


def template_summary(template: Template) -> dict[str, Any]:
    return {"id": template.id, "title": template.title, "description": template.description,
            "questions": [{"id": q.id, "kind": q.kind, "text": q.text, "short": q.label, "choices": list(q.choices),
                           "required": q.required, "indicator": q.indicator.name if q.indicator else None}
                          for q in template.questions]}


# ---------------------------------------------------------------------------------------------- pulse trend
#
# Both indicators meeting by meeting (the pulses of a fiscal year), against the H29 baseline and the year's target,
# beside the yearly questionnaire's figure. Every share goes through the small-group rule: a pulse with fewer than
# MIN_GROUP answers (or an indicator question answered fewer than MIN_GROUP times) shows 「3件未満」, never a share.

FEW = f"{MIN_GROUP}件未満"


def _share(indicator: dict[str, Any] | None) -> tuple[float | None, str]:
    """(share, label) of an indicator result from compute(): the share only when at least MIN_GROUP answered."""
    if indicator is None or indicator["positive_percent"] is None or too_few(indicator["answered"]):
        return None, FEW
    return indicator["positive_percent"], f"{indicator['positive_percent']:g}%"


def _meeting_moment(survey: Survey, event: Event | None) -> dt.datetime:
    return event.starts_at if event is not None else survey.opens_at


def pulse_years(session: Session) -> list[int]:
    """The fiscal years that have pulses, newest first."""
    found = session.execute(select(Survey.opens_at, Event.starts_at).outerjoin(Event, Event.id == Survey.event_id)
                            .where(Survey.kind == "pulse")).all()
    return sorted({fiscal_year(start or opens) for opens, start in found}, reverse=True)


def pulse_trend(session: Session, year: int | None = None) -> dict[str, Any]:
    """Each indicator of the council template's pulse, meeting by meeting for the fiscal year (default: this
    one): the positive share of each pulse (or 「3件未満」), the baseline, the year's target (the latest target up
    to the year, said when it is not the year's own) and the figure of that year's yearly questionnaire."""
    year = fiscal_year(clock.now()) if year is None else year
    questions = [q for q in pulses.current_template().questions if q.indicator]
    rows = [(s, e) for s, e in session.execute(
        select(Survey, Event).outerjoin(Event, Event.id == Survey.event_id)
        .where(Survey.kind == "pulse", Survey.status.in_(("scheduled", "open", "closed"))))
        if fiscal_year(_meeting_moment(s, e)) == year]
    rows.sort(key=lambda row: (_meeting_moment(*row), row[0].id))
    meetings: list[dict[str, Any]] = []
    figures: dict[str, list[dict[str, Any]]] = {q.id: [] for q in questions}
    for survey, event in rows:
        data = compute(session, survey)
        by_question = {i["question"]: i for i in data["indicators"]}
        moment = _meeting_moment(survey, event)
        kind = Kind(event.kind).label if event is not None and event.kind in {k.value for k in Kind} else "会議"
        local = moment.astimezone(clock.JST)
        meetings.append({"survey_id": survey.id, "event_id": survey.event_id, "title": survey.title,
                         "meeting": event.title if event is not None else survey.title, "kind": kind,
                         "date": moment.isoformat(), "short_date": f"{local.month}/{local.day}",
                         "day_label": clock.format_jst(moment, False),
                         "status": survey.status, "answered": data["response_rate"]["answered"],
                         "audience": data["response_rate"]["audience"]})
        for q in questions:
            share, label = _share(by_question.get(q.id))
            figures[q.id].append({"survey_id": survey.id, "percent": share, "label": label})
    yearly = _yearly_questionnaire(session, year)
    yearly_data = compute(session, yearly) if yearly is not None else None
    indicators = []
    for q in questions:
        indicator = q.indicator
        assert indicator is not None
        key = target_key(indicator.targets, None, year)
        entry: dict[str, Any] = {
            "question": q.id, "name": indicator.name, "short": q.label,
            "baseline": {"year": indicator.baseline_year, "percent": indicator.baseline_percent},
            "target_year": key, "target": indicator.targets[key], "target_label": f"目標（{key}）",
            "target_note": None if year_of(key) == year else
            f"{fiscal_year_label(year)}の目標はないため、{key}の目標と比べています",
            "points": figures[q.id], "yearly": None}
        if yearly is not None and yearly_data is not None:
            found = next((i for i in yearly_data["indicators"] if i["question"] == q.id), None)
            share, label = _share(found)
            entry["yearly"] = {"survey_id": yearly.id, "title": yearly.title, "percent": share, "label": label,
                               "status": yearly.status}
        indicators.append(entry)
    return {"year": year, "year_label": fiscal_year_label(year), "meetings": meetings, "indicators": indicators,
            "min_group": MIN_GROUP}


def _yearly_questionnaire(session: Session, year: int) -> Survey | None:
    """The year's yearly council questionnaire (the latest opened one of that fiscal year), if any."""
    found = session.scalars(
        select(Survey).join(SurveyTemplateVersion, SurveyTemplateVersion.id == Survey.template_version_id)
        .where(Survey.kind == "survey", SurveyTemplateVersion.template_key == pulses.PULSE_TEMPLATE,
               Survey.opened_at.is_not(None)).order_by(Survey.opens_at.desc(), Survey.id.desc()))
    return next((s for s in found if survey_year(s) == year), None)


_HALO = ' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'


def _halo(x: float, y: float, text: str, size: float, anchor: str = "middle", weight: str = "normal") -> str:
    """A value on a white halo, so a line running behind it never makes it unreadable."""
    return _text(x, y, text, size, anchor, weight).replace("<text ", f"<text{_HALO} ", 1)


def trend_chart(trend: dict[str, Any], index: int, titled: bool = True) -> str:
    """One indicator, meeting by meeting: the pulses' positive shares as a solid line with dots (values above
    them; 「3件未満」 where a pulse has fewer answers, and the line breaks there), the target as a dashed line and the
    baseline as a dotted one (each named at its right end), and the yearly questionnaire's figure as a solid bar
    of its own. Dates and kinds stand under the meetings. Dots, dashes, the bar and words carry the meaning in
    black and white, as in indicators_chart."""
    ind = trend["indicators"][index]
    meetings = trend["meetings"]
    width, left, plot_h = 760, 56, 220
    plot_right = 525
    year_x = plot_right + 44
    label_x = plot_right + 88
    body: list[str] = []
    y = 8.0
    if titled:
        name = wrap(ind["name"], width - 24, FONT, 2)
        body.append(_lines(12, y + FONT, name, weight="bold"))
        y += FONT * 1.3 * len(name) + 8
    # the legend
    x = 12.0
    legend = [("dots", "会議ごとのふりかえり"), ("bar", f"年次アンケート（{trend['year_label']}）"),
              ("dash", ind["target_label"]), ("dot", f"基準値（{ind['baseline']['year']}）")]
    for mark, words in legend:
        if x + 32 + _width(words, 14) > width - 12:  # a new row of the legend
            x, y = 12.0, y + 24
        middle = y + 9
        if mark == "dots":
            body.append(f'<line x1="{x:.1f}" y1="{middle:.1f}" x2="{x + 26:.1f}" y2="{middle:.1f}" stroke="{BAR}" '
                        f'stroke-width="2.5"/><circle cx="{x + 13:.1f}" cy="{middle:.1f}" r="4.5" fill="{BAR}" '
                        f'stroke="{INK}"/>')
        elif mark == "bar":
            body.append(f'<rect x="{x + 6:.1f}" y="{y + 1:.1f}" width="14" height="16" fill="{BAR}" stroke="{INK}"/>')
        else:
            pattern = "5 3" if mark == "dash" else "2 3"
            body.append(f'<line x1="{x:.1f}" y1="{middle:.1f}" x2="{x + 26:.1f}" y2="{middle:.1f}" stroke="{INK}" '
                        f'stroke-width="2" stroke-dasharray="{pattern}"/>')
        body.append(_text(x + 32, y + 14, words, 14))
        x += 32 + _width(words, 14) + 18
    y += 34
    top, bottom = y + 8, y + 8 + plot_h

    def at(percent: float) -> float:
        return bottom - plot_h * percent / 100

    # the grid, its labels at the left
    for pct in (0, 25, 50, 75, 100):
        gy = at(pct)
        body.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{label_x - 8}" y2="{gy:.1f}" stroke="{GRID}" '
                    f'stroke-width="1"/>')
        body.append(_text(left - 8, gy + 4, f"{pct}%", 12, "end", fill=MUTED))
    body.append(f'<line x1="{plot_right + 12}" y1="{top - 4:.1f}" x2="{plot_right + 12}" y2="{bottom:.1f}" '
                f'stroke="{GRID}" stroke-width="1"/>')  # the yearly questionnaire stands apart from the meetings
    taken: list[tuple[float, float, float, float]] = []  # the boxes of the values placed so far
    rules = [at(ind["target"]), at(ind["baseline"]["percent"])]  # a value is kept off these lines where it can be

    def free(box: tuple[float, float, float, float], off_rules: bool = True) -> bool:
        if off_rules and any(box[1] - 1.5 < ry < box[3] + 1.5 for ry in rules):
            return False
        return all(box[2] + 2 <= b[0] or b[2] + 2 <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in taken)

    def value_at(px: float, py: float, label: str, later: list[str]) -> None:
        """The value above its dot (or bar), else below it or a little further; on a line only when nothing else
        is free (it has a white halo); left out when even that is taken (the table under the chart has it)."""
        half = _width(label, 13) / 2
        candidates = [py - 10, py + 21, py - 26, py + 37]
        for off_rules in (True, False):
            for ty in candidates:
                box = (px - half, ty - 11.5, px + half, ty + 2)
                if box[1] >= top - 4 and box[3] <= bottom + 4 and free(box, off_rules):
                    taken.append(box)
                    later.append(_halo(px, ty, label, 13, weight="bold"))
                    return

    # the yearly questionnaire's bar, under the lines
    yearly = ind.get("yearly")
    later: list[str] = []
    if yearly is not None and yearly["percent"] is not None:
        bar_top = at(yearly["percent"])
        if yearly["percent"]:
            body.append(f'<rect x="{year_x - 14}" y="{bar_top:.1f}" width="28" height="{bottom - bar_top:.1f}" '
                        f'fill="{BAR}" stroke="{INK}" stroke-width="1"/>')
        value_at(year_x, bar_top + 2, yearly["label"], later)
    elif yearly is not None:
        later.append(_halo(year_x, bottom - 24, "3件", 11))
        later.append(_halo(year_x, bottom - 8, "未満", 11))
    # the target (dashed) and the baseline (dotted), named at their right ends, kept apart when close
    base = ind["baseline"]
    lines = [(ind["target"], "5 3", f"{ind['target_label']} {ind['target']:g}%"),
             (base["percent"], "2 3", f"基準値（{base['year']}） {base['percent']:g}%")]
    lowest, highest = top + 10, bottom + 4  # where a label's baseline may stand
    label_ys = [min(max(at(value) + 5, lowest), highest) for value, _p, _w in lines]
    upper, lower = sorted((0, 1), key=lambda i: (label_ys[i], -lines[i][0]))
    if label_ys[lower] - label_ys[upper] < 18:  # close values: the labels are moved apart, the higher one above
        middle = (label_ys[0] + label_ys[1]) / 2
        label_ys[upper], label_ys[lower] = middle - 9, middle + 9
        if label_ys[upper] < lowest:
            label_ys[upper], label_ys[lower] = lowest, lowest + 18
        if label_ys[lower] > highest:
            label_ys[upper], label_ys[lower] = highest - 18, highest
    for (value, pattern, words), label_y in zip(lines, label_ys, strict=True):
        ly = at(value)
        body.append(f'<line x1="{left}" y1="{ly:.1f}" x2="{label_x - 8}" y2="{ly:.1f}" stroke="{INK}" '
                    f'stroke-width="2" stroke-dasharray="{pattern}"/>')
        body.append(_text(label_x, label_y, words, 14))
    # the meetings
    count = len(meetings)
    if not count:
        later.append(_halo((left + plot_right) / 2, (top + bottom) / 2, "この年度のふりかえりはまだありません", 14))
    step = (plot_right - left) / max(count, 1)
    every = max(1, -(-34 // int(step)) if step >= 1 else count)  # label every n-th meeting when they are many
    xs = [left + step * (i + 0.5) for i in range(count)]
    points = ind["points"]
    run: list[tuple[float, float]] = []
    for i, point in enumerate([*points, None]):  # a None at the end closes the last run of the line
        if point is not None and point["percent"] is not None:
            run.append((xs[i], at(point["percent"])))
            continue
        if len(run) > 1:
            body.append(f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in run)}" fill="none" '
                        f'stroke="{BAR}" stroke-width="2.5"/>')
        run = []
    for i, point in enumerate(points):
        box = (xs[i] - 11, bottom - 34, xs[i] + 11, bottom - 5)
        if point["percent"] is None and free(box, off_rules=False):  # too few answers: said in words
            later.append(_halo(xs[i], bottom - 24, "3件", 11))
            later.append(_halo(xs[i], bottom - 8, "未満", 11))
            taken.append(box)
    for i, point in enumerate(points):
        if point["percent"] is None:
            continue
        px, py = xs[i], at(point["percent"])
        body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{BAR}" stroke="{INK}" stroke-width="1"/>')
        value_at(px, py, point["label"], later)
    for i, meeting in enumerate(meetings):
        if i % every == 0:
            body.append(_text(xs[i], bottom + 18, meeting["short_date"], 12, "middle"))
            body.append(_text(xs[i], bottom + 33, meeting["kind"][:2], 12, "middle", fill=MUTED))
    body.append(_text(year_x, bottom + 18, "年次", 12, "middle"))
    body.append(_text(year_x, bottom + 33, "アンケート", 12, "middle", fill=MUTED))
    body += later
    return _svg(width, bottom + 44, body, f"{ind['name']}の推移")

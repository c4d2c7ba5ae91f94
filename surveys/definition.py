"""Survey templates are data: YAML files in surveys/templates/, loaded and validated here (no code per survey).

A template has questions of three kinds: ``single`` (one choice, e.g. a 4-point scale), ``multiple`` (several
choices) and ``text`` (typed). A question may be optional (``required: false``), carry ``help`` text, be shown only
``show_if`` an earlier single/multiple answer is among some choices, carry a ``short`` label for the summary and
the results, mark choices of a multiple question ``exclusive`` (「特にない」 stands alone), carry an outcome
``indicator`` (which answers count as positive, the baseline and the targets per year), and be marked ``pulse``:
the questions asked again, as a short anonymous pulse, after every meeting (pulse_template). Errors name the file,
line and field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
KINDS = ("single", "multiple", "text")
MAX_CHOICE_LABEL = 20  # a quick reply label on LINE
MAX_SHORT_LABEL = 20
MAX_CHOICES = 10  # leaves room for 戻る, 中断 and 決定 among LINE's 13 quick replies
TEXT_ANSWER_LIMIT = 2000


class TemplateError(ValueError):
    """A template file that cannot be used; the message says where and what."""


@dataclass(frozen=True)
class Indicator:
    name: str
    positive: tuple[str, ...]
    baseline_year: str
    baseline_percent: float
    targets: dict[str, float]


@dataclass(frozen=True)
class ShowIf:
    question: str
    any_of: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: str
    choices: tuple[str, ...] = ()
    required: bool = True
    help: str | None = None
    show_if: ShowIf | None = None
    indicator: Indicator | None = None
    short: str | None = None  # a few words for the summary and the results (「意見交換」), where text is long
    exclusive: tuple[str, ...] = ()  # choices of a multiple question that stand alone (「特にない」)
    pulse: bool = False  # asked again after every meeting, in the short pulse survey (surveys.pulse)

    @property
    def label(self) -> str:
        """What the summary calls the question: its short label, or its text cut."""
        if self.short:
            return self.short
        return self.text if len(self.text) <= 30 else self.text[:29] + "…"


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def index(self, question_id: str) -> int:
        return next(i for i, q in enumerate(self.questions) if q.id == question_id)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for question in data["questions"]:  # only where set: a template without pulse questions keeps its checksum
            if not question["pulse"]:
                del question["pulse"]
        return data

    def checksum(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def from_dict(data: dict[str, Any]) -> Template:
    """Rebuild a template stored in the database (see to_dict)."""
    questions = []
    for q in data["questions"]:
        indicator = q.get("indicator")
        show_if = q.get("show_if")
        questions.append(Question(
            id=q["id"], kind=q["kind"], text=q["text"], choices=tuple(q.get("choices") or ()),
            required=q.get("required", True), help=q.get("help"),
            show_if=ShowIf(show_if["question"], tuple(show_if["any_of"])) if show_if else None,
            indicator=Indicator(indicator["name"], tuple(indicator["positive"]), indicator["baseline_year"],
                                indicator["baseline_percent"], dict(indicator["targets"])) if indicator else None,
            short=q.get("short"), exclusive=tuple(q.get("exclusive") or ()), pulse=bool(q.get("pulse", False)),
        ))
    return Template(id=data["id"], title=data["title"], description=data.get("description", ""),
                    questions=tuple(questions))


PULSE_SUFFIX = "-pulse"
PULSE_TITLE = "会議のふりかえり"
PULSE_DESCRIPTION = "会議のあとの短いアンケートです。"


def pulse_template(template: Template) -> Template | None:
    """The template's pulse: only its questions marked ``pulse`` (None when it has none), stored as a template
    version of its own (key: the template's id + "-pulse"), so a pulse is answered like any survey."""
    questions = tuple(q for q in template.questions if q.pulse)
    if not questions:
        return None
    return Template(template.id + PULSE_SUFFIX, PULSE_TITLE, PULSE_DESCRIPTION, questions)


# ---------------------------------------------------------------------------------------------- loading YAML


class _Node:
    """A YAML node with its position, for error messages."""

    def __init__(self, source: str, node: yaml.Node) -> None:
        self.source = source
        self.node = node

    def fail(self, field_name: str, message: str) -> TemplateError:
        return TemplateError(f"{self.source}:{self.node.start_mark.line + 1}: {field_name}: {message}")

    def mapping(self, field_name: str) -> dict[str, _Node]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail(field_name, "must be a mapping (key: value)")
        out: dict[str, _Node] = {}
        for key, value in self.node.value:
            if key.value in out:
                raise _Node(self.source, key).fail(f"{field_name}.{key.value}", "appears twice")
            out[str(key.value)] = _Node(self.source, value)
        return out

    def sequence(self, field_name: str) -> list[_Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.fail(field_name, "must be a list")
        return [_Node(self.source, n) for n in self.node.value]

    def text(self, field_name: str, max_length: int = 1000) -> str:
        if not isinstance(self.node, yaml.ScalarNode) or not str(self.node.value).strip():
            raise self.fail(field_name, "must be a non-empty text")
        value = str(self.node.value).strip()
        if len(value) > max_length:
            raise self.fail(field_name, f"is longer than {max_length} characters")
        return value

    def boolean(self, field_name: str) -> bool:
        value = str(getattr(self.node, "value", "")).lower()
        if value not in ("true", "false"):
            raise self.fail(field_name, "must be true or false")
        return value == "true"

    def number(self, field_name: str) -> float:
        try:
            value = float(str(self.node.value))
        except (TypeError, ValueError):
            raise self.fail(field_name, "must be a number") from None
        if not 0 <= value <= 100:
            raise self.fail(field_name, "must be a percentage from 0 to 100")
        return value


def _allowed(node: _Node, fields: dict[str, _Node], allowed: set[str], where: str) -> None:
    for name in fields:
        if name not in allowed:
            raise fields[name].fail(f"{where}.{name}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _required(node: _Node, fields: dict[str, _Node], name: str, where: str) -> _Node:
    if name not in fields:
        raise node.fail(where, f"'{name}' is missing")
    return fields[name]


def parse(text: str, source: str = "<template>") -> Template:
    """Parse and validate one template; TemplateError names the line and field of the first problem."""
    try:
        root_node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        raise TemplateError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root_node is None:
        raise TemplateError(f"{source}:1: the file is empty")
    root = _Node(source, root_node)
    top = root.mapping("template")
    _allowed(root, top, {"id", "title", "description", "questions"}, "template")
    template_id = _required(root, top, "id", "template").text("id", 60)
    title = _required(root, top, "title", "template").text("title", 40)
    description = top["description"].text("description") if "description" in top else ""
    question_nodes = _required(root, top, "questions", "template").sequence("questions")
    if not question_nodes:
        raise top["questions"].fail("questions", "must have at least one question")
    questions: list[Question] = []
    for i, qnode in enumerate(question_nodes):
        questions.append(_question(qnode, i, questions))
    return Template(template_id, title, description, tuple(questions))


def _question(node: _Node, index: int, earlier: list[Question]) -> Question:
    where = f"questions[{index}]"
    fields = node.mapping(where)
    _allowed(node, fields, {"id", "kind", "text", "short", "choices", "exclusive", "required", "help", "show_if",
                            "indicator", "pulse"}, where)
    qid = _required(node, fields, "id", where).text(f"{where}.id", 40)
    if any(q.id == qid for q in earlier):
        raise fields["id"].fail(f"{where}.id", f"'{qid}' is used by an earlier question")
    kind = _required(node, fields, "kind", where).text(f"{where}.kind")
    if kind not in KINDS:
        raise fields["kind"].fail(f"{where}.kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    text = _required(node, fields, "text", where).text(f"{where}.text", 400)
    choices: tuple[str, ...] = ()
    if kind in ("single", "multiple"):
        choice_nodes = _required(node, fields, "choices", where).sequence(f"{where}.choices")
        if not 2 <= len(choice_nodes) <= MAX_CHOICES:
            raise fields["choices"].fail(f"{where}.choices", f"needs 2 to {MAX_CHOICES} choices")
        choices = tuple(c.text(f"{where}.choices", MAX_CHOICE_LABEL) for c in choice_nodes)
        if len(set(choices)) != len(choices):
            raise fields["choices"].fail(f"{where}.choices", "a choice appears twice")
    elif "choices" in fields:
        raise fields["choices"].fail(f"{where}.choices", "a text question has no choices")
    required = fields["required"].boolean(f"{where}.required") if "required" in fields else True
    help_text = fields["help"].text(f"{where}.help", 200) if "help" in fields else None
    show_if = _show_if(fields["show_if"], where, earlier) if "show_if" in fields else None
    indicator = _indicator(fields["indicator"], where, kind, choices) if "indicator" in fields else None
    short = fields["short"].text(f"{where}.short", MAX_SHORT_LABEL) if "short" in fields else None
    exclusive: tuple[str, ...] = ()
    if "exclusive" in fields:
        if kind != "multiple":
            raise fields["exclusive"].fail(f"{where}.exclusive",
                                           "only a multiple choice question has exclusive choices")
        exclusive = tuple(c.text(f"{where}.exclusive") for c in fields["exclusive"].sequence(f"{where}.exclusive"))
        for value in exclusive:
            if value not in choices:
                raise fields["exclusive"].fail(f"{where}.exclusive", f"'{value}' is not a choice of this question")
    pulse = fields["pulse"].boolean(f"{where}.pulse") if "pulse" in fields else False
    if pulse and show_if is not None:
        target = next(q for q in earlier if q.id == show_if.question)
        if not target.pulse:
            raise fields["pulse"].fail(f"{where}.pulse", f"is shown only after '{target.id}', which is not in the "
                                                         "pulse (mark it pulse: true too)")
    return Question(qid, kind, text, choices, required, help_text, show_if, indicator, short, exclusive, pulse)


def _show_if(node: _Node, where: str, earlier: list[Question]) -> ShowIf:
    fields = node.mapping(f"{where}.show_if")
    _allowed(node, fields, {"question", "in"}, f"{where}.show_if")
    target_id = _required(node, fields, "question", f"{where}.show_if").text(f"{where}.show_if.question")
    target = next((q for q in earlier if q.id == target_id), None)
    if target is None or target.kind == "text":
        raise fields["question"].fail(f"{where}.show_if.question",
                                      f"'{target_id}' is not an earlier single or multiple choice question")
    values = tuple(v.text(f"{where}.show_if.in") for v in _required(node, fields, "in", where).sequence(
        f"{where}.show_if.in"))
    for value in values:
        if value not in target.choices:
            raise fields["in"].fail(f"{where}.show_if.in", f"'{value}' is not a choice of '{target_id}'")
    return ShowIf(target_id, values)


def _indicator(node: _Node, where: str, kind: str, choices: tuple[str, ...]) -> Indicator:
    at = f"{where}.indicator"
    if kind != "single":
        raise node.fail(at, "only a single choice question can carry an indicator")
    fields = node.mapping(at)
    _allowed(node, fields, {"name", "positive", "baseline", "targets"}, at)
    name = _required(node, fields, "name", at).text(f"{at}.name", 100)
    positive = tuple(p.text(f"{at}.positive") for p in _required(node, fields, "positive", at).sequence(
        f"{at}.positive"))
    for value in positive:
        if value not in choices:
            raise fields["positive"].fail(f"{at}.positive", f"'{value}' is not a choice of this question")
    baseline = _required(node, fields, "baseline", at).mapping(f"{at}.baseline")
    year = _required(fields["baseline"], baseline, "year", f"{at}.baseline").text(f"{at}.baseline.year", 10)
    percent = _required(fields["baseline"], baseline, "percent", f"{at}.baseline").number(f"{at}.baseline.percent")
    targets = {k: v.number(f"{at}.targets.{k}")
               for k, v in _required(node, fields, "targets", at).mapping(f"{at}.targets").items()}
    if not targets:
        raise fields["targets"].fail(f"{at}.targets", "needs at least one year")
    return Indicator(name, positive, year, percent, targets)


def load_file(path: Path) -> Template:
    return parse(path.read_text(encoding="utf-8"), source=path.name)


def load_all(directory: Path = TEMPLATE_DIR) -> dict[str, Template]:
    """Every template in the folder, by id; a bad file or a duplicate id raises TemplateError."""
    templates: dict[str, Template] = {}
    for path in sorted(directory.glob("*.yaml")):
        template = load_file(path)
        if template.id in templates:
            raise TemplateError(f"{path.name}:1: id: '{template.id}' is used by another template")
        templates[template.id] = template
    return templates

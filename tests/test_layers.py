"""The floor plan holds: imports go down the layers (or stay on their floor), never up; only the gateway talks to
LINE's SDK; only the outbox and the gateway write deliveries; conversation states are declared; tests share
helpers through tests/helpers.py only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top to bottom: a module may import from its own layer and the layers below it.
LAYERS = [
    ("wiring and development clients", {"main", "runtime", "demo", "simulator"}),
    ("clients", {"api", "console", "handlers"}),
    ("domains", {"members", "events", "surveys", "opinions", "broadcasts", "staff", "richmenu"}),
    ("the LINE layer", {"bot"}),
    ("storage", {"db"}),
    ("settings", {"config"}),
]
LEVEL = {package: level for level, (_name, packages) in enumerate(LAYERS) for package in packages}
SDK_ALLOWED = {"bot/gateway.py"}
DELIVERY_WRITERS = {"bot/outbox.py", "bot/gateway.py"}


def app_modules() -> list[Path]:
    skip = {"tests", "bench", ".venv", ".ci", "var", "test-artifacts"}
    return sorted(p for p in ROOT.rglob("*.py")
                  if p.relative_to(ROOT).parts[0] not in skip and "versions" not in p.relative_to(ROOT).parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import, at the top or inside a function, under TYPE_CHECKING too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_layers_are_all_accounted_for() -> None:
    """Every top-level package or module of the app has a layer, so a new one cannot slip past the rule."""
    tops = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in app_modules()}
    assert tops - set(LEVEL) == set(), "add these to LAYERS"


def test_no_import_runs_up_the_layers() -> None:
    upward = []
    for path in app_modules():
        where = path.relative_to(ROOT)
        level = LEVEL[where.parts[0].removesuffix(".py")]
        for line, module in imports(path):
            target = LEVEL.get(module.split(".")[0])
            if target is not None and target < level:
                upward.append(f"{where}:{line} imports {module} ({LAYERS[target][0]} is above "
                              f"{LAYERS[level][0]})")
    assert upward == []


def test_only_the_gateway_imports_the_line_sdk() -> None:
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in app_modules()
             for line, module in imports(path)
             if module.split(".")[0] == "linebot" and str(path.relative_to(ROOT)) not in SDK_ALLOWED]
    assert found == []


@pytest.mark.parametrize("package", ["surveys", "events", "members", "opinions", "broadcasts", "staff"])
def test_a_domain_does_not_load_the_line_sdk_by_import(package: str) -> None:
    """Importing a domain (here in a clean interpreter) loads neither line-bot-sdk nor the gateway."""
    import subprocess
    import sys

    code = (f"import sys, {package}.service; "
            "print(sorted(m for m in sys.modules if m.startswith('linebot') or m == 'bot.gateway'))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_only_the_outbox_and_the_gateway_write_deliveries() -> None:
    """Delivery rows are made and changed by bot/outbox.py (and their outcomes by bot/gateway.py) alone."""
    writers = []
    for path in app_modules():
        where = str(path.relative_to(ROOT))
        if where in DELIVERY_WRITERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            on_deliveries = any(isinstance(a, ast.Name) and a.id == "Delivery" for a in node.args)
            if name == "Delivery" or (name in ("insert", "update", "delete") and on_deliveries):
                writers.append(f"{where}:{node.lineno}")
    assert writers == []


def _called(call: ast.Call) -> str:
    """The name a call calls: f(...) and module.f(...) both give "f"."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def test_conversation_states_are_declared_not_typed_as_strings() -> None:
    """Handlers set states from their domain's StrEnum, never from a bare string."""
    bare = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _called(node) in ("set_state", "in_state"):
                bare += [f"{path.name}:{node.lineno}" for a in node.args
                         if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    assert bare == []


def test_the_domains_conversation_states_do_not_collide() -> None:
    from handlers.opinions import OpinionState
    from handlers.survey import SurveyState

    values = [state.value for group in (OpinionState, SurveyState) for state in group]
    assert len(values) == len(set(values))


def test_test_modules_share_helpers_through_tests_helpers_only() -> None:
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for line, module in imports(path):
            if module.startswith("tests.") and module not in ("tests.helpers",) \
                    and not module.startswith("tests.fakeline"):
                found.append(f"{path.name}:{line} imports {module}")
    assert found == []

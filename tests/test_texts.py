"""The text catalogues: every key the code uses exists, English covers everything residents see, and no
Japanese sentence is hard-coded in what builds users' messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import texts
from tests.fakeline.server import FakeLine
from tests.helpers import Bot, Phone, actions, new_user_id
from tests.helpers import texts as shown_text

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for folder in ("bot", "handlers", "events", "surveys", "members", "opinions", "api", "richmenu")
        for p in (ROOT / folder).rglob("*.py") if p.name != "texts.py"]
# Council business stays in Japanese: members' surveys, linking, meetings, 事前意見.
JAPANESE_ONLY = ("survey.", "link.", "meeting.", "opinion.pre_meeting.")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
PUNCTUATION = set("・、。→…（）「」　〜")


def keys_in_code() -> tuple[set[str], set[str], set[str]]:
    """Keys passed to t()/ctx.t() as literals, the prefixes of keys built with f-strings, and every string
    constant in the code (a key chosen first and passed to t() later)."""
    literal, prefixes, constants = set(), set(), set()
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                prefixes.add(str(node.values[0].value))  # f"opinion.cat.{i}": keys chosen by a number
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name != "t":
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal.add(arg.value)
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                prefixes.add(str(arg.values[0].value))
    return literal, prefixes, constants


def test_every_key_used_exists_and_every_key_is_used() -> None:
    literal, prefixes, constants = keys_in_code()
    assert literal - set(texts.JA) == set()
    unused = {k for k in texts.JA if k not in constants and not any(k.startswith(p) for p in prefixes)}
    assert unused == set()


def test_english_has_every_key_residents_see() -> None:
    missing = {k for k in texts.JA if k not in texts.EN and not k.startswith(JAPANESE_ONLY)}
    assert missing == set()
    assert set(texts.EN) <= set(texts.JA)
    for key, value in texts.EN.items():  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", value)) == set(re.findall(r"{(\w+)}", texts.JA[key])), key


def _japanese_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and JAPANESE.search(node.value)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Expr) or set(node.value) <= PUNCTUATION:
            continue  # a docstring, or punctuation
        if isinstance(parent, ast.Call) and getattr(parent.func, "id", "") in ("text_is", "typed"):
            continue  # words users type, not words they read
        if isinstance(parent, ast.Tuple) and isinstance(parents.get(parent), ast.Compare):
            continue  # likewise: `ctx.text in ("やめる", ...)`
        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_no_japanese_sentence_is_hard_coded_in_handlers_or_message_builders() -> None:
    files = [*(ROOT / "handlers").glob("*.py"), ROOT / "bot/messages.py", ROOT / "events/messages.py",
             ROOT / "surveys/messages.py"]
    assert [hit for path in files for hit in _japanese_literals(path)] == []


def test_language_follows_the_profile_and_can_be_switched(bot: Bot, line: FakeLine) -> None:
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "Emma", "language": "en-US"}
    phone = Phone(bot, line, user_id)
    assert "thank you for adding us" in shown_text(phone.follow())
    help_text = phone.say("help")
    assert "What you can do here" in shown_text(help_text) and "日本語" in [a["label"] for a in actions(help_text)]
    assert "日本語でお答えします" in shown_text(phone.tap("日本語", help_text))
    assert "このアカウントでできること" in shown_text(phone.say("ヘルプ"))
    assert "I will answer in English" in shown_text(phone.say("English"))
    assert "Nothing found" in shown_text(phone.say("events today")) or "No events" in shown_text(
        phone.say("events today"))


def test_unknown_profile_language_means_english_and_japanese_stays_japanese(bot: Bot, line: FakeLine) -> None:
    for language, expected in (("zh-TW", "thank you"), ("ja", "ありがとうございます"), (None, "ありがとうございます")):
        user_id = new_user_id()
        line.profiles[user_id] = {"displayName": "X", **({"language": language} if language else {})}
        assert expected in shown_text(Phone(bot, line, user_id).follow())



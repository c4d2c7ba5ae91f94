"""Every text a LINE user reads, by key, one catalogue per language. Plain words: many readers are older."""

from __future__ import annotations

from typing import Any

JA: dict[str, str] = {
    "greeting": (
        "{name}友だち追加ありがとうございます。\n"
        "{ward}の区政会議と、区のイベントのお知らせをお届けします。\n"
        "下のボタンから えらんでください。"
    ),
    "greeting.name": "{name}さん、",
    "welcome_back": "{name}おかえりなさい。また お知らせをお届けします。",
    "help": (
        "このアカウントでできること\n"
        "・イベント … 区のイベントをさがします（例:「今週のイベント」「区民まつり」）\n"
        "・アンケート … 区政会議の委員の方は、アンケートに答えられます\n"
        "・ご意見 … 区へのご意見を送れます\n"
        "委員の方は、区役所からもらった「登録コード」を送ってください。"
    ),
    "not_understood": "すみません、わかりませんでした。\n下のボタンから えらぶか、「ヘルプ」と送ってください。",
    "sticker_thanks": "スタンプありがとうございます。\n下のボタンから えらんでください。",
    "unsupported_message": "すみません、文字だけ読むことができます。\n下のボタンから えらんでください。",
    "stale_button": "このボタンは もう使えません。\n下のボタンから もう一度えらんでください。",
    "error_try_later": "すみません、うまくいきませんでした。少し時間をおいて、もう一度おためしください。",
    "qr.events": "イベント",
    "qr.survey": "アンケート",
    "qr.opinion": "ご意見",
    "qr.help": "ヘルプ",
    "text_continued": "（つづき）",
}

EN: dict[str, str] = {
    "greeting": (
        "{name}thank you for adding us as a friend.\n"
        "We send news of {ward}'s events and of its ward council.\n"
        "Please choose from the buttons below."
    ),
    "greeting.name": "{name}, ",
    "welcome_back": "{name}welcome back. We will keep you posted.",
    "help": (
        "What you can do here\n"
        "- Events: find the ward's events (e.g. \"events this weekend\")\n"
        "- Opinion: send your opinion to the ward office\n"
        "Council members: please send the link code you received from the ward office."
    ),
    "not_understood": "Sorry, I did not understand.\nPlease choose a button below or send \"help\".",
    "sticker_thanks": "Thank you for the sticker!\nPlease choose a button below.",
    "unsupported_message": "Sorry, I can only read text.\nPlease choose a button below.",
    "stale_button": "This button can no longer be used.\nPlease choose again below.",
    "error_try_later": "Sorry, something went wrong. Please try again a little later.",
    "qr.events": "Events",
    "qr.survey": "Survey",
    "qr.opinion": "Opinion",
    "qr.help": "Help",
    "text_continued": "(continued)",
}

CATALOGUES: dict[str, dict[str, str]] = {"ja": JA, "en": EN}


def t(key: str, lang: str = "ja", /, **values: Any) -> str:
    """The text for key in lang (falling back to Japanese), with {placeholders} filled in."""
    catalogue = CATALOGUES.get(lang, JA)
    template = catalogue.get(key) or JA[key]
    return template.format(**values) if values else template


def language_of(profile_language: str | None) -> str:
    """LINE profile language to ours: Japanese for ja, English for everything else."""
    return "ja" if not profile_language or profile_language.lower().startswith("ja") else "en"

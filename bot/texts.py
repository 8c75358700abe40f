"""The project's texts, one file per purpose and language: model prompts in `prompts/` (installed
as the package `bot.prompts`), the messages users read in `bot/messages/`."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from babel import Locale

from bot.types import Lang

LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {"da": "Danish", "en": "English"},
    "da": {"da": "dansk", "en": "engelsk"},
}


def language_name(code: str, in_language: Lang) -> str:
    """What a language (ISO 639-1 code) is called in `in_language`: "German", "tysk"."""
    known = LANGUAGE_NAMES[in_language].get(code)
    return known or Locale.parse(in_language).languages.get(code, code)


@cache
def _read(package: str, name: str) -> str:
    return resources.files(package).joinpath(f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")


def prompt(name: str) -> str:
    """A model prompt, `prompts/<name>.txt` ({name} placeholders are filled by the caller)."""
    return _read("bot.prompts", name)


def prompt_in(name: str, lang: Lang, **values: object) -> str:
    """A model prompt in the question's language, `prompts/<name>.<lang>.txt`, filled in."""
    return prompt(f"{name}.{lang}").format(**values)


def message(name: str, lang: Lang) -> str:
    """A message for users as written, `bot/messages/<name>.<lang>.txt`."""
    return _read("bot.messages", f"{name}.{lang}")


def reply(name: str, lang: Lang, **values: object) -> str:
    """A message for users, filled in ({name} placeholders)."""
    return message(name, lang).format(**values)


def help_text(front_end: Literal["telegram", "slack", "terminal"], lang: Lang, articles: str) -> str:
    """What the bot knows and how to ask it, with the commands `front_end` has."""
    return reply("help", lang, articles=articles, commands=message(f"help_{front_end}", lang).strip())

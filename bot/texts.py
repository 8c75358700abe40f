"""The project's texts, one file per purpose and language: model prompts in `prompts/` (installed
as the package `bot.prompts`), the messages users read in `bot/messages/`."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

from babel import Locale

from bot.types import Lang

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode's control characters (Cc) but \t and \n
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # controls, and what a reader may take for a line end

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


def printable(text: str) -> str:
    """`text` without control characters (NUL bytes, terminal escapes), line breaks and tabs kept:
    what an article, or a question shown in a terminal, may hold once decoded."""
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """`text` with every control character and line separator written as its escape (`\\n`,
    `\\x1b`): what someone else's words may look like inside one log line."""
    return _LINE_BREAKING.sub(lambda match: repr(match.group())[1:-1], text)


def help_text(front_end: Literal["telegram", "slack", "terminal"], lang: Lang, articles: str) -> str:
    """What the bot knows and how to ask it, with the commands `front_end` has."""
    return reply("help", lang, articles=articles, commands=message(f"help_{front_end}", lang).strip())

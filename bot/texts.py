"""Prompt templates and reply texts from `prompts/`, one file per purpose and language.

The folder is installed as the package `bot.prompts` (see pyproject.toml), so it is
found the same way in an editable install and a wheel.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from bot.types import Lang

LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {"da": "Danish", "en": "English"},
    "da": {"da": "dansk", "en": "engelsk"},
}


@cache
def raw(name: str) -> str:
    """The text of `prompts/<name>.txt`, without its final newline."""
    path = resources.files("bot.prompts").joinpath(f"{name}.txt")
    return path.read_text(encoding="utf-8").rstrip("\n")


def reply(name: str, lang: Lang, **values: object) -> str:
    """A user-facing reply text, filled in ({name} placeholders, as in the prompt templates)."""
    return raw(f"{name}.{lang}").format(**values)

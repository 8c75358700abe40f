"""Prompt templates and reply texts from `prompts/`, one file per purpose and language.

The folder is installed as the package `bot.prompts` (see pyproject.toml), so it is
found the same way in an editable install and a wheel.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from langchain_core.prompts import PromptTemplate

from bot.types import Lang

LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {"da": "Danish", "en": "English"},
    "da": {"da": "dansk", "en": "engelsk"},
}


@lru_cache(maxsize=None)
def raw(name: str) -> str:
    """The text of `prompts/<name>.txt`, without its final newline."""
    path = resources.files("bot.prompts").joinpath(f"{name}.txt")
    return path.read_text(encoding="utf-8").rstrip("\n")


@lru_cache(maxsize=None)
def template(name: str, lang: Lang | None = None) -> PromptTemplate:
    """`prompts/<name>.<lang>.txt` (or `<name>.txt`) as a LangChain PromptTemplate."""
    return PromptTemplate.from_template(raw(f"{name}.{lang}" if lang else name))


def reply(name: str, lang: Lang, **values: object) -> str:
    """A user-facing reply text, filled in."""
    return template(name, lang).format(**values)

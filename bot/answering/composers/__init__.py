"""Answer composers, chosen by NEWSBOT_LLM: `extractive`, or a generator backend from `bot.generators`.

`auto` takes the local llama.cpp model when the `[local]` extra is installed, else `extractive`.
A generator that can't be loaded (missing file, bad checksum) is reported once and the bot
answers extractively rather than not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.answering.composers.base import Composer, Composition, OnText
from bot.answering.composers.extractive import ExtractiveComposer
from bot.answering.composers.generator import GeneratorComposer
from bot.config import Settings
from bot.errors import BackendUnavailable, ConfigError
from bot.generators import CHAT_MODELS, expected_backend

__all__ = [
    "Composer",
    "Composition",
    "ExtractiveComposer",
    "GeneratorComposer",
    "OnText",
    "available_composers",
    "load_composer",
]


def available_composers() -> list[str]:
    return ["extractive", *sorted(CHAT_MODELS)]


def load_composer(settings: Settings, notify: Callable[[str], None] = lambda message: None) -> Composer:
    """The composer NEWSBOT_LLM names; falls back to extractive (with a message) when a model can't load."""
    name = expected_backend(settings)
    if name == "extractive":
        return ExtractiveComposer()
    factory = CHAT_MODELS.get(name)
    if factory is None:
        raise ConfigError(f"Unknown NEWSBOT_LLM {settings.llm!r}. Available: auto, {', '.join(available_composers())}.")
    try:
        return GeneratorComposer(factory(settings, notify), name)
    except BackendUnavailable as exc:
        notify(f"{exc} Answering with quotes from the article instead (extractive).")
        return ExtractiveComposer()

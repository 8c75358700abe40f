"""Answer composers, chosen by NEWSBOT_LLM. A new backend is one module plus one line in `_COMPOSERS`.

Only `extractive` exists so far; generator backends (llama.cpp, OpenAI-compatible, Ollama)
plug in here as `Composer`s with `fluent = True`, and `Answerer.refine` verifies them.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.answering.composers.base import Composer, Composition
from bot.answering.composers.extractive import ExtractiveComposer
from bot.config import Settings
from bot.errors import ConfigError

__all__ = ["Composer", "Composition", "ExtractiveComposer", "load_composer", "available_composers"]

_COMPOSERS: dict[str, Callable[[Settings], Composer]] = {
    "extractive": lambda settings: ExtractiveComposer(),
}
_AUTO_ORDER = ["extractive"]  # best first; generators go in front as they are added


def available_composers() -> list[str]:
    return sorted(_COMPOSERS)


def load_composer(settings: Settings, notify: Callable[[str], None] = lambda message: None) -> Composer:
    """The composer NEWSBOT_LLM names; `auto` picks the best one available."""
    name = settings.llm.strip().lower()
    if name == "auto":
        return _COMPOSERS[_AUTO_ORDER[0]](settings)
    factory = _COMPOSERS.get(name)
    if factory is None:
        raise ConfigError(f"Unknown NEWSBOT_LLM {settings.llm!r}. Available: auto, {', '.join(available_composers())}.")
    return factory(settings)

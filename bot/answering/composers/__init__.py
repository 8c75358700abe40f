"""Answer composers, chosen by NEWSBOT_LLM. A new backend is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from bot.answering.composers.base import Composer, Composition
from bot.answering.composers.extractive import ExtractiveComposer
from bot.config import Settings
from bot.errors import BackendUnavailable, ConfigError

__all__ = ["Composer", "Composition", "ExtractiveComposer", "load_composer", "available_composers"]


def _llamacpp(settings: Settings) -> Composer:
    from bot.answering.composers.generative import GenerativeComposer
    from bot.answering.composers.llamacpp import load_llamacpp_chat_model

    return GenerativeComposer("llamacpp", load_llamacpp_chat_model(settings))


def _openai(settings: Settings) -> Composer:
    from bot.answering.composers.generative import GenerativeComposer
    from bot.answering.composers.remote import load_openai_chat_model

    return GenerativeComposer("openai", load_openai_chat_model(settings))


def _ollama(settings: Settings) -> Composer:
    from bot.answering.composers.generative import GenerativeComposer
    from bot.answering.composers.remote import load_ollama_chat_model

    return GenerativeComposer("ollama", load_ollama_chat_model(settings))


_COMPOSERS: dict[str, Callable[[Settings], Composer]] = {
    "extractive": lambda settings: ExtractiveComposer(),
    "llamacpp": _llamacpp,
    "openai": _openai,
    "ollama": _ollama,
}


def available_composers() -> list[str]:
    return sorted(_COMPOSERS)


def load_composer(settings: Settings, notify: Callable[[str], None] = lambda message: None) -> Composer:
    """The composer NEWSBOT_LLM names; `auto` picks the local generator when installed, else extractive."""
    name = settings.llm.strip().lower()
    if name == "auto":
        try:
            return _llamacpp(settings)
        except BackendUnavailable:
            return ExtractiveComposer()
    factory = _COMPOSERS.get(name)
    if factory is None:
        raise ConfigError(f"Unknown NEWSBOT_LLM {settings.llm!r}. Available: auto, {', '.join(available_composers())}.")
    try:
        return factory(settings)
    except BackendUnavailable as error:
        notify(f"{error} Answering extractively instead.")
        return ExtractiveComposer()

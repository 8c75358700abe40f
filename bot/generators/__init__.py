"""Chat models that write fluent answers, chosen by NEWSBOT_LLM; each is a LangChain `BaseChatModel`.

    llamacpp   a local GGUF file (NEWSBOT_LLM_MODEL, default: the embedded Qwen2.5 1.5B)
    openai     any OpenAI-compatible server (NEWSBOT_LLM_BASE_URL, NEWSBOT_LLM_MODEL, OPENAI_API_KEY)
    ollama     an Ollama server (NEWSBOT_LLM_BASE_URL, NEWSBOT_LLM_MODEL)

A new backend is one function here plus one line in `CHAT_MODELS`. A model that writes token by
token implements LangChain's `_stream` (`streams` tells); one that doesn't gives its whole reply
at once, and the bots show it when it is done.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.config import Settings
from bot.errors import ConfigError, missing_extra
from bot.generators.model_file import default_model_path, parts_installed

if TYPE_CHECKING:  # LangChain loads with the first chat model, not with this package
    from langchain_core.language_models import BaseChatModel

MAX_ANSWER_TOKENS = 160
Notify = Callable[[str], None]


def llamacpp(settings: Settings, notify: Notify) -> BaseChatModel:
    from bot.generators.llamacpp import ChatLlamaCpp

    path = (
        Path(settings.llm_model).expanduser() if settings.llm_model else default_model_path(settings.data_dir, notify)
    )
    return ChatLlamaCpp(model_path=path, max_tokens=MAX_ANSWER_TOKENS)


def _model_name(settings: Settings, example: str) -> str:
    """NEWSBOT_LLM_MODEL, which server backends can't do without."""
    if not settings.llm_model:
        raise ConfigError(f"NEWSBOT_LLM={settings.llm} needs NEWSBOT_LLM_MODEL, {example}.")
    return settings.llm_model


def openai(settings: Settings, notify: Notify) -> BaseChatModel:
    try:
        from bot.generators.openai_server import ChatOpenAIServer
    except ImportError as exc:
        raise missing_extra("langchain-openai", "openai") from exc
    return ChatOpenAIServer(
        model=_model_name(settings, "the model's name on the server"),
        base_url=settings.llm_base_url or None,
        api_key=SecretStr(settings.openai_api_key or "not-needed"),
        timeout=settings.llm_timeout,
        max_retries=1,
        temperature=0,
        max_completion_tokens=MAX_ANSWER_TOKENS,
    )


def ollama(settings: Settings, notify: Notify) -> BaseChatModel:
    try:
        from bot.generators.ollama_server import ChatOllamaServer
    except ImportError as exc:
        raise missing_extra("langchain-ollama", "ollama") from exc
    return ChatOllamaServer(
        model=_model_name(settings, "e.g. qwen2.5:1.5b"),
        base_url=settings.llm_base_url or None,
        temperature=0,
        num_predict=MAX_ANSWER_TOKENS,
        client_kwargs={"timeout": settings.llm_timeout},
    )


CHAT_MODELS: dict[str, Callable[[Settings, Notify], BaseChatModel]] = {
    "llamacpp": llamacpp,
    "openai": openai,
    "ollama": ollama,
}


def streams(model: BaseChatModel) -> bool:
    """Whether `model` writes its reply token by token (it implements LangChain's `_stream`)."""
    from langchain_core.language_models import BaseChatModel

    return type(model)._stream is not BaseChatModel._stream


def expected_backend(settings: Settings) -> str:
    """The composer NEWSBOT_LLM gives when its model loads, without loading anything."""
    name = settings.llm.strip().lower()
    if name != "auto":
        return name
    if importlib.util.find_spec("llama_cpp") is None:
        return "extractive"
    return (
        "llamacpp"
        if (Path(settings.llm_model).expanduser().is_file() if settings.llm_model else parts_installed())
        else "extractive"
    )

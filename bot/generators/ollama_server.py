"""LangChain's ChatOllama, with the Ollama client's failures mapped to the project's own errors."""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_ollama import ChatOllama
from ollama import ResponseError

from bot.errors import GenerationFailed


class ChatOllamaServer(ChatOllama):
    """A chat model on an Ollama server; a refused connection or an error reply is `GenerationFailed`."""

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        try:
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        except (ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise GenerationFailed(
                f"The Ollama server {self.base_url or ''} failed: {type(exc).__name__}: {exc}."
            ) from exc

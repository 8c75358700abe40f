"""LangChain's ChatOllama, with the Ollama client's failures mapped to the project's own errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_ollama import ChatOllama
from ollama import ResponseError

from bot.errors import GenerationFailed


@contextmanager
def _mapped_errors(server: str | None) -> Iterator[None]:
    """The Ollama client's failures (refused, an error reply) as the project's own."""
    try:
        yield
    except (ResponseError, httpx.HTTPError, ConnectionError) as exc:
        raise GenerationFailed(f"The Ollama server {server or ''} failed: {type(exc).__name__}: {exc}.") from exc


class ChatOllamaServer(ChatOllama):
    """A chat model on an Ollama server; a refused connection or an error reply is `GenerationFailed`."""

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with _mapped_errors(self.base_url):
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        with _mapped_errors(self.base_url):
            yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

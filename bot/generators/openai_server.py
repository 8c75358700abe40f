"""LangChain's ChatOpenAI, able to read quotes for the reading check as the local model does.

The reading check (`ReadingCheck`) wants the model's yes-minus-no margin, not one sampled word.
An OpenAI-compatible server gives it as the `top_logprobs` of the reply's first token (OpenAI,
vLLM, `python -m llama_cpp.server`). Log-probabilities share one normaliser, so their difference
is the difference of the logits: the same scale as the local model's margin, and the same
thresholds apply. A server that sends no log-probabilities can't be read; the gate's decision
stands and the bot keeps answering.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import openai
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from bot.errors import GenerationFailed, MarginUnavailable
from bot.generators.margins import NO_WORDS, YES_WORDS, YesNoMargins

TOP_LOGPROBS = 20  # OpenAI's maximum; "yes" and "no" are both among them unless the model is sure


def yes_no_margin(top_logprobs: Mapping[str, float]) -> float:
    """The best "yes" token's log-probability minus the best "no" token's. A word missing from the
    top list is at most as likely as the least likely token listed, which stands in for it."""
    if not top_logprobs:
        raise MarginUnavailable("the reply came without log-probabilities")
    floor = min(top_logprobs.values())

    def best(words: tuple[str, ...]) -> float:
        return max((p for token, p in top_logprobs.items() if token.strip() in words), default=floor)

    return best(YES_WORDS) - best(NO_WORDS)


@contextmanager
def _mapped_errors(server: str | None) -> Iterator[None]:
    """The OpenAI client's and HTTP failures (refused, timed out, an error status) as the project's own."""
    try:
        yield
    except (openai.APIError, httpx.HTTPError, ValueError) as exc:  # ValueError: a reply that is not JSON
        raise GenerationFailed(
            f"The model server {server or ''} failed: {type(exc).__name__}: {exc}.".replace("  ", " ")
        ) from exc


class ChatOpenAIServer(ChatOpenAI, YesNoMargins):
    """A chat model on an OpenAI-compatible server that also offers `yes_margin`."""

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with _mapped_errors(self.openai_api_base):
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        with _mapped_errors(self.openai_api_base):
            yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    def yes_margin(self, messages: list[BaseMessage]) -> float:
        reply = self.invoke(messages, logprobs=True, top_logprobs=TOP_LOGPROBS, max_tokens=1, temperature=0)
        content: list[dict[str, Any]] = (reply.response_metadata.get("logprobs") or {}).get("content") or []
        if not content:
            raise MarginUnavailable(
                f"{self.openai_api_base or 'The server'} sent no log-probabilities.",
                "The reading check is off; the gate decides alone.",
            )
        return yes_no_margin({entry["token"]: entry["logprob"] for entry in content[0].get("top_logprobs") or []})

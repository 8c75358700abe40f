"""LangChain's ChatOpenAI, able to read quotes for the reading check as the local model does.

The reading check (`ReadingCheck`) wants the model's yes-minus-no margin, not one sampled word.
An OpenAI-compatible server gives it as the `top_logprobs` of the reply's first token (OpenAI,
vLLM, `python -m llama_cpp.server`). Log-probabilities share one normaliser, so their difference
is the difference of the logits: the same scale as the local model's margin, and the same
thresholds apply. A server that sends no log-probabilities can't be read; the gate's decision
stands and the bot keeps answering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI

from bot.errors import MarginUnavailable
from bot.generators import NO_WORDS, YES_WORDS

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


class ChatOpenAIServer(ChatOpenAI):
    """A chat model on an OpenAI-compatible server that also offers `yes_margin`."""

    def yes_margin(self, messages: list[BaseMessage]) -> float:
        reply = self.invoke(messages, logprobs=True, top_logprobs=TOP_LOGPROBS, max_tokens=1, temperature=0)
        content: list[dict[str, Any]] = (reply.response_metadata.get("logprobs") or {}).get("content") or []
        if not content:
            raise MarginUnavailable(f"{self.openai_api_base or 'The server'} sent no log-probabilities.", "The reading check is off; the gate decides alone.")
        return yes_no_margin({entry["token"]: entry["logprob"] for entry in content[0].get("top_logprobs") or []})

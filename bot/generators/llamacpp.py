"""A LangChain chat model over llama-cpp-python, so a local GGUF file answers like any chat model.

LangChain's own ChatLlamaCpp lives in the sunset langchain-community package; this is the
small part of it we need: messages in, one completion out (whole, or token by token), greedy
and short, and a yes/no margin for the reading check. llama.cpp resumes from the longest prompt prefix it has already
evaluated — the previous prompt, or one of the recent prompt states it keeps — so a prompt that
starts with the same system message reuses that work; which is why system prompts come first
and never vary.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from bot.errors import BackendUnavailable, GenerationFailed, missing_extra
from bot.generators.margins import NO_WORDS, YES_WORDS, YesNoMargins

PROMPT_CACHE_BYTES = 128 << 20  # about ten prompt states of this model (~30 KB a token)
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def _chat(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def _prompt_states(base: type) -> type:
    """llama-cpp-python's RAM cache of prompt states, keeping what resuming needs (the KV cache and
    the tokens) but not the copy of the logits buffer each state carries (n_batch × vocabulary
    floats, 78 MB here, which greedy generation never reads back): with it, a Telegram bot grew
    to 8 GB, since the cache's capacity counts only the KV part."""

    class PromptStates(base):
        def __setitem__(self, key: Any, state: Any) -> None:
            state.scores = np.zeros((1, state.scores.shape[1]), dtype=np.single)
            super().__setitem__(key, state)

    return PromptStates


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """llama.cpp's failures on one request (a full context, a failed decode) as the project's own."""
    try:
        yield
    except (RuntimeError, ValueError) as exc:
        raise GenerationFailed(f"llama.cpp failed: {exc}.") from exc


class ChatLlamaCpp(BaseChatModel, YesNoMargins):
    """A GGUF model loaded once per process; calls are serialised (a llama.cpp context isn't thread-safe)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    n_ctx: int = 2048
    n_threads: int = max(1, os.cpu_count() or 1)
    n_batch: int = 128  # as fast as 512 on 2 cores (measured), and a quarter of the logits buffer
    max_tokens: int = 160
    temperature: float = 0.0

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        try:
            from llama_cpp import Llama, LlamaRAMCache
        except ImportError as exc:
            raise missing_extra("llama-cpp-python", "local") from exc
        if not self.model_path.is_file():
            raise BackendUnavailable(
                f"No model file at {self.model_path}.", hint="Set NEWSBOT_LLM_MODEL to a .gguf file."
            )
        try:
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_batch=self.n_batch,
                n_threads=self.n_threads,
                verbose=False,
            )
            # Answers and reading checks begin with different system prompts; keeping the states of
            # recent prompts lets each resume from its own prefix instead of evaluating it again.
            self._llama.set_cache(_prompt_states(LlamaRAMCache)(capacity_bytes=PROMPT_CACHE_BYTES))
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(f"llama.cpp could not load {self.model_path.name}: {exc}.") from exc

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": str(self.model_path), "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def yes_margin(self, messages: list[BaseMessage]) -> float:
        """How much likelier the reply is to start with "yes" than with "no", as a logit difference:
        a graded verdict that a threshold can be calibrated on, where one sampled word is all or nothing."""
        from llama_cpp import LogitsProcessorList

        yes, no = self._first_tokens(*YES_WORDS), self._first_tokens(*NO_WORDS)
        margins: list[float] = []

        def capture(_input_ids: Any, scores: Any) -> Any:
            margins.append(float(max(scores[i] for i in yes) - max(scores[i] for i in no)))
            return scores

        chat = _chat(messages)
        with self._lock, _mapped_errors():
            self._llama.create_chat_completion(
                messages=chat, temperature=0.0, max_tokens=1, logits_processor=LogitsProcessorList([capture])
            )
        return margins[0]

    def _first_tokens(self, *words: str) -> list[int]:
        return [self._llama.tokenize(word.encode(), add_bos=False)[0] for word in words]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = _chat(messages)
        with self._lock, _mapped_errors():
            result = self._llama.create_chat_completion(
                messages=chat,
                temperature=self.temperature,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                stop=stop,
            )
        choice = result["choices"][0]
        usage = result.get("usage", {})
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        return ChatResult(
            generations=[
                ChatGeneration(message=message, generation_info={"finish_reason": choice.get("finish_reason")})
            ]
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        chat = _chat(messages)
        with self._lock, _mapped_errors():
            parts = self._llama.create_chat_completion(
                messages=chat,
                temperature=self.temperature,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                stop=stop,
                stream=True,
            )
            for part in parts:
                text = part["choices"][0]["delta"].get("content") or ""
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk

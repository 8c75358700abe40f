"""The generator composer: a chat model writes one or two sentences from the numbered quotes.

The model sees only the best few sentences, never the whole article (measured: with the whole
article it answered from outside knowledge), and never decides whether to decline — the gate
did that already. The system prompt is the same for every question and comes first, so a local
model's prompt cache reuses it. What the model writes is verified by `Answerer.refine`; a model that writes token by token
(`bot.generators.streams`) shows its text as it comes through `on_text`, unchecked.
"""

from __future__ import annotations

import logging
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser

from bot.answering.composers.base import Composer, Composition, OnText
from bot.answering.prompting import prompt_for, prompt_values
from bot.errors import BackendUnavailable
from bot.generators import streams
from bot.texts import prompt_in
from bot.types import Citation, Lang

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 700  # two sentences; anything longer is rambling or garbage
_ECHO = re.compile(
    r"^\s*(?:sentences|sætninger|\[\d+\]\s*\S+(?:\s+\S+){6,}\s*\[\d+\])", re.IGNORECASE
)  # the prompt's list, parroted
ECHO_STOPS = ["\n[", "\nQuestion:", "\nSpørgsmål:"]  # a model parroting the prompt's list stops at its second line
_LEAD_IN = re.compile(r"^\s*(?:answer(?: in english)?|svar(?: på dansk)?)\s*:\s*", re.IGNORECASE)


def tidy(text: str) -> str:
    return " ".join(_LEAD_IN.sub("", text.strip().strip('"')).split())


class GeneratorComposer(Composer):
    """Any LangChain chat model as a composer; errors become a fallback, never a crash."""

    fluent = True

    def __init__(self, model: BaseChatModel, name: str) -> None:
        self.model = model
        self.name = name

    def condense(self, previous: str, question: str, language: Lang) -> str:
        """The follow-up `question` rewritten to stand alone, or "" when the model fails."""
        prompt = prompt_in("condense", language, previous=previous, question=question)
        try:
            text = tidy(StrOutputParser().invoke(self.model.invoke([HumanMessage(prompt)], stop=["\n"])))
        except BackendUnavailable as exc:
            log.warning("The %s generator could not condense a follow-up: %s", self.name, exc)
            return ""
        return text if 0 < len(text) <= 300 else ""

    def compose(
        self,
        question: str,
        language: Lang,
        citations: list[Citation],
        retry: tuple[str, str] | None = None,
        on_text: OnText | None = None,
    ) -> Composition:
        """`retry` is an earlier answer and what was wrong with it: asked again in the same
        conversation (the prompt cache keeps that cheap), the model usually fixes it."""
        messages = prompt_for(language).format_messages(**prompt_values(question, language, citations))
        if retry:
            messages += [AIMessage(retry[0]), HumanMessage(prompt_in("retry", language, problems=retry[1]))]
        try:
            text = tidy(self._write(messages, on_text))
        except BackendUnavailable as exc:  # a server down, a timeout, a malformed reply: every failure falls back
            log.warning("The %s generator failed: %s", self.name, exc)
            return Composition("", self.name, problem=f"the {self.name} generator failed ({type(exc).__name__}: {exc})")
        if not text:
            return Composition(
                "", self.name, problem=f"the {self.name} generator returned no usable answer (an empty one)"
            )
        if _ECHO.match(text):
            return Composition(
                text, self.name, problem="no usable answer: it repeats the sentences instead of answering"
            )
        if len(text) > MAX_ANSWER_CHARS:
            return Composition(text, self.name, problem="no usable answer: it is longer than two sentences")
        return Composition(text, self.name)

    def _write(self, messages: list[BaseMessage], on_text: OnText | None) -> str:
        """The model's reply; token by token to `on_text` when the model can and someone watches."""
        if on_text is None or not streams(self.model):
            return StrOutputParser().invoke(self.model.invoke(messages, stop=ECHO_STOPS))
        written = ""
        for chunk in self.model.stream(messages, stop=ECHO_STOPS):
            written += chunk.text
            if shown := tidy(written):
                on_text(shown)
        return written

    def warm_up(self) -> None:
        """One tiny completion behind the answers' own system prompt, so the model's weights are
        paged in and (llama.cpp) its prompt cache holds that prompt before the first question."""
        example = Citation(1, "Warm-up.", "warm-up", "newsbot", "", 0, 1.0, language="en")
        messages = prompt_for("en").format_messages(**prompt_values("Warm-up?", "en", [example]))
        self.model.invoke(messages, stop=[" ", "\n"])  # a word is enough; every backend takes stop words

"""The model's second opinions, both read as a yes-minus-no margin (`YesNoMargins`):

- `ReadingCheck`: do the quotes answer the question? Asked where the gate's decision rests on
  word likeness; it may turn a pass into a decline or the other way round.
- `ClaimJudge`: do the quotes state everything in the generated answer? Asked as a follow-up turn
  to the model's own answer, so llama.cpp's prompt cache makes it cheap.

A model that declares no margins is not asked to read the quotes; as a judge its reply's first
word counts as the margin's sign. A margin threshold (`Thresholds`) turns each into a decision.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser

from bot.answering.prompting import names_line, numbered, prompt_for, prompt_values
from bot.answering.thresholds import THRESHOLDS
from bot.errors import MarginUnavailable
from bot.generators.margins import YesNoMargins
from bot.texts import prompt
from bot.types import Citation, Lang


class ModelReader:
    """Asks the chat model a yes/no question and weighs its answer as a margin."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self.gives_margins = isinstance(model, YesNoMargins)

    def yes_margin(self, messages: list[BaseMessage]) -> float:
        """The model's margin; without one, +1 or -1 by the first word of its reply. A server that
        turns out to send no log-probabilities is asked for its reply from then on."""
        if isinstance(self.model, YesNoMargins) and self.gives_margins:
            try:
                return self.model.yes_margin(messages)
            except MarginUnavailable:
                self.gives_margins = False
                raise
        return self.reply_sign(messages)

    def reply_sign(self, messages: list[BaseMessage]) -> float:
        """+1 or -1 by the first word of the model's reply."""
        verdict = StrOutputParser().invoke(self.model.invoke(messages, stop=["\n", ".", ","]))
        return -1.0 if verdict.strip().lower().startswith(("no", "nej")) else 1.0


class ReadingCheck(ModelReader):
    """The generator reads the quotes and says whether they answer the question. The prompt is in
    English for both languages, as the small model follows English instructions best; foreign
    names come glossed, as for answers."""

    @property
    def available(self) -> bool:
        """Only a model with real margins reads: a sampled yes/no can't be calibrated."""
        return self.gives_margins

    def margin(self, question: str, language: Lang, citations: list[Citation]) -> float:
        user = prompt("reading_question").format(
            sentences=numbered(citations), names=names_line(citations, language), question=question
        )
        return self.yes_margin([SystemMessage(prompt("reading")), HumanMessage(user)])


class ClaimJudge(ModelReader):
    """Whether the quotes state everything in the model's own answer: a backstop for the verifier
    across languages, where word forms don't meet."""

    def supported(self, question: str, language: Lang, citations: list[Citation], answer: str) -> bool:
        messages = prompt_for(language).format_messages(**prompt_values(question, language, citations))
        messages += [AIMessage(answer), HumanMessage(prompt("judge"))]
        try:
            margin = self.yes_margin(messages)
        except MarginUnavailable:  # this server sends no log-probabilities: its reply decides
            margin = self.reply_sign(messages)
        return margin >= THRESHOLDS.claim_margin

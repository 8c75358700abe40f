"""The composer interface: turn the cited sentences into the answer text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from bot.types import Citation, Lang

OnText = Callable[[str], None]  # called with the text written so far, as a fluent composer writes


@dataclass(frozen=True)
class Composition:
    text: str
    backend: str
    problem: str = ""  # why a generator produced nothing usable


class Composer(ABC):
    """One way of writing an answer from citations. `fluent` composers may be slow and are verified."""

    name: str = "composer"
    fluent: bool = False

    @abstractmethod
    def compose(
        self,
        question: str,
        language: Lang,
        citations: list[Citation],
        retry: tuple[str, str] | None = None,
        on_text: OnText | None = None,
    ) -> Composition:
        """The answer text for an answerable question, citing `citations` as [n]; `retry` is an
        earlier attempt and why it was rejected (only fluent composers are ever asked again);
        `on_text` sees the text as it is written, unchecked, when the model writes token by token."""

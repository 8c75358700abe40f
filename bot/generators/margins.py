"""The capability a chat model declares when it can say how sure its yes/no is.

The reading check and the claim judge weigh a yes/no answer as a margin (the logit of "yes"
minus that of "no"), which a threshold can be calibrated on. A backend that can give one
inherits `YesNoMargins`; the readers check for it with `isinstance`, so a backend without it
is a plain chat model to them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from langchain_core.messages import BaseMessage

YES_WORDS, NO_WORDS = ("yes", "Yes"), ("no", "No")  # how a reply to a yes/no question begins


class YesNoMargins(ABC):
    """A chat model that can weigh "yes" against "no" as the first word of its reply."""

    @abstractmethod
    def yes_margin(self, messages: list[BaseMessage]) -> float:
        """How much likelier the reply is to start with "yes" than with "no", as a logit difference;
        raises `MarginUnavailable` when this model turns out not to give one."""

"""newsbot: grounded Danish/English answers about news articles, with citations.

The public names are imported on first use, so that `import bot.config` (and a cached
`newsbot brief`) doesn't pay for loading LangChain, faiss and the models.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Answer": "bot.types",
    "Answerer": "bot.answering.chain",
    "Citation": "bot.types",
    "NewsbotError": "bot.errors",
    "Question": "bot.answering.chain",
    "Settings": "bot.config",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bot' has no attribute {name!r}")

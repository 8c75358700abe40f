"""Every error newsbot raises on purpose, each with a message that says what to do.

    NewsbotError
    ├── ConfigError          a setting is missing or invalid
    ├── InputError           a question or article the user gave us is unusable
    ├── IndexCorrupt         the stored index can't be read (it is rebuilt)
    ├── IndexBusy            a running bot's updated index is still being written (it updates next time)
    └── BackendUnavailable   a model, package or server is missing or down
        ├── GenerationFailed   a loaded model or its server failed on one request
        ├── MarginUnavailable  the model can't say how sure its yes/no is (no log-probabilities)
        └── StoreInUse         another process has the vector store open (a Milvus Lite file)

Front ends catch `NewsbotError` and show `str(error)`; anything else is a bug
and is logged with its traceback.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: the message is meant for the user."""


class ConfigError(NewsbotError):
    """A setting is missing or has a value we can't use."""


class InputError(NewsbotError):
    """A question or an article can't be used as given."""


class IndexCorrupt(NewsbotError):
    """The index folder holds something we can't load."""


class IndexBusy(NewsbotError):
    """A running bot's last update is still being written; the next change waits for it."""


class BackendUnavailable(NewsbotError):
    """A model, optional package or server can't be reached; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} {hint}".strip())
        self.hint = hint


class GenerationFailed(BackendUnavailable):
    """A chat model failed on one request (a server down, a timeout, a malformed reply, llama.cpp
    failing to decode); each adapter maps its library's errors to this."""


class MarginUnavailable(BackendUnavailable):
    """The model answers, but without the log-probabilities the reading check weighs."""


class StoreInUse(BackendUnavailable):
    """Milvus Lite serves its file to one process at a time; a running bot may hold it."""


def missing_extra(package: str, extra: str) -> BackendUnavailable:
    """The error for an optional dependency that isn't installed."""
    return BackendUnavailable(
        f"The '{package}' package is not installed.",
        f"Install it with: pip install 'newsbot[{extra}]' (or pip install -e '.[{extra}]').",
    )

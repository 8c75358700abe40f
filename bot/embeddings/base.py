"""What newsbot needs of an embeddings backend beyond LangChain's interface."""

from __future__ import annotations

import contextlib
import os
import threading
from abc import abstractmethod
from collections.abc import Iterator

import numpy as np
from langchain_core.embeddings import Embeddings

BACKGROUND_NICENESS = 10
_thread = threading.local()


def embed_in_background() -> None:
    """A thread initializer: this thread's encodings (an index update) give way to any other
    thread's (a question), and it runs at a lower priority, so that on a small machine a question
    asked meanwhile is answered about as fast as on a quiet one. Linux sets priorities per thread,
    and the OpenMP workers the thread starts inherit its own."""
    _thread.background = True
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: same priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


class Turns:
    """One encoding at a time (a model need not be safe to call from two threads, and two at once
    only share the cores), a foreground one before any waiting background one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._busy = False
        self._foreground_waiting = 0

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        background = getattr(_thread, "background", False)
        with self._changed:
            self._foreground_waiting += not background
            while self._busy or (background and self._foreground_waiting):
                self._changed.wait()
            self._foreground_waiting -= not background
            self._busy = True
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()


class NewsbotEmbeddings(Embeddings):
    """LangChain `Embeddings` with a stable `model_id` (kept in the index manifest) and numpy batches.

    Subclasses implement `embed_passages` and `embed_questions`, calling their model a batch at a
    time, each call in a turn (`Turns`); vectors come back L2-normalised, so an inner product is a cosine similarity.
    """

    model_id: str
    dimension: int
    turns: Turns  # set by each backend's __init__: `with self.turns.turn():` around each model call

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Vectors for article text, shape (len(texts), dimension)."""

    @abstractmethod
    def embed_questions(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions (and other search queries)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_questions([text])[0].tolist()


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)

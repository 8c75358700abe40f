"""Any sentence-transformers model by name or local path (extra `[st]`); nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bot.embeddings.base import NewsbotEmbeddings, Turns, normalise
from bot.errors import BackendUnavailable, missing_extra


class SentenceTransformerEmbeddings(NewsbotEmbeddings):
    """Loads offline only: a model that isn't on disk (path or local cache) fails with a message."""

    batch_size = 32

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise missing_extra("sentence-transformers", "st") from error
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
            self._model = SentenceTransformer(name_or_path, device=device, local_files_only=True)
        except Exception as error:
            raise BackendUnavailable(
                f"Can't load sentence-transformers model {name_or_path!r} ({type(error).__name__}).",
                "Give a local model folder, or a name already in the Hugging Face cache; nothing is downloaded.",
            ) from error
        label = str(Path(name_or_path).resolve()) if Path(name_or_path).exists() else name_or_path
        self.turns = Turns()
        self.model_id = f"sentence-transformers:{label}"
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension() or 0)
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = prompts.get("query")
        self._passage_prompt = prompts.get("passage") or prompts.get("document")

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = range(0, len(texts), self.batch_size)
        return normalise(np.vstack([self._batch(texts[i : i + self.batch_size], prompt) for i in batches]))

    def _batch(self, texts: list[str], prompt: str | None) -> np.ndarray:
        with self.turns.turn():
            return self._model.encode(texts, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

"""What newsbot needs of an embeddings backend beyond LangChain's interface."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from langchain_core.embeddings import Embeddings


class NewsbotEmbeddings(Embeddings):
    """LangChain `Embeddings` with a stable `model_id` (kept in the index manifest) and numpy batches.

    Subclasses implement `embed_passages` and `embed_questions`; vectors come back
    L2-normalised, so an inner product is a cosine similarity.
    """

    model_id: str
    dimension: int

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

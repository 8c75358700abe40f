"""Where the index's vectors live: FAISS files under index/ (default) or a Milvus server.

NEWSBOT_VECTOR_STORE picks one. Both keep the same three stores (chunks, sentences, terms)
per generation; the manifest in index/ names the live generation and the backend, so a
change of backend rebuilds the index like a change of embedding model does.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.embeddings.base import NewsbotEmbeddings
from bot.errors import IndexCorrupt
from bot.files import sha256_of
from bot.store.faiss_store import FaissVectorStore

if TYPE_CHECKING:
    from bot.store.news_index import NewsIndex

STORES = ("chunks", "sentences", "terms")


def new_generation() -> str:
    return f"gen-{time.time_ns()}"


class StoreBackend(Protocol):
    name: str  # recorded in the manifest

    def create(self, embeddings: NewsbotEmbeddings, generation: str, store: str): ...
    def load(self, index_dir: Path, generation: str, store: str, embeddings: NewsbotEmbeddings): ...
    def persist(self, index: NewsIndex, index_dir: Path) -> str: ...
    def drop_except(self, index_dir: Path, live: str) -> None: ...
    def checksums(self, index_dir: Path, generation: str) -> dict[str, list]: ...


def file_checksum(path: Path) -> list:
    """[size, sha256] of a file, as the manifest records it."""
    return [path.stat().st_size, sha256_of(path)]


class FaissBackend:
    """Each commit writes a whole new generation folder; the manifest switch makes it live."""

    name = "faiss"

    def create(self, embeddings: NewsbotEmbeddings, generation: str, store: str) -> FaissVectorStore:
        return FaissVectorStore(embeddings, embeddings.dimension)

    def load(self, index_dir: Path, generation: str, store: str, embeddings: NewsbotEmbeddings) -> FaissVectorStore:
        return FaissVectorStore.load(index_dir / generation, store, embeddings)

    def persist(self, index: NewsIndex, index_dir: Path) -> str:
        generation = new_generation()
        try:
            for store in STORES:
                getattr(index, store).save(index_dir / generation, store)
        except BaseException:  # a full disk must not fill up with half generations
            shutil.rmtree(index_dir / generation, ignore_errors=True)
            raise
        return generation

    def drop_except(self, index_dir: Path, live: str) -> None:
        for old in index_dir.glob("gen-*"):
            if old.name != live:
                shutil.rmtree(old, ignore_errors=True)

    def checksums(self, index_dir: Path, generation: str) -> dict[str, list]:
        """Every file of the generation, so that a damaged one is found on load, not in an answer."""
        folder = index_dir / generation
        return {f"{generation}/{path.name}": file_checksum(path) for path in sorted(folder.iterdir())}


class MilvusBackend:
    """Collections `<prefix>_<generation>_<store>` on one Milvus; writes are durable in Milvus,
    so an update changes the live generation's collections in place and a rebuild makes new ones."""

    def __init__(self, uri: str, prefix: str = "newsbot") -> None:
        self.uri = uri
        self.prefix = prefix
        self.name = f"milvus:{uri}"

    def _collection(self, generation: str, store: str) -> str:
        return f"{self.prefix}_{generation.replace('-', '_')}_{store}"

    def create(self, embeddings: NewsbotEmbeddings, generation: str, store: str):
        from bot.store.milvus_store import MilvusStore

        return MilvusStore(embeddings, self.uri, self._collection(generation, store), create=True)

    def load(self, index_dir: Path, generation: str, store: str, embeddings: NewsbotEmbeddings):
        from bot.store.milvus_store import MilvusStore

        loaded = MilvusStore(embeddings, self.uri, self._collection(generation, store), create=False)
        if not loaded.client.has_collection(loaded.collection):
            raise IndexCorrupt(f"Milvus at {self.uri} has no collection {loaded.collection}.")
        return loaded

    def persist(self, index: NewsIndex, index_dir: Path) -> str:
        return index.generation

    def drop_except(self, index_dir: Path, live: str) -> None:
        from pymilvus import MilvusClient

        client = MilvusClient(uri=self.uri)
        keep = {self._collection(live, store) for store in STORES}
        try:
            for name in client.list_collections():
                if name.startswith(f"{self.prefix}_gen_") and name not in keep:
                    client.drop_collection(name)
        finally:
            client.close()

    def checksums(self, index_dir: Path, generation: str) -> dict[str, list]:
        return {}  # Milvus keeps its own data whole


def store_backend(kind: str, milvus_uri: str, index_dir: Path) -> StoreBackend:
    """The backend NEWSBOT_VECTOR_STORE names; Milvus defaults to Milvus Lite in index/milvus.db."""
    if kind == "milvus":
        return MilvusBackend(milvus_uri or str(index_dir / "milvus.db"))
    return FaissBackend()

"""A small LangChain `VectorStore` over faiss, persisted without pickle.

langchain-community's FAISS store pickles its docstore, and unpickling runs code
from the index folder. Here the faiss index is written with faiss itself and the
documents as JSON Lines (one document a line, so a store of hundreds of thousands is
written and read with the C JSON codec, a line at a time). Vectors are L2-normalised,
so scores are cosine similarities.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from bot.embeddings.base import NewsbotEmbeddings, normalise
from bot.errors import IndexCorrupt
from bot.files import write_atomically

APPROXIMATE_FROM = 200_000  # below this many vectors exact search is fast enough (see the README's scale table)
INTERNED_CHARS = 500  # metadata strings up to this long are shared between documents (titles, bylines, urls)
NPROBE = 32  # IVF lists searched per query: recall@10 0.95 (16) … 0.998 (64) at 1M synthetic chunks


def new_faiss_index(dimension: int, training: np.ndarray | None = None, approximate: bool | None = None) -> faiss.Index:
    """Exact inner-product search (flat) for small stores; IVF, trained on `training`, once the
    store is large. IVF rather than HNSW: on the synthetic 1M set HNSW (M 32, efSearch 256)
    found 0.29 of the true top 10 and took 150 s to build, IVF 0.95 after 48 s. `approximate`
    overrides the choice by size (the benchmark compares both at every size)."""
    if approximate is None:
        approximate = training is not None and len(training) >= APPROXIMATE_FROM
    if not approximate or training is None:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    lists = max(1, min(int(4 * np.sqrt(len(training))), len(training) // 39))  # faiss wants 39 points per list
    index = faiss.index_factory(dimension, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(len(training), min(len(training), 50 * lists), replace=False)
    index.train(training[np.sort(sample)])
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = NPROBE
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # reconstruct and remove by id
    return index


def matches(value: Any, wanted: Any) -> bool:
    """A metadata filter's test: equal to `wanted`, or one of them when it is a list or set."""
    return value in wanted if isinstance(wanted, list | set | frozenset | tuple) else value == wanted


def _one_thread_search(
    index: faiss.Index, query: np.ndarray, k: int, selector: faiss.IDSelector | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One query on one thread, over the ids `selector` lets through (all without one). FAISS's
    OpenMP workers keep spinning after a search and take the core the next e5 encoding needs
    (docs/evaluation.md, "The archive at size"); building and training keep every thread."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    params: faiss.SearchParameters | None = None
    if selector is not None:  # kept referenced here until the search is done
        ivf = faiss.try_extract_index_ivf(index)
        if ivf:  # the chosen vectors may lie in any list: visit them all (only the chosen are scored)
            params = faiss.SearchParametersIVF()
            params.nprobe = ivf.nlist
        else:
            params = faiss.SearchParameters()
        params.sel = selector
    try:
        return index.search(query, k, params=params)
    finally:
        faiss.omp_set_num_threads(threads)


def _shared(metadata: dict[str, Any]) -> dict[str, Any]:
    """A document's metadata with its keys and short string values interned: every document of
    an article repeats its title, source, date and byline, and each line read gets its own copy
    (a quarter of a 10,000-article index's memory, measured)."""
    return {
        sys.intern(key): sys.intern(value) if isinstance(value, str) and len(value) <= INTERNED_CHARS else value
        for key, value in metadata.items()
    }


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while documents are read: hundreds of thousands of new dicts
    trigger it again and again, and documents hold no cycles to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_index(index: faiss.Index, path: Path) -> None:
    """faiss's format, written through a Python file so that a failed write or close (a full disk,
    a quota) raises OSError: faiss's own file writer only prints a failed close, leaving the file
    cut off."""
    with open(path, "wb") as stream:
        faiss.write_index(index, faiss.PyCallbackIOWriter(stream.write))  # type: ignore[attr-defined]  # SWIG


class FaissVectorStore(VectorStore):
    """Documents with string ids, searched by cosine similarity; supports delete for incremental ingest."""

    def __init__(self, embedding: Embeddings, dimension: int, index: faiss.Index | None = None) -> None:
        self._embedding = embedding
        self.dimension = dimension
        self.index = index if index is not None else new_faiss_index(dimension)
        self._docs: dict[int, Document] = {}
        self._ids: dict[str, int] = {}
        self._of_article: dict[str, set[int]] = {}  # doc_id metadata -> numbers: filtered search, removal
        self._next = 0

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    def __len__(self) -> int:
        return len(self._docs)

    def close(self) -> None:
        """Nothing is held open: the store lives in memory."""

    # --- adding and removing -------------------------------------------------
    def add_vectors(self, vectors: np.ndarray, documents: Sequence[Document]) -> list[str]:
        """Add documents whose vectors are already computed (ids default to running numbers)."""
        vectors = normalise(vectors)
        if len(vectors) != len(documents):
            raise ValueError("one vector per document")
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, the store {self.dimension}")
        ids: list[str] = []
        numbers = np.arange(self._next, self._next + len(documents), dtype=np.int64)
        self._next += len(documents)
        for number, doc in zip(numbers, documents):
            doc_id = doc.id or str(number)
            if doc_id in self._ids:
                self.delete([doc_id])
            self._keep(int(number), Document(id=doc_id, page_content=doc.page_content, metadata=dict(doc.metadata)))
            ids.append(doc_id)
        if len(documents):
            self.index.add_with_ids(vectors, numbers)
            if len(self._docs) >= APPROXIMATE_FROM and not self.approximate:
                self._reindex()
        return ids

    def _keep(self, number: int, doc: Document) -> None:
        self._docs[number] = doc
        self._ids[str(doc.id)] = number
        if (article := doc.metadata.get("doc_id")) is not None:
            self._of_article.setdefault(str(article), set()).add(number)

    @property
    def approximate(self) -> bool:
        return faiss.try_extract_index_ivf(self.index) is not None

    def _reindex(self) -> None:
        """Rebuild the faiss index as the approximate kind, trained on the stored vectors."""
        keep = np.asarray(sorted(self._docs), dtype=np.int64)
        vectors = np.vstack([self.index.reconstruct(int(n)) for n in keep])
        self.index = new_faiss_index(self.dimension, training=vectors)
        self.index.add_with_ids(vectors, keep)

    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        texts = list(texts)
        metadatas = metadatas or [{} for _ in texts]
        documents = [
            Document(id=(ids[i] if ids else None), page_content=text, metadata=metadatas[i])
            for i, text in enumerate(texts)
        ]
        return self.add_documents(documents)

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        texts = [d.page_content for d in documents]
        if isinstance(self._embedding, NewsbotEmbeddings):
            vectors = self._embedding.embed_passages(texts)
        else:
            vectors = np.asarray(self._embedding.embed_documents(texts), dtype=np.float32)
        return self.add_vectors(vectors, documents)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if not ids:
            return False
        numbers = [self._ids.pop(i) for i in ids if i in self._ids]
        if numbers:
            self.index.remove_ids(np.asarray(numbers, dtype=np.int64))  # type: ignore[arg-type]  # faiss's SWIG wrapper takes arrays
        for number in numbers:
            doc = self._docs.pop(number, None)
            if doc is not None:
                same_article = self._of_article.get(str(doc.metadata.get("doc_id")), set())
                same_article.discard(number)
                if not same_article:
                    self._of_article.pop(str(doc.metadata.get("doc_id")), None)
        return bool(numbers)

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [self._docs[self._ids[i]] for i in ids if i in self._ids]

    def documents(self) -> list[Document]:
        """All stored documents, in insertion order."""
        return [self._docs[n] for n in sorted(self._docs)]

    def documents_of(self, doc_id: str) -> list[Document]:
        """The documents of one article, in insertion order."""
        return [self._docs[n] for n in sorted(self._of_article.get(doc_id, ()))]

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of the given ids."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self.index.reconstruct(self._ids[i]) for i in ids])

    # --- searching ------------------------------------------------------------
    def similarity_search_by_vector_with_score(
        self, vector: Sequence[float] | np.ndarray, k: int = 4, filter: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        if not self._docs:
            return []
        query = normalise(np.asarray(vector, dtype=np.float32))
        filter = dict(filter or {})
        selector = None
        if "doc_id" in filter:  # only these articles' vectors are searched
            wanted = filter.pop("doc_id")
            articles = wanted if isinstance(wanted, list | set | frozenset | tuple) else [wanted]
            chosen = [n for a in articles for n in self._of_article.get(str(a), ())]
            if not chosen:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(chosen, dtype=np.int64))
        # Another filter may leave only a few vectors: rank them all, then filter.
        fetch = k if not filter else len(self._docs)
        scores, numbers = _one_thread_search(self.index, query, min(fetch, len(self._docs)), selector)
        results: list[tuple[Document, float]] = []
        for score, number in zip(scores[0], numbers[0]):
            doc = self._docs.get(int(number))
            if doc is None:
                continue
            if filter and not all(matches(doc.metadata.get(key), wanted) for key, wanted in filter.items()):
                continue
            results.append((doc, float(score)))
            if len(results) == k:
                break
        return results

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_by_vector_with_score(self._embedding.embed_query(query), k, filter)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_by_vector_with_score(embedding, k, kwargs.get("filter"))]

    def _select_relevance_score_fn(self):  # cosine in [-1, 1] -> [0, 1]
        return lambda score: (score + 1.0) / 2.0

    @classmethod
    def from_texts(
        cls, texts: list[str], embedding: Embeddings, metadatas: list[dict] | None = None, **kwargs: Any
    ) -> FaissVectorStore:
        dimension = len(embedding.embed_query("dimension probe"))
        store = cls(embedding, dimension)
        store.add_texts(texts, metadatas, ids=kwargs.get("ids"))
        return store

    # --- persistence ----------------------------------------------------------
    def save(self, folder: Path, name: str) -> None:
        """Write `name.faiss` (faiss's own format) and `name.jsonl` (a header line, then one
        document a line), each atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{name}.faiss", lambda tmp: _write_index(self.index, tmp))
        write_atomically(folder / f"{name}.jsonl", self._write_documents)

    def _write_documents(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps({"dimension": self.dimension, "next": self._next, "documents": len(self._docs)}))
            for number in sorted(self._docs):
                doc = self._docs[number]
                record = {"n": number, "id": doc.id, "text": doc.page_content, "metadata": doc.metadata}
                out.write("\n" + json.dumps(record, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path, name: str, embedding: Embeddings) -> FaissVectorStore:
        """Read a store written by `save`; raises IndexCorrupt if anything doesn't fit."""
        try:
            index = faiss.read_index(str(folder / f"{name}.faiss"))
            with open(folder / f"{name}.jsonl", encoding="utf-8") as lines, _collector_paused():
                header = json.loads(next(lines))
                store = cls(embedding, int(header["dimension"]), index)
                for line in lines:
                    record = json.loads(line)
                    metadata = _shared(record["metadata"])
                    store._keep(
                        int(record["n"]), Document(id=record["id"], page_content=record["text"], metadata=metadata)
                    )
            store._next = int(header["next"])
            if len(store._docs) != int(header["documents"]):
                raise ValueError("a document line is missing")
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, StopIteration) as error:
            raise IndexCorrupt(f"The {name} store in {folder} can't be read ({type(error).__name__}).") from error
        if index.ntotal != len(store._docs) or index.d != store.dimension:
            raise IndexCorrupt(
                f"The {name} store in {folder} is inconsistent ({index.ntotal} vectors, {len(store._docs)} documents)."
            )
        return store

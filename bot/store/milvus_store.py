"""The Milvus store: the same small surface as `FaissVectorStore`, over langchain-milvus.

For an archive or traffic that outgrows one machine: every bot worker points NEWSBOT_MILVUS_URI
at one Milvus cluster (http://host:19530); with a file path it runs Milvus Lite in-process
(the `[milvus]` extra), which the tests use. Search goes through langchain-milvus's `Milvus`
vector store; ids, metadata and vectors are read back with its pymilvus client.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document

from bot.embeddings.base import NewsbotEmbeddings, normalise
from bot.errors import BackendUnavailable, StoreInUse, missing_extra

PAGE = 16_384  # Milvus's largest query page


def _is_lite(uri: str) -> bool:
    """A file path runs Milvus Lite in-process; a URL is a Milvus server."""
    return "://" not in uri


class _LiteUnimplemented(logging.Filter):
    """Milvus Lite's in-process server lacks calls pymilvus makes on the way (AllocTimestamp
    while an index is created) and pymilvus carries on without them; their tracebacks would
    reach the user's terminal as noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], NotImplementedError))


def _quiet_lite_server() -> None:
    server = logging.getLogger("grpc._server")
    if not any(isinstance(f, _LiteUnimplemented) for f in server.filters):
        server.addFilter(_LiteUnimplemented())


class MilvusStore:
    """One collection: documents with string ids, inner-product search over unit vectors."""

    def __init__(self, embeddings: NewsbotEmbeddings, uri: str, collection: str, *, create: bool) -> None:
        try:
            from langchain_milvus import Milvus
        except ImportError as error:
            raise missing_extra("langchain-milvus", "milvus") from error
        self.embeddings = embeddings
        self.dimension = embeddings.dimension
        self.collection = collection
        if _is_lite(uri):
            _quiet_lite_server()
        try:
            self.store = Milvus(
                embedding_function=embeddings,
                collection_name=collection,
                connection_args={"uri": uri},
                auto_id=False,
                primary_field="pk",
                text_field="text",
                vector_field="vector",
                index_params={"metric_type": "IP", "index_type": "FLAT"},
                search_params={"metric_type": "IP"},
                consistency_level="Strong",
                drop_old=create,
            )
        except Exception as error:  # pymilvus raises its own hierarchy; any of it means "not reachable"
            if _is_lite(uri) and "open local milvus failed" in str(error).lower():
                raise StoreInUse(
                    f"Milvus Lite can't open {uri}: another process has it open (a running bot?), and Milvus Lite "
                    "serves a file to one process at a time.",
                    "To share the index between processes, point NEWSBOT_MILVUS_URI at a Milvus server "
                    "(http://host:19530).",
                ) from error
            raise BackendUnavailable(
                f"Can't open Milvus at {uri} ({type(error).__name__}: {error}).", "Check NEWSBOT_MILVUS_URI."
            ) from error
        self.client = self.store.client

    def close(self) -> None:
        """Close the connection while Milvus Lite's in-process server still takes calls (before exit)."""
        self.client.close()

    def __len__(self) -> int:
        return self._count() if self.client.has_collection(self.collection) else 0

    # --- writing ----------------------------------------------------------------
    def add_vectors(self, vectors: np.ndarray, documents: Sequence[Document]) -> list[str]:
        if not len(documents):
            return []
        ids = [d.id or uuid.uuid4().hex for d in documents]  # unique across calls, as FAISS's running numbers
        self.delete([d.id for d in self.get_by_ids(ids) if d.id])
        metadatas = [
            {"doc_id": d.metadata.get("doc_id", ""), "meta": json.dumps(d.metadata, ensure_ascii=False)}
            for d in documents
        ]
        self.store.add_embeddings(
            texts=[d.page_content for d in documents],
            embeddings=normalise(vectors).tolist(),
            metadatas=metadatas,
            ids=ids,
        )
        return ids

    def add_documents(self, documents: list[Document]) -> list[str]:
        return self.add_vectors(self.embeddings.embed_passages([d.page_content for d in documents]), documents)

    def delete(self, ids: list[str] | None = None) -> bool:
        if not ids or not self.client.has_collection(self.collection):
            return False
        self.client.delete(self.collection, ids=list(ids))
        return True

    # --- reading ----------------------------------------------------------------
    def _query(self, filter: str, fields: list[str], at_most: int | None = None) -> list[dict[str, Any]]:
        """The rows matching `filter`. One query when they fit in a page (`at_most`, else counted
        first); pymilvus's query iterator only beyond that, as it asks Milvus Lite for a session
        timestamp it doesn't serve (a warning on every call)."""
        if not self.client.has_collection(self.collection):
            return []
        if at_most is None:
            at_most = self._count(filter)
        if at_most <= PAGE:
            return self.client.query(self.collection, filter=filter, output_fields=fields, limit=max(at_most, 1))
        rows: list[dict[str, Any]] = []
        iterator = self.client.query_iterator(self.collection, batch_size=PAGE, filter=filter, output_fields=fields)
        while batch := iterator.next():
            rows += batch
        iterator.close()
        return rows

    def _count(self, filter: str = "") -> int:
        return int(self.client.query(self.collection, filter=filter, output_fields=["count(*)"])[0]["count(*)"])

    @staticmethod
    def _document(row: dict[str, Any]) -> Document:
        return Document(id=row["pk"], page_content=row["text"], metadata=json.loads(row["meta"]))

    def get_by_ids(self, ids: Sequence[str]) -> list[Document]:
        if not ids:
            return []
        rows = {
            r["pk"]: r
            for r in self._query(
                f"pk in {json.dumps(list(ids), ensure_ascii=False)}", ["pk", "text", "meta"], at_most=len(set(ids))
            )
        }
        return [self._document(rows[i]) for i in ids if i in rows]

    def documents(self) -> list[Document]:
        return [self._document(r) for r in sorted(self._query("", ["pk", "text", "meta"]), key=lambda r: r["pk"])]

    def documents_of(self, doc_id: str) -> list[Document]:
        return [
            self._document(r)
            for r in self._query(f"doc_id == {json.dumps(doc_id, ensure_ascii=False)}", ["pk", "text", "meta"])
        ]

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = {
            r["pk"]: r["vector"]
            for r in self._query(
                f"pk in {json.dumps(list(ids), ensure_ascii=False)}", ["pk", "vector"], at_most=len(set(ids))
            )
        }
        return np.asarray([rows[i] for i in ids], dtype=np.float32)

    def similarity_search_by_vector_with_score(
        self, vector: Sequence[float] | np.ndarray, k: int = 4, filter: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        if not self.client.has_collection(self.collection):
            return []
        query = normalise(np.asarray(vector, dtype=np.float32))[0].tolist()
        expr = (
            " and ".join(
                f"{key} in {json.dumps(sorted(value), ensure_ascii=False)}"
                if isinstance(value, list | set | frozenset | tuple)
                else f"{key} == {json.dumps(value, ensure_ascii=False)}"
                for key, value in (filter or {}).items()
            )
            or None
        )
        hits = self.store.similarity_search_with_score_by_vector(query, k=k, expr=expr)
        return [
            (
                Document(id=d.metadata["pk"], page_content=d.page_content, metadata=json.loads(d.metadata["meta"])),
                float(s),
            )
            for d, s in hits
        ]

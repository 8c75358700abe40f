"""The persisted news index: paragraph chunks, sentences and the article vocabulary, kept in
step with the seeds folder.

Layout under the index folder:

    manifest.json        embedding model, dimension, vector store, a sha256 per seed, the live generation
    gen-<n>/             chunks / sentences / terms, each as <name>.faiss + <name>.json (FAISS)

A build writes a whole new generation (a folder, or Milvus collections; see `backends`) and
then replaces manifest.json in one rename, so a crash mid-build leaves the previous index
loadable. A corrupt or mismatched index is reported in one line and rebuilt.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from bot.documents import DEFAULT_DATE, MAX_ARTICLE_CHARS, Article, chunk_article, load_articles
from bot.embeddings.base import NewsbotEmbeddings
from bot.errors import IndexCorrupt, InputError
from bot.files import write_json_atomically
from bot.lang import content_terms
from bot.store.backends import STORES, FaissBackend, StoreBackend, new_generation

MANIFEST_VERSION = 4
Notify = Callable[[str], None]
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a call to `open_index` did, for the CLI's summary."""

    action: str = "loaded"  # loaded | built | updated
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0


class NewsIndex:
    """The three stores plus the articles' metadata; what retrieval searches."""

    def __init__(
        self, embeddings: NewsbotEmbeddings, chunks, sentences, terms, articles: dict[str, dict], generation: str
    ) -> None:
        self.embeddings = embeddings
        self.generation = generation
        self.chunks = chunks
        self.sentences = sentences
        self.terms = terms
        self.articles = articles  # doc_id -> {file, sha256, source, date, title}

    @classmethod
    def empty(cls, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> NewsIndex:
        generation = new_generation()
        chunks, sentences, terms = (backend.create(embeddings, generation, name) for name in STORES)
        return cls(embeddings, chunks, sentences, terms, articles={}, generation=generation)

    def add_article(self, article: Article) -> None:
        chunks, sentences = chunk_article(article)
        self.chunks.add_documents(chunks)
        self.sentences.add_documents(sentences)
        self._add_terms(chunks, article)
        self.articles[article.doc_id] = {
            "file": article.file_name,
            "sha256": article.content_hash,
            "source": article.source,
            "date": article.date,
            "title": article.title,
            "language": article.language,
        }

    def _add_terms(self, chunks: list[Document], article: Article) -> None:
        """Embed the article's new content words once, for cross-lingual term matching."""
        words: dict[str, str] = {}
        for chunk in chunks:
            for term in content_terms(chunk.page_content, "da"):
                if not term.is_number:
                    words.setdefault(term.lower, term.stem)
        known = {d.id for d in self.terms.get_by_ids(list(words))}
        new = [w for w in words if w not in known]
        if new:
            vectors = self.embeddings.embed_questions(new)
            self.terms.add_vectors(vectors, [Document(id=w, page_content=w, metadata={"stem": words[w]}) for w in new])

    def newest_first(self) -> list[tuple[str, dict]]:
        """The articles (doc_id, metadata), newest first; undated ones last."""
        return sorted(
            self.articles.items(), key=lambda kv: (kv[1]["date"] != DEFAULT_DATE, kv[1]["date"]), reverse=True
        )

    def remove_article(self, doc_id: str) -> None:
        for store in (self.chunks, self.sentences):
            store.delete([d.id for d in store.documents_of(doc_id)])
        self.articles.pop(doc_id, None)


def _read_manifest(index_dir: Path) -> dict | None:
    path = index_dir / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("version") != MANIFEST_VERSION:
            raise IndexCorrupt(
                f"The index in {index_dir} has format {manifest.get('version')}, not {MANIFEST_VERSION}."
            )
        return manifest
    except (OSError, ValueError, AttributeError) as error:
        raise IndexCorrupt(f"The index manifest {path} can't be read ({type(error).__name__}).") from error


def _load(index_dir: Path, manifest: dict, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> NewsIndex:
    generation = manifest["generation"]
    stores = [backend.load(index_dir, generation, name, embeddings) for name in STORES]
    if any(store.dimension != embeddings.dimension for store in stores):
        raise IndexCorrupt(f"The index in {index_dir} has vectors of another dimension.")
    chunks, sentences, terms = stores
    return NewsIndex(embeddings, chunks, sentences, terms, articles=manifest["articles"], generation=generation)


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One builder at a time (a Telegram worker and a CLI call may start together)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _commit(index_dir: Path, index: NewsIndex, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> None:
    """Persist the generation, then switch the manifest to it, then drop the old ones."""
    generation = backend.persist(index, index_dir)
    index.generation = generation
    write_json_atomically(
        index_dir / "manifest.json",
        {
            "version": MANIFEST_VERSION,
            "embedding_model": embeddings.model_id,
            "dimension": embeddings.dimension,
            "vector_store": backend.name,
            "generation": generation,
            "articles": index.articles,
            "counts": {name: len(getattr(index, name)) for name in STORES},
        },
    )
    backend.drop_except(index_dir, generation)


def open_index(
    seeds_dir: Path,
    index_dir: Path,
    embeddings: NewsbotEmbeddings,
    *,
    rebuild: bool = False,
    notify: Notify = lambda message: None,
    progress: Progress = lambda stage, done, total: None,
    backend: StoreBackend | None = None,
    max_article_chars: int = MAX_ARTICLE_CHARS,
) -> tuple[NewsIndex, BuildReport]:
    """The index for the seeds folder: loaded if current, updated if seeds changed, rebuilt if needed."""
    backend = backend or FaissBackend()
    started = time.perf_counter()
    articles = {a.doc_id: a for a in load_articles(seeds_dir, notify, max_article_chars)}
    report = BuildReport()
    with _build_lock(index_dir):
        index: NewsIndex | None = None
        if not rebuild:
            try:
                manifest = _read_manifest(index_dir)
                if manifest and manifest.get("embedding_model") != embeddings.model_id:
                    notify(
                        f"The index was built with {manifest.get('embedding_model')}, not {embeddings.model_id}; rebuilding it."
                    )
                elif manifest and manifest.get("vector_store") != backend.name:
                    notify(f"The index is stored in {manifest.get('vector_store')}, not {backend.name}; rebuilding it.")
                elif manifest:
                    index = _load(index_dir, manifest, embeddings, backend)
            except IndexCorrupt as error:
                notify(f"{error} Rebuilding it.")
        if index is None:
            index = NewsIndex.empty(embeddings, backend)
            report.action = "built"
        stale = [
            d for d, meta in index.articles.items() if d not in articles or meta["sha256"] != articles[d].content_hash
        ]
        fresh = [d for d in articles if d not in index.articles or d in stale]
        for doc_id in stale:
            index.remove_article(doc_id)
        for done, doc_id in enumerate(fresh, start=1):
            progress(f"embedding {articles[doc_id].file_name}", done - 1, len(fresh))
            index.add_article(articles[doc_id])
            progress(f"embedded {articles[doc_id].file_name}", done, len(fresh))
        if stale or fresh or report.action == "built":
            if report.action == "loaded":
                report.action = "updated"
            _commit(index_dir, index, embeddings, backend)
        report.added = fresh
        report.removed = [d for d in stale if d not in articles]
    report.chunks, report.sentences = len(index.chunks), len(index.sentences)
    report.seconds = time.perf_counter() - started
    if not len(index.chunks):
        raise InputError(f"The seeds folder {seeds_dir} holds no article text to index.")
    return index, report

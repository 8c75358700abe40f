"""The persisted news index: paragraph chunks, sentences and the article vocabulary, kept in
step with the seeds folder.

Layout under the index folder:

    manifest.json        embedding model, dimension, vector store, a sha256 per seed, the live generation
    gen-<n>/             chunks / sentences / terms, each as <name>.faiss + <name>.jsonl (FAISS)

A build writes a whole new generation (a folder, or Milvus collections; see `backends`) and
then replaces manifest.json in one rename, so a crash mid-build leaves the previous index
loadable. A corrupt or mismatched index is reported in one line and rebuilt.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from bot.documents import Article, chunk_article, load_articles, newest_key
from bot.embeddings.base import NewsbotEmbeddings
from bot.errors import IndexCorrupt, InputError
from bot.files import sha256_of, write_json_atomically
from bot.lang import content_terms
from bot.store.backends import STORES, FaissBackend, StoreBackend, new_generation
from bot.types import ArticleRef
from bot.untrusted import MAX_ARTICLE_CHARS, web_address

MANIFEST_VERSION = 7
WRITE_FAILED = ".write-failed"  # the last update couldn't be written; holds the system's reason
logger = logging.getLogger(__name__)
Notify = Callable[[str], None]
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a call to `open_index` did, for the CLI's summary."""

    action: str = "loaded"  # loaded | built | updated | stale (the seeds changed; the index couldn't follow yet)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Embedded:
    """One article ready to go into the index: its paragraphs, sentences and new words, each with
    their vectors."""

    doc_id: str
    article: ArticleRef
    chunks: tuple[list[Document], np.ndarray]
    sentences: tuple[list[Document], np.ndarray]
    terms: tuple[list[Document], np.ndarray]


class NewsIndex:
    """The three stores plus the articles' metadata; what retrieval searches."""

    def __init__(
        self, embeddings: NewsbotEmbeddings, chunks, sentences, terms, articles: dict[str, ArticleRef], generation: str
    ) -> None:
        self.embeddings = embeddings
        self.generation = generation
        self.chunks = chunks
        self.sentences = sentences
        self.terms = terms
        self.articles = articles  # by doc_id

    @classmethod
    def empty(cls, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> NewsIndex:
        generation = new_generation()
        chunks, sentences, terms = (backend.create(embeddings, generation, name) for name in STORES)
        return cls(embeddings, chunks, sentences, terms, articles={}, generation=generation)

    def embed(self, article: Article) -> Embedded:
        """The slow part of adding an article: its passages and its new content words embedded.
        Reads only which words the index knows, so it may run beside searches (an update apart
        from the answering thread); `put_in` then adds the result."""
        chunks, sentences = chunk_article(article)
        words = self._new_words(chunks)
        return Embedded(
            article.doc_id,
            article.ref(),
            (chunks, self.embeddings.embed_passages([d.page_content for d in chunks])),
            (sentences, self.embeddings.embed_passages([d.page_content for d in sentences])),
            (words, self.embeddings.embed_questions([d.page_content for d in words])),
        )

    def _new_words(self, chunks: list[Document]) -> list[Document]:
        """The article's content words the terms store lacks, for cross-lingual term matching."""
        words: dict[str, str] = {}
        for chunk in chunks:
            for term in content_terms(chunk.page_content, "da"):
                if not term.is_number:
                    words.setdefault(term.lower, term.stem)
        known = {d.id for d in self.terms.get_by_ids(list(words))}
        return [Document(id=w, page_content=w, metadata={"stem": stem}) for w, stem in words.items() if w not in known]

    def put_in(self, embedded: Embedded) -> None:
        """Add an embedded article, whole or not at all (never its paragraphs without its sentences),
        and list it: quick, as nothing is embedded here."""
        try:
            for store, (documents, vectors) in (
                (self.chunks, embedded.chunks),
                (self.sentences, embedded.sentences),
                (self.terms, embedded.terms),
            ):
                if documents:
                    store.add_vectors(vectors, documents)
        except BaseException:
            try:
                self._remove_passages(embedded.doc_id)
            except Exception as error:  # the first failure is the one to report
                logger.warning("Taking out the half-added %s failed too (%s).", embedded.doc_id, error)
            raise
        # a new listing swapped in: a front end may be going through the old one
        self.articles = {**self.articles, embedded.doc_id: embedded.article}

    def take_out(self, doc_ids: list[str]) -> None:
        """Take articles out (gone, or about to be added in a new version). One whose removal fails
        halfway stays listed, so that it is taken out again next time."""
        listed = dict(self.articles)
        try:
            for doc_id in doc_ids:
                self._remove_passages(doc_id)
                del listed[doc_id]
        finally:
            self.articles = listed

    def changes(self, articles: dict[str, Article]) -> tuple[list[str], list[str]]:
        """What bringing the index in step with `articles` takes: the articles to take out (gone or
        changed) and those to add (new or changed)."""
        stale = [d for d, meta in self.articles.items() if d not in articles or meta.sha256 != articles[d].content_hash]
        changed = set(stale)
        return stale, [d for d in articles if d not in self.articles or d in changed]

    def relist(self, articles: dict[str, Article]) -> None:
        """List the unchanged articles as they read now: an index written by an older newsbot lists
        less of them (no first filing) or other values (a source now read from the byline)."""
        self.articles = {
            doc_id: articles[doc_id].ref()
            if doc_id in articles and ref.sha256 == articles[doc_id].content_hash
            else ref
            for doc_id, ref in self.articles.items()
        }

    def article_of(self, passage: Document) -> ArticleRef:
        """The listing of the article a passage comes from; one left in the stores by an article
        whose adding failed halfway is described by the passage's own metadata."""
        doc_id = passage.metadata["doc_id"]
        return self.articles.get(doc_id) or _listing(doc_id, passage.metadata)

    def lead(self, doc_id: str) -> str:
        """The article's first paragraph (or its first part), "" for an article not indexed."""
        found = self.chunks.get_by_ids([f"{doc_id}:p1.0"])
        return found[0].page_content if found else ""

    def close(self) -> None:
        """Release the stores' connections (a bot stopping)."""
        for store in (self.chunks, self.sentences, self.terms):
            store.close()

    def newest_first(self) -> list[ArticleRef]:
        """The articles, newest first; undated ones last."""
        return sorted(self.articles.values(), key=lambda article: newest_key(article.date), reverse=True)

    def _remove_passages(self, doc_id: str) -> None:
        # sentences first: a removal that stops halfway never leaves a sentence without its paragraph
        for store in (self.sentences, self.chunks):
            store.delete([d.id for d in store.documents_of(doc_id)])

    def follow(self, articles: dict[str, Article], progress: Progress = lambda stage, done, total: None) -> BuildReport:
        """Bring the index in step with `articles` (the seeds folder as it is now), in this thread.
        An update that fails partway keeps what it finished: the removals and the articles added."""
        stale, fresh = self.changes(articles)
        self.take_out(stale)
        for done, doc_id in enumerate(fresh, start=1):
            progress(f"embedding {articles[doc_id].file_name}", done - 1, len(fresh))
            self.put_in(self.embed(articles[doc_id]))
            progress(f"embedded {articles[doc_id].file_name}", done, len(fresh))
        return self.report(articles, stale, fresh)

    def report(self, articles: dict[str, Article], stale: list[str], fresh: list[str]) -> BuildReport:
        """What an update that took out `stale` and added `fresh` did."""
        removed = [d for d in stale if d not in articles]
        action = "updated" if stale or fresh else "loaded"
        return BuildReport(action, fresh, removed, len(self.chunks), len(self.sentences))


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


def _verify(index_dir: Path, manifest: dict) -> None:
    """The generation's files are the ones the manifest recorded: same size and sha256."""
    for name, (size, sha256) in manifest.get("files", {}).items():
        path = index_dir / name
        try:
            if path.stat().st_size != size or sha256_of(path) != sha256:
                raise IndexCorrupt(f"The index file {path} has changed since it was written (damaged?).")
        except OSError as error:
            raise IndexCorrupt(f"The index file {path} can't be read ({error.strerror}).") from error


def _listing(doc_id: str, stored: dict) -> ArticleRef:
    """An article as the index stored it (`ArticleRef.from_json`); an index written before links
    were checked may hold addresses that are no http(s) ones."""
    article = ArticleRef.from_json(doc_id, stored)
    return replace(article, url=web_address(article.url))


def _load(index_dir: Path, manifest: dict, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> NewsIndex:
    _verify(index_dir, manifest)
    generation = manifest["generation"]
    stores = [backend.load(index_dir, generation, name, embeddings) for name in STORES]
    if any(store.dimension != embeddings.dimension for store in stores):
        raise IndexCorrupt(f"The index in {index_dir} has vectors of another dimension.")
    chunks, sentences, terms = stores
    try:
        articles = {doc_id: _listing(doc_id, entry) for doc_id, entry in manifest["articles"].items()}
    except (TypeError, AttributeError) as error:
        raise IndexCorrupt(
            f"The index in {index_dir} lists an article it can't read ({type(error).__name__})."
        ) from error
    return NewsIndex(embeddings, chunks, sentences, terms, articles=articles, generation=generation)


def _usable(
    index_dir: Path, embeddings: NewsbotEmbeddings, backend: StoreBackend, notify: Notify, quiet: bool = False
) -> NewsIndex | None:
    """The last complete generation, if there is one built with this model and store; read without
    the build lock, so a reader never waits for a builder nor needs write access. A generation
    dropped by a builder while it is read is read again from the new manifest."""
    for attempt in range(2):
        try:
            manifest = _read_manifest(index_dir)
            if manifest is None:
                return None
            if manifest.get("embedding_model") != embeddings.model_id:
                if not quiet:
                    notify(
                        f"The index was built with {manifest.get('embedding_model')}, not {embeddings.model_id}; rebuilding it."
                    )
                return None
            if manifest.get("vector_store") != backend.name:
                if not quiet:
                    notify(f"The index is stored in {manifest.get('vector_store')}, not {backend.name}; rebuilding it.")
                return None
            return _load(index_dir, manifest, embeddings, backend)
        except IndexCorrupt as error:
            if attempt and not quiet:
                notify(f"{error} Rebuilding it.")
    return None


def _current(index: NewsIndex, articles: dict[str, Article]) -> bool:
    """Whether the index holds exactly these articles, as they are now."""
    return index.articles.keys() == articles.keys() and all(
        meta.sha256 == articles[doc_id].content_hash for doc_id, meta in index.articles.items()
    )


@contextmanager
def _build_lock(index_dir: Path, wait: Callable[[], None]) -> Iterator[None]:
    """One builder at a time (a Telegram worker and a CLI call may start together); `wait` is
    called once when another process holds the lock. Raises OSError when the folder isn't writable."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            wait()
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _commit(index_dir: Path, index: NewsIndex, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> None:
    """Persist the generation, then switch the manifest to it, then drop the old ones. A write that
    fails leaves the old generation live and is noted in the folder (see `_write_failed`)."""
    try:
        _switch(index_dir, index, embeddings, backend)
    except OSError as error:
        _note_failed_write(index_dir, error)
        raise
    (index_dir / WRITE_FAILED).unlink(missing_ok=True)
    backend.drop_except(index_dir, index.generation)


def _note_failed_write(index_dir: Path, error: OSError) -> None:
    """Best effort, as the folder may be full: an empty file takes no data block, its text one."""
    try:
        (index_dir / WRITE_FAILED).touch()
        (index_dir / WRITE_FAILED).write_text(f"{error.strerror}\n", encoding="utf-8")
    except OSError:
        pass


def _write_failed(index_dir: Path) -> str | None:
    """Why the last update of the index couldn't be written ("" when that wasn't noted), or None
    when it could. A process that only reads answers from the old generation then, rather than
    embedding the same changes again and failing the same way at every start."""
    path = index_dir / WRITE_FAILED
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return ""


def _switch(index_dir: Path, index: NewsIndex, embeddings: NewsbotEmbeddings, backend: StoreBackend) -> None:
    """Write the generation, then make it live by replacing the manifest."""
    generation = backend.persist(index, index_dir)
    write_json_atomically(
        index_dir / "manifest.json",
        {
            "version": MANIFEST_VERSION,
            "embedding_model": embeddings.model_id,
            "dimension": embeddings.dimension,
            "vector_store": backend.name,
            "generation": generation,
            "articles": {doc_id: article.to_json() for doc_id, article in index.articles.items()},
            "counts": {name: len(getattr(index, name)) for name in STORES},
            "files": backend.checksums(index_dir, generation),
        },
    )
    index.generation = generation


class _Busy(Exception):
    """Another process holds the build lock and a complete generation can be answered from."""


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
    secrets: Sequence[str] = (),
    wait: bool = False,
) -> tuple[NewsIndex, BuildReport]:
    """The index for the seeds folder: loaded if current, updated if seeds changed, rebuilt if needed.

    Loading takes no lock and needs no write access. When the seeds changed but the index can't
    be updated now — another process is building it (unless `wait`), or the folder is read-only —
    the last complete generation is answered from, and `notify` says so. An article holding one
    of `secrets` is left out (see `load_articles`)."""
    backend = backend or FaissBackend()
    started = time.perf_counter()
    articles = read_seeds(seeds_dir, notify, max_article_chars, secrets)
    report = BuildReport()
    # Lock-free reading needs generations that never change once written: FAISS folders. Milvus
    # updates its live collections in place, so it is read under the build lock, as it is written.
    lock_free = not rebuild and isinstance(backend, FaissBackend)
    index = _usable(index_dir, embeddings, backend, notify, quiet=True) if lock_free else None
    if index is None or not _current(index, articles):
        fallback: NewsIndex | None = index
        failed = _write_failed(index_dir) if fallback is not None and not wait else None
        if failed is not None:
            index, report.action = fallback, "stale"
            notify(
                f"The last update of the index in {index_dir} could not be written ({failed or 'see the log'}); "
                "answering from the index as it is. Free space, then run `newsbot index`."
            )
        else:
            index = _update_or_fall_back(
                index_dir, articles, embeddings, backend, rebuild, notify, progress, report, fallback, wait
            )
    assert index is not None  # built, or the fallback; else raised above
    index.relist(articles)
    report.chunks, report.sentences = len(index.chunks), len(index.sentences)
    report.seconds = time.perf_counter() - started
    check_not_empty(index, seeds_dir)
    return index, report


def _update_or_fall_back(
    index_dir: Path,
    articles: dict[str, Article],
    embeddings: NewsbotEmbeddings,
    backend: StoreBackend,
    rebuild: bool,
    notify: Notify,
    progress: Progress,
    report: BuildReport,
    fallback: NewsIndex | None,
    wait: bool,
) -> NewsIndex:
    """The index updated under the build lock; or, when another process holds the lock (unless
    `wait`) or the folder can't be written, `fallback` with a line saying so. The commands whose
    job is the index (`wait`: index, ingest) fail with that line instead."""

    def busy() -> None:
        if fallback is not None and not wait:
            raise _Busy
        notify(f"Waiting for another process that is building the index in {index_dir} …")

    try:
        with _build_lock(index_dir, busy):
            return _update(index_dir, articles, embeddings, backend, rebuild, notify, progress, report)
    except _Busy:
        notify(
            f"Another process is updating the index in {index_dir}; "
            "answering from its last complete version until it is done."
        )
    except OSError as error:
        if fallback is None or wait:
            still = "the index as it was still answers; " if fallback is not None else ""
            raise InputError(
                f"Can't write the index in {index_dir} ({error.strerror}); {still}"
                "free space or make NEWSBOT_INDEX_DIR writable, then run `newsbot index`."
            ) from None
        notify(
            f"The index folder {index_dir} can't be written ({error.strerror}); "
            "answering from the index as it is, without the latest changes to the seeds folder."
        )
    assert fallback is not None  # _Busy is raised only with one; without one, an OSError raised above
    report.action = "stale"
    return fallback


def _update(
    index_dir: Path,
    articles: dict[str, Article],
    embeddings: NewsbotEmbeddings,
    backend: StoreBackend,
    rebuild: bool,
    notify: Notify,
    progress: Progress,
    report: BuildReport,
) -> NewsIndex:
    """Under the build lock: the index brought in step with `articles` and committed."""
    index = None if rebuild else _usable(index_dir, embeddings, backend, notify)
    built = index is None
    if index is None:
        index = NewsIndex.empty(embeddings, backend)
    followed = index.follow(articles, progress)
    report.action = "built" if built else followed.action
    report.added, report.removed = followed.added, followed.removed
    if report.action != "loaded":
        _commit(index_dir, index, embeddings, backend)
    return index


def read_seeds(
    seeds_dir: Path,
    notify: Notify,
    max_article_chars: int = MAX_ARTICLE_CHARS,
    secrets: Sequence[str] = (),
    allow_none: bool = False,
) -> dict[str, Article]:
    """The articles of the seeds folder as it is now, by doc_id (see `load_articles`)."""
    found = load_articles(seeds_dir, notify, max_article_chars, secrets=secrets, allow_none=allow_none)
    return {a.doc_id: a for a in found}


def check_not_empty(index: NewsIndex, seeds_dir: Path) -> None:
    """An index with no text answers nothing: say which folder to fill."""
    if not len(index.chunks):
        raise InputError(f"The seeds folder {seeds_dir} holds no article text to index.")


def committer(index: NewsIndex, index_dir: Path, backend: StoreBackend, notify: Notify) -> Callable[[], None]:
    """The commit that persists a running bot's updated `index` as a new generation, without
    reading the index folder back. Writing a generation of thousands of articles takes seconds:
    the caller may run it off the answering thread, as long as the index doesn't change before
    it is done."""

    def commit() -> None:
        with _build_lock(index_dir, lambda: notify(f"Waiting for another process that is building {index_dir} …")):
            _commit(index_dir, index, index.embeddings, backend)

    return commit


def follow_seeds(
    index: NewsIndex,
    seeds_dir: Path,
    index_dir: Path,
    *,
    backend: StoreBackend | None = None,
    max_article_chars: int = MAX_ARTICLE_CHARS,
    secrets: Sequence[str] = (),
    notify: Notify = lambda message: None,
    progress: Progress = lambda stage, done, total: None,
) -> tuple[BuildReport, Callable[[], None] | None]:
    """`index` brought in step with the seeds folder in place, in this thread. Returns what changed
    and the commit that persists it (see `committer`), or None when nothing did. A folder whose
    articles were all taken out leaves the index empty: the bot quotes nothing it no longer has."""
    started = time.perf_counter()
    report = index.follow(read_seeds(seeds_dir, notify, max_article_chars, secrets, allow_none=True), progress)
    report.seconds = time.perf_counter() - started
    if report.action == "loaded":
        return report, None
    return report, committer(index, index_dir, backend or FaissBackend(), notify)

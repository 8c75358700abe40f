"""`newsbot bench --archive N`: the archive at the size of a real one.

N SYNTHETIC articles (`bot.bench.synthetic`) are written as ninjs files and ingested for real
(`Archive.ingest`) into a seeds folder of the benchmark's own, together with the corpus articles;
then the index is built (chunking, e5, FAISS) and timed by stage. The answering runs in a fresh
process, as a bot's would: warm extractive answers to the corpus questions, the process's peak
RSS, the corpus's evidence quoted against the corpus indexed alone, and one new article ingested
until it is answered from (the path a running bot takes: `load_index` and `use_index`).

Beyond `embed` synthetic articles, embedding everything is out of reach on 2 cores: the texts of
the first `embed` are embedded for real before the build, and the texts of the others get
blends of the real vectors of two other rewrites of the same source text. The output says so
("perturbed embeddings").
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.answering.chain import Answerer, Question
from bot.archive import Archive
from bot.bench.evaluation import EvalReport, ItemResult, load_corpus, percentile, rss_of
from bot.bench.synthetic import SyntheticArticle, refuse_seeds_folder, synthetic_articles, write_archive
from bot.config import Settings
from bot.documents import Article, chunk_article, load_articles
from bot.embeddings import NewsbotEmbeddings, load_embeddings
from bot.errors import InputError
from bot.feeds import Item
from bot.lang import content_terms
from bot.store.news_index import follow_seeds, open_index
from bot.types import Lang

EMBED_FOR_REAL = 1_000  # synthetic articles embedded for real; more get perturbed embeddings
NEW_ARTICLE = {
    "uri": "urn:newsbot:bench:new-article",
    "versioncreated": "2024-06-03T08:15:00Z",
    "headline": "Benchmark: a new article",
    "body_text": "Kommunen åbner en ny cykelbro over havneløbet i Bench-by mandag.\n\n"
    "Cykelbroen er 347 meter lang og har kostet 91 millioner kroner.",
    "language": "da",
    "copyrightholder": "synthetic",
}
NEW_QUESTION = "Hvor lang er den nye cykelbro over havneløbet i Bench-by?"
Notify = Callable[[str], None]


class BenchEmbeddings(NewsbotEmbeddings):
    """The real embeddings, timed. `embed_for_real` embeds the texts that stay real up front; a
    text that is a rewrite of a source text (`templates`) and not among those then gets a blend of
    the real vectors of two other rewrites of the same source text (`_blend`). Because the build meets
    the articles in the seeds folder's order, not the generator's, filling the pools first is what
    keeps the texts past `embed` from being embedded for real. With `replay`, texts embedded before
    are not embedded again (the corpus indexed alone, after the mixed archive)."""

    def __init__(self, real: NewsbotEmbeddings, templates: dict[str, str], real_texts: set[str], seed: int) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dimension = real.dimension
        self.templates = templates
        self.real_texts = real_texts
        self.replay = False
        self.seconds = 0.0
        self.embedded = 0
        self.perturbed = 0
        self._pool: dict[str, list[np.ndarray]] = {}
        self._cache: dict[str, np.ndarray] = {}
        self._rng = np.random.default_rng(seed)

    def embed_for_real(self, texts: list[str], notify: Notify = lambda message: None, batch: int = 512) -> None:
        """Embed `texts` (the real ones) now, so that every rewrite of their source texts finds a pool."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(todo), batch):
            self.embed_passages(todo[start : start + batch])
            notify(f"embedded {min(start + batch, len(todo)):,}/{len(todo):,} texts for real")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        fresh: list[int] = []
        copies: list[tuple[int, np.ndarray]] = []
        for i, text in enumerate(texts):
            if text in self._cache and (self.replay or text in self.real_texts):
                out[i] = self._cache[text]
                continue
            pool = self._pool.get(self.templates.get(text, "")) if text not in self.real_texts else None
            if pool:
                one, other = (pool[int(j)] for j in self._rng.integers(len(pool), size=2))
                copies.append((i, self._blend(one, other)))
            else:
                fresh.append(i)
        if fresh:
            vectors = self.real.embed_passages([texts[i] for i in fresh])
            for i, vector in zip(fresh, vectors):
                out[i] = vector
                key = self.templates.get(texts[i])
                if key:
                    self._pool.setdefault(key, []).append(vector)
                self._cache[texts[i]] = vector
        for i, vector in copies:
            out[i] = vector
        self.embedded += len(fresh)
        self.perturbed += len(copies)
        self.seconds += time.perf_counter() - started
        return out

    def _blend(self, one: np.ndarray, other: np.ndarray) -> np.ndarray:
        """A point between two real rewrites of one text. Not noise around one of them: noise of
        the size that separates rewrites moves a vector's similarity to a question by about as
        much as separates the right passage from the next, and the best of a thousand noisy
        copies then outranks real text for reasons no real rewrite would have."""
        mix = float(self._rng.uniform())
        blended = mix * one + (1.0 - mix) * other
        return (blended / (np.linalg.norm(blended) + 1e-12)).astype(np.float32)

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        """Queries (the index's term store) are always embedded for real."""
        started = time.perf_counter()
        todo = [t for t in texts if not (self.replay and f"query: {t}" in self._cache)]
        vectors = dict(zip(todo, self.real.embed_questions(todo))) if todo else {}
        for text, vector in vectors.items():
            self._cache[f"query: {text}"] = vector
        self.embedded += len(todo)
        self.seconds += time.perf_counter() - started
        out = np.asarray([self._cache[f"query: {t}"] for t in texts], dtype=np.float32)
        return out.reshape(len(texts), self.dimension)


@dataclass
class BuildClock:
    """Where an index build's time goes, read from its progress callback: the stretch before the
    first article (reading the seeds folder), each article's addition, and the stretch after
    the last (writing the generation and the manifest)."""

    started: float = field(default_factory=time.perf_counter)
    first: float | None = None
    last: float | None = None
    adding: float = 0.0
    articles: int = 0
    _begun: float = 0.0
    notify: Notify = lambda message: None

    def progress(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage.startswith("embedding "):
            self._begun = now
            self.first = self.first or now
            return
        self.adding += now - self._begun
        self.last = now
        self.articles = done
        if total >= 20 and done % max(1, total // 10) == 0:
            self.notify(f"indexed {done:,}/{total:,} articles ({now - self.started:.0f} s)")


@dataclass
class ArchiveRun:
    """The numbers of one archive benchmark (see `markdown`)."""

    synthetic: int
    corpus_articles: int
    seed: int
    other_news: bool  # the synthetic articles rewrite half the corpus; the questions are about the other half
    embedded_for_real: int  # synthetic articles
    generate_s: float
    ingest_s: float
    build_s: float
    parse_s: float
    adding_s: float  # chunking, terms and the FAISS add: the part of adding articles that isn't embedding
    embedding_s: float
    write_s: float
    passages_embedded: int
    passages_perturbed: int
    chunks: int
    sentences: int
    mixed: dict[str, Any]
    alone: dict[str, Any]

    @property
    def perturbed(self) -> bool:
        return self.passages_perturbed > 0


def answering_run(settings: Settings, items: list[dict[str, Any]], new_article: Path | None) -> dict[str, Any]:
    """In a fresh process: the answerer over the built index, warm extractive answers to `items`,
    the peak RSS, and (with `new_article`, a folder to write it in) the seconds from ingesting one
    new article to an answer citing it."""
    from bot.service import load_answerer

    started = time.perf_counter()
    answerer, _ = load_answerer(settings)
    load_s = time.perf_counter() - started
    answerer.ask(Question(items[0]["question"]))  # warm up
    report = EvalReport()
    for item in items:
        t = time.perf_counter()
        answer = answerer.ask(Question(item["question"]))
        report.add(item, answer, (time.perf_counter() - t) * 1000)
    times = [r.ms for r in report.items]
    result: dict[str, Any] = {
        "load_s": round(load_s, 3),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "rss_mib": rss_of(os.getpid(), "VmHWM"),
        "splits": report.by("split"),
        "all": report.totals(),
        "naming": {
            kind: report.totals([r for r in report.items if _names_something(r) == named])
            for kind, named in (("named", True), ("unnamed", False))
        },
    }
    if new_article is not None:
        result |= _new_article(settings, answerer, new_article)
    return result


def _new_article(settings: Settings, answerer: Answerer, folder: Path) -> dict[str, Any]:
    """What a following bot does when `newsbot ingest` stores one new article (`Runtime.update`,
    here in one thread): the index updated in place and answered from, its generation written in
    another thread.
    The watch's poll interval (NEWSBOT_WATCH_SECONDS) comes on top."""
    path = folder / "new-article.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(NEW_ARTICLE, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    outcomes = list(Archive(settings.seeds_dir, settings.max_article_chars).ingest(str(path)))
    ingested = time.perf_counter()
    _, commit = follow_seeds(answerer.index, settings.seeds_dir, settings.index_dir)
    answerer.use_index(answerer.index)
    written: list[float] = []

    def write() -> None:
        try:
            if commit is not None:
                commit()
        finally:
            written.append(time.perf_counter())

    writer = threading.Thread(target=write)
    writer.start()
    answer = answerer.ask(Question(NEW_QUESTION))
    answered = time.perf_counter()
    writer.join()
    wanted = Path(Item(NEW_ARTICLE, "").file_name).stem
    cited = bool(answer.citations) and answer.citations[0].doc_id == wanted
    return {
        "ingest_s": round(ingested - started, 2),
        "new_article_s": round(answered - started, 2) if cited and all(o.ok for o in outcomes) else None,
        "written_s": round(written[0] - started, 2),
        "rss_after_update_mib": rss_of(os.getpid(), "VmHWM"),
    }


def _names_something(item: ItemResult) -> bool:
    """Whether the question names a person, place, organisation or event: what can pick one story
    out of many alike ("How strong were the gusts?" names nothing)."""
    language: Lang = "da" if item.language == "da" else "en"
    return any(term.is_name for term in content_terms(item.question, language))


def _in_fresh_process(settings: Settings, items: list[dict[str, Any]], new_article: Path | None) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(answering_run, settings, items, new_article).result()


def _texts_of(articles: list[Article]) -> set[str]:
    texts: set[str] = set()
    for article in articles:
        chunks, sentences = chunk_article(article)
        texts.update(d.page_content for d in [*chunks, *sentences])
    return texts


def run_archive_bench(
    settings: Settings,
    count: int,
    corpus: Path,
    out: Path,
    embed: int = EMBED_FOR_REAL,
    seed: int = 7,
    other_news: bool = False,
    notify: Notify = lambda message: None,
) -> ArchiveRun:
    """Generate `count` synthetic articles, ingest them with the corpus's articles, build the
    index, and measure answering over it and over the corpus alone (see the module docstring)."""
    if count < 1:
        raise InputError("--archive needs at least 1 article.")
    refuse_seeds_folder(out, settings.seeds_dir)  # the benchmark's archive never touches the real one
    items = load_corpus(corpus)
    # The held-out stories' questions, where the corpus has them: what the models never saw, and a
    # third of the answering time.
    items = [i for i in items if i.get("split") == "heldout"] or items
    corpus_articles = load_articles(corpus / "articles")
    rewritten = corpus_articles
    if other_news:  # rewrites of every other article; the questions about the rest
        if len(corpus_articles) < 2:
            raise InputError("--other-news needs a corpus of at least 2 articles.")
        rewritten = corpus_articles[::2]
        items = [i for i in items if i["article"] not in {a.file_name for a in rewritten}]
    sources = rewritten + [
        a for a in load_articles(settings.seeds_dir) if a.doc_id not in {c.doc_id for c in corpus_articles}
    ]
    folder = out / f"archive-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    seeds, index_dir = folder / "seeds", folder / "index"

    started = time.perf_counter()
    generated = synthetic_articles(sources, count, seed)
    write_archive(folder / "synthetic", generated, settings.seeds_dir)
    generate_s = time.perf_counter() - started
    notify(f"wrote {count:,} synthetic articles to {folder / 'synthetic'} ({generate_s:.1f} s)")

    archive = Archive(seeds, settings.max_article_chars)
    started = time.perf_counter()
    failed = [o.message for o in archive.ingest(str(folder / "synthetic")) if not o.ok]
    ingest_s = time.perf_counter() - started
    failed += [o.message for o in archive.ingest(str(corpus / "articles")) if not o.ok]
    if failed:
        raise InputError(f"The synthetic archive didn't ingest: {failed[0]}")
    notify(f"ingested {count:,} synthetic articles ({ingest_s:.1f} s)")

    embeddings = _bench_embeddings(settings, generated, corpus_articles, embed, seed)
    started = time.perf_counter()
    embeddings.embed_for_real(sorted(embeddings.real_texts), notify)
    ahead_s = time.perf_counter() - started  # part of the build: embedding, before the first article
    clock = BuildClock(notify=notify)
    index, report = open_index(
        seeds,
        index_dir,
        embeddings,
        rebuild=True,
        progress=clock.progress,
        max_article_chars=settings.max_article_chars,
    )
    ended = time.perf_counter()
    embedding_s, embedded, perturbed = embeddings.seconds, embeddings.embedded, embeddings.perturbed
    del index  # the answering process loads its own copy

    embeddings.replay = True
    open_index(corpus / "articles", out / "corpus-index", embeddings, max_article_chars=settings.max_article_chars)
    notify("answering the corpus questions over the mixed archive and over the corpus alone")
    answering = settings.model_copy(update={"llm": "extractive", "vector_store": "faiss"})
    mixed = _in_fresh_process(
        answering.model_copy(update={"seeds_dir": seeds, "index_dir": index_dir}), items, folder / "new"
    )
    alone = _in_fresh_process(
        answering.model_copy(update={"seeds_dir": corpus / "articles", "index_dir": out / "corpus-index"}), items, None
    )
    first = clock.first or clock.started
    return ArchiveRun(
        synthetic=count,
        corpus_articles=len(corpus_articles),
        other_news=other_news,
        seed=seed,
        embedded_for_real=min(count, embed),
        generate_s=round(generate_s, 3),
        ingest_s=round(ingest_s, 3),
        build_s=round(ended - clock.started + ahead_s, 3),
        parse_s=round(first - clock.started, 3),
        adding_s=round(clock.adding - (embedding_s - ahead_s), 3),
        embedding_s=round(embedding_s, 3),
        write_s=round(ended - (clock.last or ended), 3),
        passages_embedded=embedded,
        passages_perturbed=perturbed,
        chunks=report.chunks,
        sentences=report.sentences,
        mixed=mixed,
        alone=alone,
    )


def _bench_embeddings(
    settings: Settings, generated: list[SyntheticArticle], corpus: list[Article], embed: int, seed: int
) -> BenchEmbeddings:
    """Real embeddings for the corpus and the first `embed` synthetic articles; perturbed copies
    of their vectors for the texts of the others."""
    real = load_embeddings(settings.embeddings)
    if len(generated) <= embed:
        return BenchEmbeddings(real, {}, set(), seed)
    templates = {text: key for article in generated for text, key in article.templates.items()}
    real_texts = _texts_of(corpus) | {text for article in generated[:embed] for text in article.texts}
    return BenchEmbeddings(real, templates, real_texts, seed)


def _rate(count: int, seconds: float, digits: int = 1) -> str:
    return f"{count / seconds:,.{digits}f}" if seconds >= 0.001 else "–"


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.1f}%)" if total else "–"


def markdown(run: ArchiveRun, machine: str) -> str:
    """The benchmark's table, with the targets it is read against."""
    total = run.synthetic + run.corpus_articles
    kind = (
        f"{run.embedded_for_real:,} embedded for real, {run.synthetic - run.embedded_for_real:,} with "
        f"**perturbed embeddings** (blends of the real vectors of two other rewrites of the same text)"
        if run.perturbed
        else "all embedded for real"
    )
    rate = run.passages_embedded / run.embedding_s if run.embedding_s else 0.0
    mixed, alone = run.mixed, run.alone
    lines = [
        f"Archive benchmark: {run.synthetic:,} SYNTHETIC articles (seed {run.seed}; {kind}) "
        f"+ {run.corpus_articles} corpus articles. Machine: {machine}",
        *(
            [
                "",
                "Other news: the synthetic articles rewrite every other corpus article (and the seeds); "
                "the questions are about the others, which have no rewrites in the archive.",
            ]
            if run.other_news
            else []
        ),
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| articles | {run.synthetic:,} synthetic + {run.corpus_articles} corpus = {total:,}; "
        f"{run.chunks:,} chunks, {run.sentences:,} sentences | |",
        f"| generate (rewrite, write ninjs files) | {run.generate_s} s | |",
        f"| ingest (`Archive.ingest`: parse, store) | {run.ingest_s} s, {_rate(run.synthetic, run.ingest_s)} articles/s | |",
        f"| index build | {run.build_s} s, {_rate(total, run.build_s, 2)} articles/s | |",
        f"| · read the seeds folder | {run.parse_s} s | |",
        f"| · chunking, terms, FAISS add | {run.adding_s} s | |",
        f"| · embedding (e5{', perturbed copies' if run.perturbed else ''}) | {run.embedding_s} s: "
        f"{run.passages_embedded:,} texts embedded at {rate:.1f}/s"
        + (f", {run.passages_perturbed:,} perturbed" if run.perturbed else "")
        + " | |",
        f"| · index write (generation, manifest) | {run.write_s} s | |",
        f"| ingest + index, end to end | {_rate(total, run.ingest_s + run.build_s, 2)} articles/s | |",
        f"| warm extractive answer p50 / p95 ({mixed['all']['questions']} corpus questions) | "
        f"{mixed['p50_ms']} / {mixed['p95_ms']} ms (corpus alone {alone['p50_ms']} / {alone['p95_ms']} ms) | p50 ≤ 60 ms at 10k |",
        f"| peak RSS of the answering process | {mixed['rss_mib']:,} MiB (corpus alone {alone['rss_mib']:,} MiB) | < 2 GB at 10k |",
        f"| answering process: index load | {mixed['load_s']} s | |",
        "| one new article: `newsbot ingest` → a following bot's index updated in place → answered from it | "
        + (f"{mixed['new_article_s']} s" if mixed.get("new_article_s") is not None else "not answered from it")
        + f" (of which storing the file {mixed.get('ingest_s', '–')} s; the generation written in the background "
        f"by {mixed.get('written_s', '–')} s; peak RSS after it {mixed.get('rss_after_update_mib', '–'):,} MiB), "
        "plus up to NEWSBOT_WATCH_SECONDS (2 s) until the bot looks | ≤ 10 s |",
    ]
    for split, label in (
        ("train", "training stories"),
        ("validation", "validation stories"),
        ("heldout", "held-out stories"),
    ):
        a, m = alone["splits"].get(split), mixed["splits"].get(split)
        if a and m:
            lines.append(
                f"| evidence quoted, {label}: corpus alone → mixed | "
                f"{_share(a['evidence_hits'], a['answerable'])} → {_share(m['evidence_hits'], m['answerable'])} | |"
            )
    for kind, label in (
        ("named", "questions that name someone or something"),
        ("unnamed", "questions that name nothing"),
    ):
        a, m = alone["naming"][kind], mixed["naming"][kind]
        if a["answerable"]:
            lines.append(
                f"| evidence quoted, {label}: corpus alone → mixed | "
                f"{_share(a['evidence_hits'], a['answerable'])} → {_share(m['evidence_hits'], m['answerable'])} | |"
            )
    a, m = alone["all"], mixed["all"]
    drop = 100 * (a["evidence_hits"] - m["evidence_hits"]) / a["answerable"] if a["answerable"] else 0.0
    lines += [
        f"| evidence quoted, all stories: corpus alone → mixed | {_share(a['evidence_hits'], a['answerable'])} → "
        f"{_share(m['evidence_hits'], m['answerable'])}, drop {drop:.1f} points | drop ≤ 2 points at 10k |",
        f"| first quote from the right article: corpus alone → mixed | {a['right_article']}/{a['answerable']} → "
        f"{m['right_article']}/{m['answerable']} | |",
        f"| near misses declined / false declines: corpus alone → mixed | {a['correct_declines']}/{a['unanswerable']}, "
        f"{a['false_declines']} → {m['correct_declines']}/{m['unanswerable']}, {m['false_declines']} | |",
    ]
    if rate:
        per_article = (run.passages_embedded + run.passages_perturbed) / total / rate
        lines.append(
            f"\nAt {rate:.1f} texts/s ({per_article:.1f} s of embedding per article), embedding 1,000 articles for "
            f"real takes about {per_article * 1_000 / 60:.0f} min, and 10,000 about {per_article * 10_000 / 3600:.1f} h."
        )
    return "\n".join(lines)


def write_results(run: ArchiveRun, machine: str, out: Path) -> str:
    from bot.files import write_json_atomically, write_text_atomically

    table = markdown(run, machine)
    write_json_atomically(out / "archive.json", asdict(run) | {"machine": machine})
    write_text_atomically(out / "archive.md", table + "\n")
    return table

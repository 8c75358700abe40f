"""`newsbot bench --archive N`: the archive at the size of a real one.

N articles besides the corpus: the newsroom's written stories (`bot.bench.newsroom`: different
stories over many topics), and, beyond as many as it has, SYNTHETIC rewrites of them
(`bot.bench.synthetic`). They are written as ninjs files and ingested for real (`Archive.ingest`)
into a seeds folder of the benchmark's own, together with the corpus articles; then the index is
built (chunking, e5, FAISS) and timed by stage. The answering runs in a fresh process, as a bot's
would: warm extractive answers to the corpus questions (those that name their subject apart from
those that name nothing; the latter also asked in a conversation, after a question about their
story), the process's peak RSS, the corpus's evidence quoted against the corpus indexed alone,
briefings about each newsroom topic, and one new article ingested until it is answered from (the
path a running bot takes: `load_index` and `use_index`).

Beyond `embed` synthetic articles, embedding everything is out of reach on 2 cores: the texts of
the first `embed` are embedded for real before the build, and the texts of the others get
blends of the real vectors of two other rewrites of the same source text. The output says so
("perturbed embeddings").
"""

from __future__ import annotations

import datetime
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
from typing import Any, cast

import numpy as np

from bot.answering.chain import Answerer, Question
from bot.answering.features import names_nothing
from bot.archive import Archive
from bot.bench.evaluation import EvalReport, ItemResult, load_corpus, percentile, rss_of
from bot.bench.newsroom import NewsroomStory, load_newsroom, write_stories
from bot.bench.synthetic import SyntheticArticle, refuse_seeds_folder, synthetic_articles, write_archive
from bot.config import Settings
from bot.documents import Article, chunk_article, load_articles
from bot.embeddings import NewsbotEmbeddings, load_embeddings
from bot.errors import InputError
from bot.feeds import Item
from bot.store.news_index import follow_seeds, open_index
from bot.types import Lang
from bot.untrusted import load_json

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


@dataclass(frozen=True)
class TopicBrief:
    """A briefing request about a newsroom topic ("fiskeri") and the stories of that topic."""

    language: Lang
    request: str
    stories: frozenset[str]


@dataclass
class ArchiveRun:
    """The numbers of one archive benchmark (see `markdown`)."""

    written: int  # the newsroom's stories
    synthetic: int  # rewrites of them
    corpus_articles: int
    seed: int
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


def answering_run(
    settings: Settings, items: list[dict[str, Any]], new_article: Path | None, briefs: list[TopicBrief]
) -> dict[str, Any]:
    """In a fresh process: the answerer over the built index, warm extractive answers to `items`
    (alone, and those that name nothing also after a question about their story), the peak RSS,
    briefings about `briefs`, and (with `new_article`, a folder to write it in) the seconds from
    ingesting one new article to an answer citing it."""
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
    unnamed = [r for r in report.items if not _names_something(r)]
    result: dict[str, Any] = {
        "load_s": round(load_s, 3),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "rss_mib": rss_of(os.getpid(), "VmHWM"),
        "splits": report.by("split"),
        "all": report.totals(),
        "naming": {
            "named": report.totals([r for r in report.items if _names_something(r)]),
            "unnamed": report.totals(unnamed),
            "unnamed_in_conversation": _in_conversation(answerer, items, {r.id for r in unnamed}),
        },
        "briefs": _briefs(answerer, briefs) if briefs else {},
    }
    if new_article is not None:
        result |= _new_article(settings, answerer, new_article)
    return result


def _in_conversation(answerer: Answerer, items: list[dict[str, Any]], unnamed: set[str]) -> dict[str, Any]:
    """The questions `unnamed` asked as a chat asks them: after a question that names their story
    (the first answerable one of the same article), on the story its answer quoted."""
    openers: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["answerable"] and str(item["id"]) not in unnamed:
            openers.setdefault(item["article"], item)
    report = EvalReport()
    for item in items:
        opener = openers.get(item["article"])
        if str(item["id"]) not in unnamed or opener is None:
            continue
        first = answerer.answer(Question(opener["question"]))
        story = first.citations[0].doc_id if first.citations else ""
        t = time.perf_counter()
        answer = answerer.ask(Question(item["question"], story=story))
        report.add(item, answer, (time.perf_counter() - t) * 1000)
    return report.totals()


def _briefs(answerer: Answerer, briefs: list[TopicBrief]) -> dict[str, Any]:
    """Briefings about each topic: how many stories they cite, and how many are of that topic."""
    from bot.answering.brief import Briefer
    from bot.answering.selection import read_request

    briefer = Briefer(answerer)
    today = answerer.settings.today or datetime.date.today()
    cited = about = empty = 0
    for brief in briefs:
        briefing = briefer.brief(brief.language, read_request(brief.request, today))
        doc_ids = {bullet.citation.doc_id for bullet in briefing.bullets}
        cited += len(doc_ids)
        about += len(doc_ids & brief.stories)
        empty += not doc_ids
    return {"requests": len(briefs), "cited": cited, "of_the_topic": about, "empty": empty}


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
    """Whether the question names what can pick one story out of many alike (`names_nothing`)."""
    return not names_nothing(item.question, "da" if item.language == "da" else "en")


def _in_fresh_process(
    settings: Settings, items: list[dict[str, Any]], new_article: Path | None, briefs: list[TopicBrief]
) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(answering_run, settings, items, new_article, briefs).result()


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
    newsroom: Path,
    embed: int = EMBED_FOR_REAL,
    seed: int = 7,
    notify: Notify = lambda message: None,
) -> ArchiveRun:
    """Put `count` articles besides the corpus in an archive (the newsroom's stories, then
    synthetic rewrites of them), ingest, build the index, and measure answering over it and over
    the corpus alone (see the module docstring)."""
    if count < 1:
        raise InputError("--archive needs at least 1 article.")
    refuse_seeds_folder(out, settings.seeds_dir)  # the benchmark's archive never touches the real one
    items = load_corpus(corpus)
    # The held-out stories' questions, where the corpus has them: what the models never saw, and a
    # third of the answering time.
    items = [i for i in items if i.get("split") == "heldout"] or items
    corpus_articles = load_articles(corpus / "articles")
    stories = load_newsroom(newsroom).sample(count, seed)
    folder = out / f"archive-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    seeds, index_dir = folder / "seeds", folder / "index"

    started = time.perf_counter()
    write_stories(folder / "newsroom", stories, settings.seeds_dir)
    written = load_articles(folder / "newsroom")
    generated = synthetic_articles(written, count - len(stories), seed) if count > len(stories) else []
    write_archive(folder / "synthetic", generated, settings.seeds_dir)
    generate_s = time.perf_counter() - started
    notify(f"wrote {len(stories):,} newsroom stories and {len(generated):,} synthetic rewrites ({generate_s:.1f} s)")

    archive = Archive(seeds, settings.max_article_chars)
    started = time.perf_counter()
    failed = [o.message for o in archive.ingest(str(folder / "newsroom")) if not o.ok]
    if generated:
        failed += [o.message for o in archive.ingest(str(folder / "synthetic")) if not o.ok]
    ingest_s = time.perf_counter() - started
    failed += [o.message for o in archive.ingest(str(corpus / "articles")) if not o.ok]
    if failed:
        raise InputError(f"The benchmark's archive didn't ingest: {failed[0]}")
    notify(f"ingested {count:,} articles ({ingest_s:.1f} s)")

    embeddings = _bench_embeddings(settings, generated, [*corpus_articles, *written], embed, seed)
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
        answering.model_copy(update={"seeds_dir": seeds, "index_dir": index_dir}),
        archived(items, corpus / "articles"),
        folder / "new",
        topic_briefs(stories, load_newsroom(newsroom).topics),
    )
    alone = _in_fresh_process(
        answering.model_copy(update={"seeds_dir": corpus / "articles", "index_dir": out / "corpus-index"}),
        items,
        None,
        [],
    )
    first = clock.first or clock.started
    return ArchiveRun(
        written=len(stories),
        synthetic=len(generated),
        corpus_articles=len(corpus_articles),
        seed=seed,
        embedded_for_real=min(len(generated), embed),
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


def archived(items: list[dict[str, Any]], articles: Path) -> list[dict[str, Any]]:
    """`items` naming the article each is about by the file the archive stores it in: a ninjs
    document is stored under its identity (`ninjs-<hash>.json`), not its corpus file name."""
    names = {
        path.name: Item(load_json(path.read_text(encoding="utf-8")), "").file_name for path in articles.glob("*.json")
    }
    return [{**item, "article": names.get(item["article"], item["article"])} for item in items]


def topic_briefs(stories: list[NewsroomStory], topics: dict[str, dict[str, str]]) -> list[TopicBrief]:
    """A briefing request per topic of `stories` and language, with the stories of that topic."""
    of_topic: dict[str, set[str]] = {}
    for story in stories:
        of_topic.setdefault(story.topic, set()).add(story.doc_id)
    return [
        TopicBrief(cast(Lang, language), request, frozenset(of_topic[topic]))
        for topic, requests in sorted(topics.items())
        if topic in of_topic
        for language, request in sorted(requests.items())
        if language in ("da", "en")
    ]


def _bench_embeddings(
    settings: Settings, generated: list[SyntheticArticle], written: list[Article], embed: int, seed: int
) -> BenchEmbeddings:
    """Real embeddings for the written articles (the corpus's and the newsroom's) and the first
    `embed` synthetic articles; perturbed copies of their vectors for the texts of the others."""
    real = load_embeddings(settings.embeddings)
    if len(generated) <= embed:
        return BenchEmbeddings(real, {}, set(), seed)
    templates = {text: key for article in generated for text, key in article.templates.items()}
    real_texts = _texts_of(written) | {text for article in generated[:embed] for text in article.texts}
    return BenchEmbeddings(real, templates, real_texts, seed)


def _rate(count: int, seconds: float, digits: int = 1) -> str:
    return f"{count / seconds:,.{digits}f}" if seconds >= 0.001 else "–"


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.1f}%)" if total else "–"


def markdown(run: ArchiveRun, machine: str) -> str:
    """The benchmark's table, with the targets it is read against."""
    others = run.written + run.synthetic
    total = others + run.corpus_articles
    kind = (
        f"{run.embedded_for_real:,} embedded for real, {run.synthetic - run.embedded_for_real:,} with "
        f"**perturbed embeddings** (blends of the real vectors of two other rewrites of the same text)"
        if run.perturbed
        else "all embedded for real"
    )
    rate = run.passages_embedded / run.embedding_s if run.embedding_s else 0.0
    mixed, alone = run.mixed, run.alone
    lines = [
        f"Archive benchmark: {run.written:,} newsroom stories (different stories, written) + {run.synthetic:,} "
        f"SYNTHETIC rewrites of them (seed {run.seed}; {kind}) + {run.corpus_articles} corpus articles. "
        f"Machine: {machine}",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| articles | {run.written:,} newsroom + {run.synthetic:,} synthetic + {run.corpus_articles} corpus = "
        f"{total:,}; {run.chunks:,} chunks, {run.sentences:,} sentences | |",
        f"| generate (write the ninjs files, rewrite) | {run.generate_s} s | |",
        f"| ingest (`Archive.ingest`: parse, store) | {run.ingest_s} s, {_rate(others, run.ingest_s)} articles/s | |",
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
    named_a, named_m = alone["naming"]["named"], mixed["naming"]["named"]
    if named_a["answerable"]:
        drop = 100 * (named_a["evidence_hits"] - named_m["evidence_hits"]) / named_a["answerable"]
        lines += [
            f"| evidence quoted, questions that name their subject: corpus alone → mixed | "
            f"{_share(named_a['evidence_hits'], named_a['answerable'])} → "
            f"{_share(named_m['evidence_hits'], named_m['answerable'])}, drop {drop:.1f} points | "
            "within 3 points at 1k, 5 at 10k |",
            f"| right article first, questions that name their subject: mixed | "
            f"{_share(named_m['right_article'], named_m['answerable'])} | ≥ 90% |",
        ]
    unnamed_a, unnamed_m = alone["naming"]["unnamed"], mixed["naming"]["unnamed"]
    chat = mixed["naming"]["unnamed_in_conversation"]
    if unnamed_a["answerable"]:
        lines += [
            f"| evidence quoted, questions that name nothing, asked alone: corpus alone → mixed | "
            f"{_share(unnamed_a['evidence_hits'], unnamed_a['answerable'])} → "
            f"{_share(unnamed_m['evidence_hits'], unnamed_m['answerable'])} | |",
            f'| · of those, answered with "Which story?" (mixed) / the right story among the choices | '
            f"{unnamed_m['choices']} / {_share(unnamed_m['choices_right'], unnamed_m['choices'])} | ≥ 90% |",
            f"| · right story first or among the choices (mixed) | "
            f"{_share(unnamed_m['right_article'] + unnamed_m['choices_right'], unnamed_m['answerable'])} | |",
            f"| evidence quoted, questions that name nothing, asked after a question about their story "
            f"(mixed) | {_share(chat['evidence_hits'], chat['answerable'])} | within 5 points of "
            f"{_share(unnamed_a['evidence_hits'], unnamed_a['answerable'])} |",
        ]
    briefs = mixed.get("briefs") or {}
    if briefs.get("requests"):
        lines.append(
            f"| briefings about a newsroom topic ({briefs['requests']} requests, Danish and English): stories "
            f"cited that are of the topic | {_share(briefs['of_the_topic'], briefs['cited'])}; "
            f"{briefs['empty']} found nothing | precision ≥ 90% |"
        )
    a, m = alone["all"], mixed["all"]
    drop = 100 * (a["evidence_hits"] - m["evidence_hits"]) / a["answerable"] if a["answerable"] else 0.0
    lines += [
        f"| evidence quoted, all stories: corpus alone → mixed | {_share(a['evidence_hits'], a['answerable'])} → "
        f"{_share(m['evidence_hits'], m['answerable'])}, drop {drop:.1f} points | |",
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

"""Briefings: 3–5 cited bullets summing up the article(s), for someone on the go.

A briefing covers at most five articles: the newest, those of a period, or those about a topic
(`bot.answering.selection` reads the request). A topic keeps the articles whose passages come
closest to it by retrieval (e5 over paragraphs and sentences) and pass the answerability gate's
term checks, as an answer's evidence must: its names found, none of its words missing.

Extractive by default: the most central sentences of each article — closest to the article's
mean e5 vector, with a nudge for the lead, and none too like one already chosen (maximal
marginal relevance) — in article order, newest article first. With a generator, a bullet in
another language than the reader's is translated through the same compose → verify path as
answers; one that fails verification stays the quoted sentence. Briefings are cached on disk per
set of articles, request, language and backend, so a repeated `newsbot brief` doesn't load any model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict

import numpy as np

from bot.answering.brief_cache import cache_key, cached_briefing, store_briefing
from bot.answering.chain import Answerer
from bot.answering.features import analyse
from bot.answering.retrieve import MAX_CITATIONS, Passage, Retrieval, leans_back, retrieve
from bot.answering.selection import MAX_ARTICLES, BriefRequest, Selection, newest_ids, select_by_period
from bot.answering.when import article_span
from bot.lang import content_terms, detect_language
from bot.store.news_index import NewsIndex
from bot.texts import LANGUAGE_NAMES, prompt_in, reply
from bot.types import Answer, Briefing, Bullet, Citation, Lang

MIN_BULLETS, MAX_BULLETS = 3, 5
INFORMATION = 0.5  # weight of a sentence's number of content words
REDUNDANCY = 0.7  # MMR weight against repeating a chosen sentence
TOPIC_SENTENCES = 100  # sentences retrieved for a topic: enough to reach many articles
TOPIC_NAMES = 0.5  # share of the topic's names and numbers an article's passages must hold
TOPIC_LIKENESS = 0.8  # a topic word found only by e5 likeness must be found at least this well
# An article is about a topic when its lead comes about as close to the topic as the closest
# article's lead (e5 similarity, within this band): one that only mentions it further down is not
# (fitted on half the newsroom archive's topics; docs/decisions.md).
TOPIC_LEAD_BAND = 0.02


def bullet_counts(sentences_per_article: list[int]) -> list[int]:
    """How many bullets each article (newest first) gets: 4 for one article, up to 5 for more,
    at least one each while they last (never fewer than 3 when there are 3 sentences)."""
    total = min(MAX_BULLETS, max(MIN_BULLETS + 1, len(sentences_per_article) + 2), sum(sentences_per_article))
    counts = [0] * len(sentences_per_article)
    while sum(counts) < total:
        for i, available in enumerate(sentences_per_article):
            if sum(counts) < total and counts[i] < available:
                counts[i] += 1
    return counts


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def central_sentences(vectors: np.ndarray, texts: list[str], k: int) -> list[int]:
    """Indices of `k` sentences, in article order: the lead first (it carries a news story; a
    reaction further down does not), then those central to the article (its mean e5 vector),
    informative (many content words), none leaning on a neighbour for its meaning ("Det oplyser
    …") and none too like one already chosen. e5 similarities sit in a narrow band (0.91–0.95 on
    the seed), so every signal is compared as a z-score."""
    candidates = [i for i, text in enumerate(texts) if not leans_back(text)] or list(range(len(texts)))
    v = vectors[candidates]
    centroid = vectors.mean(axis=0)
    centrality = _z(v @ (centroid / (np.linalg.norm(centroid) + 1e-9)))
    information = _z(np.log1p([len(content_terms(texts[i], "da")) for i in candidates]))
    relevance = centrality + INFORMATION * information
    pairwise = v @ v.T
    off_diagonal = pairwise[~np.eye(len(v), dtype=bool)] if len(v) > 1 else np.zeros(1)
    similarity = (pairwise - off_diagonal.mean()) / (off_diagonal.std() + 1e-9)
    chosen: list[int] = [0] if candidates[0] == 0 and k > 0 else []
    while len(chosen) < min(k, len(v)):
        redundancy = similarity[:, chosen].max(axis=1) if chosen else np.zeros(len(v))
        score = relevance - REDUNDANCY * np.maximum(redundancy, 0.0)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(candidates[i] for i in chosen)


def _on_topic(answerer: Answerer, topic: str, passages: list[Passage], baseline: float) -> bool:
    """Whether an article's closest passages are about the topic: the gate's term signals on the
    topic's own words find its names and every word — the same word, spelling or compound part,
    or a likeness of at least `TOPIC_LIKENESS`. Weak likeness alone ("golf" near "vindmøller") is
    not enough (docs/decisions.md)."""
    features = answerer.gate.features(
        analyse(topic, detect_language(topic)), Retrieval(passages[:MAX_CITATIONS], baseline)
    )
    return features.names_found >= TOPIC_NAMES and features.weakest_term >= TOPIC_LIKENESS


def select(answerer: Answerer, request: BriefRequest) -> Selection:
    """The articles a briefing on `request` covers, newest first."""
    index = answerer.index
    topic = request.topic if content_terms(request.topic, detect_language(request.topic)) else ""
    if not topic:
        return select_by_period(index.articles, request)
    period = {d for d, article in index.articles.items() if request.covers(article)} if request.period else None
    if period is not None and not period:
        return Selection(request, (), 0, topic)
    vector = index.embeddings.embed_questions([topic])[0]
    retrieval = retrieve(index, vector, period, sentences=TOPIC_SENTENCES)
    passages: dict[str, list[Passage]] = defaultdict(list)  # in order of each article's best passage
    for passage in retrieval.passages:
        passages[passage.lead.doc_id].append(passage)
    closest = _about(
        index, vector, [d for d, found in passages.items() if _on_topic(answerer, topic, found, retrieval.baseline)]
    )
    chosen = set(closest[:MAX_ARTICLES])
    return Selection(request, tuple(d for d in newest_ids(index.articles) if d in chosen), len(closest), topic)


def _about(index: NewsIndex, topic: np.ndarray, doc_ids: list[str]) -> list[str]:
    """Of `doc_ids` (articles whose passages hold the topic's words), those whose lead is within
    TOPIC_LEAD_BAND of the closest lead to the topic, in the same order."""
    if not doc_ids:
        return []
    leads = index.chunks.vectors([f"{doc_id}:p1.0" for doc_id in doc_ids]) @ topic
    return [doc_id for doc_id, lead in zip(doc_ids, leads) if lead >= float(leads.max()) - TOPIC_LEAD_BAND]


def _count(language: Lang, count: int) -> str:
    return reply("brief_count_one" if count == 1 else "brief_count", language, count=count)


def _covers(answerer: Answerer, selection: Selection, language: Lang) -> str:
    """What a briefing's header says it covers: "the ritzau article (2022-01)", "the 5 newest of
    the 40 articles I have", "2 articles about «storm», i januar 2022 (2022-01-01 – 2022-01-31)"."""
    request, shown = selection.request, len(selection.doc_ids)
    if not selection.topic and not request.period:
        if selection.capped:
            return reply("newest_articles", language, shown=shown, count=selection.found)
        return answerer.articles_phrase(language)
    if not selection.capped:
        phrase = _count(language, shown)
    else:
        kind = "brief_closest_of" if selection.topic else "brief_newest_of"
        phrase = reply(kind, language, shown=shown, count=selection.found)
    if selection.topic:
        phrase += " " + reply("brief_about", language, topic=selection.topic)
    if request.period:
        phrase += f", {request.period_text}"
    return phrase


def _nothing(answerer: Answerer, selection: Selection, language: Lang) -> str:
    """What a briefing that found no article says: what was asked for, and which dates the archive covers."""
    dates = sorted(m.date for m in answerer.index.articles.values() if article_span(m.date))
    first, last = (dates[0], dates[-1]) if dates else ("–", "–")
    request = selection.request
    if selection.topic:
        period = f", {request.period_text}" if request.period else ""
        return reply("nothing_about", language, topic=selection.topic, period=period, first=first, last=last)
    if request.label:
        return reply("nothing_from", language, label=request.label, period=request.dates, first=first, last=last)
    return reply("nothing_dated", language, period=request.dates, first=first, last=last)


class Briefer:
    """Builds (or fetches) the briefing for the indexed articles."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    @property
    def backend(self) -> str:
        return self.answerer.composer.name

    def brief(self, language: Lang, request: BriefRequest | None = None) -> Briefing:
        """The briefing on the articles `request` asks for (the newest without one), from the cache
        when it is there; when none is found, a header saying so and no bullets."""
        selection = select(self.answerer, request or BriefRequest())
        if not selection.doc_ids:
            return Briefing(language, self.backend, _nothing(self.answerer, selection, language))
        data_dir = self.answerer.settings.data_dir
        articles = {doc_id: self.answerer.index.articles[doc_id].sha256 for doc_id in selection.doc_ids}
        key = cache_key(articles, language, self.backend, selection.key)
        cached = cached_briefing(data_dir, key)
        if cached is not None:
            return cached
        briefing = self._build(language, selection)
        store_briefing(data_dir, key, briefing)
        return briefing

    def _extractive(self, doc_ids: tuple[str, ...]) -> list[Citation]:
        index = self.answerer.index
        per_article = [
            sorted(
                index.sentences.documents_of(doc_id), key=lambda d: (d.metadata["paragraph"], d.metadata["sentence"])
            )
            for doc_id in doc_ids
        ]
        citations: list[Citation] = []
        for docs, count in zip(per_article, bullet_counts([len(d) for d in per_article])):
            if not count:
                continue
            vectors = index.sentences.vectors([d.id for d in docs])
            for i in central_sentences(vectors, [d.page_content for d in docs], count):
                article, paragraph = index.article_of(docs[i]), docs[i].metadata["paragraph"]
                citations.append(Citation.quoting(len(citations) + 1, docs[i].page_content, article, paragraph, 1.0))
        return citations

    def _build(self, language: Lang, selection: Selection) -> Briefing:
        citations = self._extractive(selection.doc_ids)
        bullets = [Bullet(c.quote.lstrip("-–— "), c) for c in citations]
        articles = _covers(self.answerer, selection, language)
        if self.answerer.composer.fluent:
            # Only bullets in another language than the reader's are rewritten (translated):
            # a quote in the reader's own language is already the best bullet.
            for bullet in (b for b in bullets if detect_language(b.text, default="da") != language):
                single = Citation(**{**asdict(bullet.citation), "n": 1})
                seed = Answer(prompt_in("brief_bullet", language), language, bullet.text, True, [single])
                fluent = self.answerer.refine(seed)
                if fluent.verified and fluent.backend != "extractive":
                    bullet.text = re.sub(r"\s*\[\d+\]", "", fluent.answer).strip()
                else:
                    bullet.verified = False
        return Briefing(language, self.backend, briefing_header(language, articles, bullets), bullets)


def briefing_header(language: Lang, articles: str, bullets: list[Bullet]) -> str:
    """What the briefing covers, and in which language its bullets are quoted when that is not the
    reader's: all of them, or some of them when the articles are in both languages."""
    quoted = [detect_language(b.text, default="da") for b in bullets if b.text in b.citation.quote]
    other = [q for q in quoted if q != language]
    if not other:
        return reply("brief_header", language, articles=articles)
    kind = "brief_header_quoted" if len(other) == len(quoted) else "brief_header_partly_quoted"
    return reply(kind, language, articles=articles, article_language=LANGUAGE_NAMES[language][other[0]])

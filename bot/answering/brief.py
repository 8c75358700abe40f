"""Briefings: 3–5 cited bullets summing up the article(s), for someone on the go.

Extractive by default: the most central sentences of each article — closest to the article's
mean e5 vector, with a nudge for the lead, and none too like one already chosen (maximal
marginal relevance) — in article order, newest article first. With a generator, a bullet in
another language than the reader's is translated through the same compose → verify path as
answers; one that fails verification stays the quoted sentence. Briefings are cached on disk per set of
articles, language and backend, so a repeated `newsbot brief` doesn't load any model.
"""

from __future__ import annotations

import re
from dataclasses import asdict

import numpy as np

from bot.answering.brief_cache import cache_key, cached_briefing, store_briefing
from bot.answering.chain import Answerer
from bot.answering.retrieve import leans_back
from bot.lang import content_terms, detect_language
from bot.texts import LANGUAGE_NAMES, prompt_in, reply
from bot.types import Answer, Briefing, Bullet, Citation, Lang

MIN_BULLETS, MAX_BULLETS = 3, 5
LEAD_BONUS = 1.0  # the lead sentence carries a news story (in z-score units)
INFORMATION = 0.5  # weight of a sentence's number of content words
REDUNDANCY = 0.7  # MMR weight against repeating a chosen sentence


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
    """Indices of `k` sentences, in article order: central to the article (its mean e5 vector),
    informative (many content words), the lead favoured, none leaning on a neighbour for its
    meaning ("Det oplyser …") and none too like one already chosen. e5 similarities sit in a
    narrow band (0.91–0.95 on the seed), so every signal is compared as a z-score."""
    candidates = [i for i, text in enumerate(texts) if not leans_back(text)] or list(range(len(texts)))
    v = vectors[candidates]
    centroid = vectors.mean(axis=0)
    centrality = _z(v @ (centroid / (np.linalg.norm(centroid) + 1e-9)))
    information = _z(np.log1p([len(content_terms(texts[i], "da")) for i in candidates]))
    relevance = centrality + INFORMATION * information + np.where(np.asarray(candidates) == 0, LEAD_BONUS, 0.0)
    pairwise = v @ v.T
    off_diagonal = pairwise[~np.eye(len(v), dtype=bool)] if len(v) > 1 else np.zeros(1)
    similarity = (pairwise - off_diagonal.mean()) / (off_diagonal.std() + 1e-9)
    chosen: list[int] = []
    while len(chosen) < min(k, len(v)):
        redundancy = similarity[:, chosen].max(axis=1) if chosen else np.zeros(len(v))
        score = relevance - REDUNDANCY * np.maximum(redundancy, 0.0)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(candidates[i] for i in chosen)


class Briefer:
    """Builds (or fetches) the briefing for the indexed articles."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    @property
    def backend(self) -> str:
        return self.answerer.composer.name

    def brief(self, language: Lang) -> Briefing:
        """The briefing on the indexed articles, from the cache when it is there."""
        data_dir = self.answerer.settings.data_dir
        articles = {doc_id: meta["sha256"] for doc_id, meta in self.answerer.index.articles.items()}
        key = cache_key(articles, language, self.backend)
        cached = cached_briefing(data_dir, key)
        if cached is not None:
            return cached
        briefing = self._build(language)
        store_briefing(data_dir, key, briefing)
        return briefing

    def _extractive(self) -> list[Citation]:
        index = self.answerer.index
        ordered = index.newest_first()
        per_article = [
            sorted(
                index.sentences.documents_of(doc_id), key=lambda d: (d.metadata["paragraph"], d.metadata["sentence"])
            )
            for doc_id, _ in ordered
        ]
        citations: list[Citation] = []
        for docs, count in zip(per_article, bullet_counts([len(d) for d in per_article])):
            if not count:
                continue
            vectors = index.sentences.vectors([d.id for d in docs])
            for i in central_sentences(vectors, [d.page_content for d in docs], count):
                citations.append(
                    Citation.from_metadata(len(citations) + 1, docs[i].page_content, docs[i].metadata, 1.0)
                )
        return citations

    def _build(self, language: Lang) -> Briefing:
        citations = self._extractive()
        bullets = [Bullet(c.quote.lstrip("-–— "), c) for c in citations]
        articles = self.answerer.articles_phrase(language)
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
        quoted = [b.text for b in bullets if b.text in b.citation.quote]
        quoted_language = detect_language(" ".join(quoted), default="da") if quoted else language
        if quoted_language != language:
            header = reply(
                "brief_header_quoted",
                language,
                articles=articles,
                article_language=LANGUAGE_NAMES[language][quoted_language],
            )
        else:
            header = reply("brief_header", language, articles=articles)
        return Briefing(language, self.backend, header, bullets)

"""Finding the sentences that answer a question.

e5 finds the answering sentence among its 30 nearest far more often than among its first few, so
the chain orders those candidates with the learned ranker (`ranked_retrieval`: features in
`bot.answering.features`). Briefings, which want what a topic is about rather than an answer, keep
e5's order, a sentence's similarity mixed with its paragraph's (`retrieve`). A sentence that leans on its neighbour
("Det oplyser sundhedsministeriet torsdag.", "Der skal de …") is quoted together with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.documents import Document

from bot.answering.features import (
    CANDIDATE_FEATURES,
    QuestionAnalysis,
    candidate_features,
    leans_back,
    version_key,
)
from bot.answering.learned import LinearModel
from bot.answering.thresholds import THRESHOLDS
from bot.documents import newest_key
from bot.lang import WORD, numbers_in
from bot.names import same_name
from bot.store.news_index import NewsIndex
from bot.types import Sentence

TOP_CHUNKS = 4
TOP_SENTENCES = 16
CANDIDATES = 30  # e5's nearest sentences the ranker orders: they hold the answer far more often than the first few
SENTENCE_POOL = 2  # times the sentences scored are searched, so that enough are left once versions are thinned out
MAX_CITATIONS = 3
MAX_PASSAGE_SENTENCES = 3
NEAR_IDENTICAL = 0.8  # word overlap (Jaccard) from which two passages say the same thing


@dataclass
class Passage:
    """A quotable stretch of an article: a sentence, with the neighbours it leans on or that lean on it."""

    sentences: list[Sentence]
    score: float
    similarity: float  # the best own-sentence similarity inside it
    features: np.ndarray | None = None  # its first-matched sentence's row of CANDIDATE_FEATURES, when ranked

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def lead(self) -> Sentence:
        return self.sentences[0]


@dataclass
class Retrieval:
    """What the gate and the composers work from."""

    passages: list[Passage]  # best first
    baseline: float  # a typical retrieved sentence's similarity to the question


def _sentence(index: NewsIndex, doc: Document, score: float) -> Sentence:
    article = index.article_of(doc)
    return Sentence(
        doc.page_content,
        article.doc_id,
        article.source,
        article.date,
        article.title,
        doc.metadata["paragraph"],
        doc.metadata["sentence"],
        score,
        article.language,
        article.byline,
        article.url,
        article.first_filed,
    )


def _sentence_id(sentence: Sentence) -> str:
    return f"{sentence.doc_id}:p{sentence.paragraph}.s{sentence.index}"


def _neighbour(index: NewsIndex, sentence: Sentence, step: int) -> Document | None:
    """The sentence just before (step -1) or after (+1), across a paragraph break if needed."""
    if step > 0:
        candidates = [
            f"{sentence.doc_id}:p{sentence.paragraph}.s{sentence.index + 1}",
            f"{sentence.doc_id}:p{sentence.paragraph + 1}.s0",
        ]
    elif sentence.index > 0:
        candidates = [f"{sentence.doc_id}:p{sentence.paragraph}.s{sentence.index - 1}"]
    else:  # the last sentence of the previous paragraph, which may be split into several chunks
        last, part = -1, 0
        while chunk := index.chunks.get_by_ids([f"{sentence.doc_id}:p{sentence.paragraph - 1}.{part}"]):
            last += len(chunk[0].metadata["sentences"])
            part += 1
        candidates = [f"{sentence.doc_id}:p{sentence.paragraph - 1}.s{last}"] if last >= 0 else []
    for candidate in candidates:
        found = index.sentences.get_by_ids([candidate])
        if found:
            return found[0]
    return None


def _passage(
    index: NewsIndex, sentence: Sentence, score: float, used: set[str], features: np.ndarray | None = None
) -> Passage:
    group = [sentence]
    if leans_back(sentence.text):
        previous = _neighbour(index, sentence, -1)
        if previous is not None and previous.id not in used:
            group.insert(0, _sentence(index, previous, 0.0))
    following = _neighbour(index, group[-1], +1)
    if (
        following is not None
        and following.id not in used
        and leans_back(following.page_content)
        and len(group) < MAX_PASSAGE_SENTENCES
    ):
        group.append(_sentence(index, following, 0.0))
    used.update(_sentence_id(s) for s in group)
    return Passage(group, score, sentence.score, features)


Favoured = Callable[[Document], bool]


def names_held(names: list[str], headline: str, text: str) -> int:
    """How many of the question's names a sentence or passage holds, in its words or its article's headline."""
    words = WORD.findall(f"{headline} {text}")
    return sum(any(same_name(name, word) for word in words) for name in names)


def favouring(names: list[str], period: set[str]) -> Favoured | None:
    """The versions that thinning keeps besides the best and the newest: those naming one of the
    question's names (in the sentence or its headline), or from the period it asks about. These
    are what `names_first` and `period_first` rank first afterwards."""
    if not names and not period:
        return None

    def favoured(doc: Document) -> bool:
        return (
            doc.metadata["doc_id"] in period or names_held(names, doc.metadata.get("title", ""), doc.page_content) > 0
        )

    return favoured


def versions_thinned(
    hits: list[tuple[Document, float]], at_most: int, favoured: Favoured | None = None
) -> list[tuple[Document, float]]:
    """The best `at_most` of `hits` (given best first), with few versions of each sentence among
    them: the best match, the newest of the others (so that the newest figure is shown beside the
    best match's, `distinct`), and any `favoured` one. An archive holds many versions of a wire
    sentence, and their near-equal scores would otherwise fill every candidate slot. Sentences
    without letters ("2-1.") are never taken for versions of each other."""
    versions: dict[frozenset[str], list[tuple[Document, float]]] = {}
    kept: list[tuple[Document, float]] = []
    for hit in hits:
        key = version_key(hit[0].page_content)
        if key:
            versions.setdefault(key, []).append(hit)
        else:
            kept.append(hit)
    for best, *others in versions.values():
        kept.append(best)
        if others:  # max keeps the first of equally new ones: the better match
            newest = max(others, key=lambda hit: newest_key(hit[0].metadata["date"]))
            kept += [hit for hit in others if hit is newest or (favoured is not None and favoured(hit[0]))]
    return sorted(kept, key=lambda hit: -hit[1])[:at_most]


def _search(
    index: NewsIndex,
    question_vector: np.ndarray,
    articles: set[str] | None,
    sentences: int,
    favoured: Favoured | None,
) -> tuple[list[tuple[Document, float]], dict[str, float], float]:
    """The `sentences` closest sentences once versions are thinned out (`versions_thinned`, from
    `SENTENCE_POOL` × as many), their paragraphs' similarities, and the median similarity."""
    only = {"doc_id": sorted(articles)} if articles is not None else None
    chunk_hits = index.chunks.similarity_search_by_vector_with_score(question_vector, TOP_CHUNKS, only)
    pool = index.sentences.similarity_search_by_vector_with_score(question_vector, sentences * SENTENCE_POOL, only)
    if not pool:
        return [], {}, 0.0
    hits = versions_thinned(pool, sentences, favoured)
    chunk_score = {doc.id: score for doc, score in chunk_hits if doc.id is not None}
    missing = list({d.metadata["chunk_id"] for d, _ in hits} - set(chunk_score))
    for chunk_id, vector in zip(missing, index.chunks.vectors(missing)):
        chunk_score[chunk_id] = float(vector @ question_vector)
    return hits, chunk_score, float(np.median([similarity for _, similarity in pool[:sentences]]))


def _passages(
    index: NewsIndex, ranked: list[tuple[float, Sentence]], rows: list[np.ndarray] | None = None
) -> list[Passage]:
    passages: list[Passage] = []
    used: set[str] = set()
    for n, (score, sentence) in enumerate(ranked):
        if _sentence_id(sentence) not in used:
            passages.append(_passage(index, sentence, score, used, rows[n] if rows is not None else None))
    return distinct(passages)


def retrieve(
    index: NewsIndex,
    question_vector: np.ndarray,
    articles: set[str] | None = None,
    sentences: int = TOP_SENTENCES,
    favoured: Favoured | None = None,
) -> Retrieval:
    """The best passages by e5 alone, best first (briefings and the baselines): a sentence's
    similarity mixed with its paragraph's; only from `articles` (doc ids) when given."""
    hits, chunk_score, baseline = _search(index, question_vector, articles, sentences, favoured)
    weight = THRESHOLDS.sentence_weight
    ranked = sorted(
        (
            (
                weight * similarity + (1 - weight) * chunk_score[doc.metadata["chunk_id"]],
                _sentence(index, doc, similarity),
            )
            for doc, similarity in hits
        ),
        key=lambda pair: -pair[0],
    )
    return Retrieval(_passages(index, ranked), baseline)


@dataclass
class Candidates:
    """e5's nearest sentences for a question and their rows of CANDIDATE_FEATURES."""

    hits: list[tuple[Document, float]]
    rows: np.ndarray
    baseline: float


def candidates(
    index: NewsIndex,
    question_vector: np.ndarray,
    analysis: QuestionAnalysis,
    articles: set[str] | None = None,
    favoured: Favoured | None = None,
) -> Candidates:
    """The `CANDIDATES` sentences the ranker orders, with their features."""
    hits, chunk_score, baseline = _search(index, question_vector, articles, CANDIDATES, favoured)
    if not hits:
        return Candidates([], np.zeros((0, len(CANDIDATE_FEATURES))), 0.0)
    doc_ids = list(dict.fromkeys(doc.metadata["doc_id"] for doc, _ in hits))
    leads = [f"{doc_id}:p1.0" for doc_id in doc_ids]
    lead_similarity = {
        doc_id: float(vector @ question_vector) for doc_id, vector in zip(doc_ids, index.chunks.vectors(leads))
    }
    before = {
        str(doc.id): f"{doc.metadata['doc_id']}:p{doc.metadata['paragraph']}.s{doc.metadata['sentence'] - 1}"
        for doc, _ in hits
        if doc.metadata["sentence"] > 0
    }
    found = {str(d.id): d.page_content for d in index.sentences.get_by_ids(list(set(before.values())))}
    previous = {sentence_id: found.get(before_id, "") for sentence_id, before_id in before.items()}
    return Candidates(hits, candidate_features(analysis, hits, chunk_score, lead_similarity, previous), baseline)


def ranked(index: NewsIndex, found: Candidates, probabilities: np.ndarray) -> Retrieval:
    """The candidates as passages, most probable first; a passage's score is its probability."""
    order = np.argsort(-probabilities, kind="stable")
    best_first = [(float(probabilities[i]), _sentence(index, *found.hits[i])) for i in order]
    return Retrieval(_passages(index, best_first, [found.rows[i] for i in order]), found.baseline)


def ranked_retrieval(
    index: NewsIndex,
    question_vector: np.ndarray,
    analysis: QuestionAnalysis,
    ranker: LinearModel,
    articles: set[str] | None = None,
    favoured: Favoured | None = None,
) -> Retrieval:
    """The best passages for the question, ordered by the learned ranker over e5's `CANDIDATES`
    nearest sentences; a passage's score is the ranker's probability that it answers."""
    found = candidates(index, question_vector, analysis, articles, favoured)
    return ranked(index, found, ranker.probabilities(found.rows))


def _statement(passage: Passage) -> tuple[frozenset[str], set[str]]:
    """What `_same_statement` compares of a passage: its words and its numbers."""
    return frozenset(re.findall(r"\w+", passage.text.lower())), numbers_in(passage.text)


def _same_statement(one: tuple[frozenset[str], set[str]], other: tuple[frozenset[str], set[str]]) -> bool:
    """Near-identical wording and the same numbers: a background paragraph a wire service repeats
    across versions and related stories. Other numbers make it a disagreement, which is shown."""
    (a, numbers_a), (b, numbers_b) = one, other
    return len(a & b) / max(len(a | b), 1) >= NEAR_IDENTICAL and numbers_a == numbers_b


def distinct(passages: list[Passage]) -> list[Passage]:
    """The passages (best first) with each statement repeated by several articles kept once, at
    the best rank it had, in the words of the newest article that states it."""
    kept: list[Passage] = []
    statements: list[tuple[frozenset[str], set[str]]] = []  # each kept passage's, read once
    for passage in passages:
        statement = _statement(passage)
        twin = next(
            (
                i
                for i, k in enumerate(kept)
                if k.lead.doc_id != passage.lead.doc_id and _same_statement(statements[i], statement)
            ),
            None,
        )
        if twin is None:
            kept.append(passage)
            statements.append(statement)
        elif newest_key(passage.lead.date) > newest_key(kept[twin].lead.date):
            kept[twin] = Passage(
                passage.sentences,
                kept[twin].score,
                max(passage.similarity, kept[twin].similarity),
                kept[twin].features,
            )
            statements[twin] = statement
    return kept


def _reranked(retrieval: Retrieval, key: Callable[[Passage], Any]) -> Retrieval:
    """The passages about as good as the best (`close_share` of its probability) ordered by `key`,
    highest first; the weaker ones after them, as they were."""
    if not retrieval.passages:
        return retrieval
    floor = retrieval.passages[0].score * THRESHOLDS.close_share
    close = [p for p in retrieval.passages if p.score >= floor]
    rest = [p for p in retrieval.passages if p.score < floor]
    close.sort(key=key, reverse=True)  # stable: equal keys keep their score order
    return Retrieval(close + rest, retrieval.baseline)


def newest_first(retrieval: Retrieval) -> Retrieval:
    """For "latest on …": among the passages about as good as the best, the newest article's first."""
    return _reranked(retrieval, lambda p: newest_key(p.lead.date))

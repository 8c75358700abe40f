"""Finding the sentences that answer a question: paragraph and sentence scores combined.

e5 ranks whole paragraphs well and single sentences less well, so a sentence's score
mixes its own similarity with its paragraph's. A sentence that leans on its neighbour
("Det oplyser sundhedsministeriet torsdag.", "Der skal de …") is quoted together with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.documents import Document

from bot.answering.thresholds import THRESHOLDS
from bot.documents import newest_key
from bot.lang import WORD, numbers_in
from bot.names import same_name
from bot.store.news_index import NewsIndex
from bot.types import Sentence

TOP_CHUNKS = 4
TOP_SENTENCES = 16
SENTENCE_POOL = 2  # times the sentences scored are searched, so that enough are left once versions are thinned out
MAX_CITATIONS = 3
MAX_PASSAGE_SENTENCES = 3
NEAR_IDENTICAL = 0.8  # word overlap (Jaccard) from which two passages say the same thing
_LETTERS = re.compile(r"[^\W\d_]+")
_BACK_REFERENCES = frozenset(
    {
        "der",
        "det",
        "den",
        "de",
        "dette",
        "disse",
        "derudover",
        "it",
        "this",
        "that",
        "they",
        "these",
        "those",
        "he",
        "she",
        "han",
        "hun",
    }
)


@dataclass
class Passage:
    """A quotable stretch of an article: a sentence, with the neighbours it leans on or that lean on it."""

    sentences: list[Sentence]
    score: float
    similarity: float  # the best own-sentence similarity inside it

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


def _sentence(doc: Document, score: float) -> Sentence:
    m = doc.metadata
    return Sentence(
        doc.page_content,
        m["doc_id"],
        m["source"],
        m["date"],
        m["title"],
        m["paragraph"],
        m["sentence"],
        score,
        m.get("language", "da"),
        m.get("byline", ""),
        m.get("url", ""),
    )


def _sentence_id(sentence: Sentence) -> str:
    return f"{sentence.doc_id}:p{sentence.paragraph}.s{sentence.index}"


def leans_back(text: str) -> bool:
    """Whether a sentence only makes sense after the one before it (a pronoun start, or very short)."""
    words = text.split()
    if not words:
        return False
    return words[0].strip(",.:;\"'«»-–").lower() in _BACK_REFERENCES or len(words) <= 5


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


def _passage(index: NewsIndex, sentence: Sentence, score: float, used: set[str]) -> Passage:
    group = [sentence]
    if leans_back(sentence.text):
        previous = _neighbour(index, sentence, -1)
        if previous is not None and previous.id not in used:
            group.insert(0, _sentence(previous, 0.0))
    following = _neighbour(index, group[-1], +1)
    if (
        following is not None
        and following.id not in used
        and leans_back(following.page_content)
        and len(group) < MAX_PASSAGE_SENTENCES
    ):
        group.append(_sentence(following, 0.0))
    used.update(_sentence_id(s) for s in group)
    return Passage(group, score, sentence.score)


def version_key(text: str) -> frozenset[str]:
    """A sentence's words apart from its names and numbers (capitalised words after the first, and
    digits): what the versions of one sentence share, such as a wire update with new figures or a
    related story told with other names."""
    words = _LETTERS.findall(text)
    return frozenset(w.lower() for n, w in enumerate(words) if n == 0 or not w[0].isupper())


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


def retrieve(
    index: NewsIndex,
    question_vector: np.ndarray,
    articles: set[str] | None = None,
    sentences: int = TOP_SENTENCES,
    favoured: Favoured | None = None,
) -> Retrieval:
    """The best passages for the question vector, best first; only from `articles` (doc ids) when
    given. They come from the best `sentences` of the `SENTENCE_POOL` × `sentences` closest, once
    versions of one sentence are thinned out (`versions_thinned`, keeping the `favoured` ones);
    more sentences reach more articles."""
    only = {"doc_id": sorted(articles)} if articles is not None else None
    chunk_hits = index.chunks.similarity_search_by_vector_with_score(question_vector, TOP_CHUNKS, only)
    pool = index.sentences.similarity_search_by_vector_with_score(question_vector, sentences * SENTENCE_POOL, only)
    if not pool:
        return Retrieval([], 0.0)
    sentence_hits = versions_thinned(pool, sentences, favoured)
    chunk_score = {doc.id: score for doc, score in chunk_hits}
    missing = list({d.metadata["chunk_id"] for d, _ in sentence_hits} - set(chunk_score))
    for chunk_id, vector in zip(missing, index.chunks.vectors(missing)):
        chunk_score[chunk_id] = float(vector @ question_vector)
    weight = THRESHOLDS.sentence_weight
    ranked = sorted(
        (
            (weight * similarity + (1 - weight) * chunk_score[doc.metadata["chunk_id"]], _sentence(doc, similarity))
            for doc, similarity in sentence_hits
        ),
        key=lambda pair: -pair[0],
    )
    passages: list[Passage] = []
    used: set[str] = set()
    for score, sentence in ranked:
        if _sentence_id(sentence) not in used:
            passages.append(_passage(index, sentence, score, used))
    baseline = float(np.median([similarity for _, similarity in pool[:sentences]]))
    return Retrieval(distinct(passages), baseline)


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
            kept[twin] = Passage(passage.sentences, kept[twin].score, max(passage.similarity, kept[twin].similarity))
            statements[twin] = statement
    return kept


def _reranked(retrieval: Retrieval, key: Callable[[Passage], Any]) -> Retrieval:
    """The passages about as good as the best (`other_article_score`) ordered by `key`, highest
    first; the weaker ones after them, as they were."""
    if not retrieval.passages:
        return retrieval
    best = retrieval.passages[0].score
    close = [p for p in retrieval.passages if p.score >= best - THRESHOLDS.other_article_score]
    rest = [p for p in retrieval.passages if p.score < best - THRESHOLDS.other_article_score]
    close.sort(key=key, reverse=True)  # stable: equal keys keep their score order
    return Retrieval(close + rest, retrieval.baseline)


def newest_first(retrieval: Retrieval) -> Retrieval:
    """For "latest on …": among the passages about as good as the best, the newest article's first."""
    return _reranked(retrieval, lambda p: newest_key(p.lead.date))


def period_first(retrieval: Retrieval, articles: set[str]) -> Retrieval:
    """For "in March", "i 2021": among the passages about as good as the best, those of articles
    dated in the period first (news reports on a period after it, so the rest stay)."""
    return _reranked(retrieval, lambda p: p.lead.doc_id in articles)


def names_first(retrieval: Retrieval, names: list[str]) -> Retrieval:
    """For a question that names people, places or organisations: among the passages about as good
    as the best, those whose words or article headline hold more of the names first. Stories
    written to one template (another storm, another trial) differ in little but their names."""

    return _reranked(retrieval, lambda passage: names_held(names, passage.lead.title, passage.text))

"""The signals the learned ranker and the learned decision read, computed once per question.

A `QuestionAnalysis` holds what the question is (language, terms, names, numbers, the kind of
answer it asks for, the period it names); `candidate_features` turns each retrieved sentence into a
row of `CANDIDATE_FEATURES`, and `decision_features` turns the ranked evidence into a row of
`DECISION_FEATURES`. The models in bot/data are trained on exactly these rows (`newsbot train`), so
a feature added or renamed here fails the model check until the models are trained again.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from langchain_core.documents import Document

from bot.answering.matching import answer_type, answer_type_evidence, asks_for_name, says_unknown, term_match
from bot.documents import newest_key
from bot.lang import Term, content_terms, numbers_in
from bot.names import same_name
from bot.types import Lang

CANDIDATE_FEATURES = (
    "similarity",  # e5: the question against the sentence
    "similarity_gap",  # the sentence's similarity minus the best candidate's
    "paragraph_similarity",  # e5: the question against the sentence's paragraph
    "lead_similarity",  # e5: the question against its article's lead paragraph (the story it belongs to)
    "article_best_gap",  # the best candidate of its article minus the best overall
    "article_share",  # the share of the candidates from its article
    "term_share",  # the question's terms in the sentence: same stem, spelling or compound part
    "term_share_context",  # the same, in the sentence, the one before it and the article's headline
    "rare_term_share",  # the term share weighted by how rare each term is in the language
    "names_share",  # the question's names in the sentence or its headline
    "names_in_article",  # the question's names anywhere among its article's candidates and headline
    "numbers_share",  # the question's numbers in the sentence
    "answer_kind",  # the sentence holds the kind of answer asked for (1), not (0), none asked (0.5)
    "other_name",  # asked for a name, and the sentence names somebody the question doesn't
    "reason_cue",  # asked why, and the sentence gives a cause
    "quote",  # the sentence is somebody's words (a quote or "said")
    "says_unknown",  # the sentence says the asked-for thing is not known
    "lead_sentence",  # the article's first paragraph
    "paragraph_position",  # 1 / the paragraph's number
    "leans_back",  # starts with a pronoun or is very short: it needs the sentence before it
    "words",  # log of the sentence's length in words
    "outdated",  # a newer version of the same sentence is among the candidates
    "in_period",  # its article is from the period the question names
    "same_language",  # the article is in the question's language
)

DECISION_FEATURES = (
    "top_score",  # the ranker's logit for the best candidate
    "score_gap",  # best minus second
    "top3_mass",  # the three best candidates' probabilities, summed
    "top_similarity",  # e5 similarity of the best candidate
    "similarity_margin",  # best similarity minus the median retrieved one
    "top_term_share",  # the best candidate's share of the question's terms, with its context
    "top_rare_term_share",  # the same, weighted by rarity, in the sentence alone
    "top_names_share",  # the best candidate's share of the question's names
    "top_numbers_share",  # the best candidate's share of the question's numbers
    "top_answer_kind",  # the best candidate holds the kind of answer asked for
    "top_same_language",  # the best candidate is in the question's language
    "top_says_unknown",  # the best candidate says the thing asked for is not known
    "focus_coverage",  # the gate's: the best quote's share of the question's terms, found by likeness too
    "weakest_term",  # the gate's: the question term found least well in the quotes
    "names_found",  # the gate's: the question's names and numbers found in the quotes
    "answer_type_found",  # the gate's: the quotes hold the kind of answer asked for
    "name_tied",  # the gate's: asked for a name, a quote names somebody with the question's names
    "asks_quantity",  # what the question asks for (answer_types.json): a number or an amount
    "asks_time",
    "asks_reason",
    "asks_name",
    "question_terms",  # log of the number of the question's terms
)

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


def leans_back(text: str) -> bool:
    """Whether a sentence only makes sense after the one before it (a pronoun start, or very short)."""
    words = text.split()
    if not words:
        return False
    return words[0].strip(",.:;\"'«»-–").lower() in _BACK_REFERENCES or len(words) <= 5


def version_key(text: str) -> frozenset[str]:
    """A sentence's words apart from its names and numbers (capitalised words after the first, and
    digits): what the versions of one sentence share, such as a wire update with new figures or a
    related story told with other names."""
    words = _LETTERS.findall(text)
    return frozenset(w.lower() for n, w in enumerate(words) if n == 0 or not w[0].isupper())


def names_nothing(text: str, language: Lang) -> bool:
    """ "Who came second?": no person, place, organisation or event in it tells one story from
    another."""
    return not any(term.is_name for term in content_terms(text, language))


def wording_overlap(one: str, other: str) -> float:
    """How much of the shorter text's wording (`version_key`) the other holds: an update that adds
    a sentence still says it."""
    a, b = version_key(one), version_key(other)
    return len(a & b) / max(min(len(a), len(b)), 1)


@functools.lru_cache(maxsize=4096)
def story_names(lead: str) -> frozenset[str]:
    """The names an article's lead gives (capitalised away from a sentence's start), lower-cased."""
    return frozenset(t.lower for t in content_terms(lead, "da") if t.is_name and not t.is_number)


# Share of the fewer names two articles' leads have in common. One story's versions share all of
# them; stories told alike (two court cases, two share prices) share a place word at most.
SAME_STORY = 0.75


def same_story(one: frozenset[str], other: frozenset[str]) -> bool:
    """Whether two articles whose leads name `one` and `other` (`story_names`) tell one story."""
    shared = len(one & other)
    return shared > 0 and shared >= SAME_STORY * min(len(one), len(other))


_SECOND_QUESTION = re.compile(
    r"(?:,|\b(?:and|og))\s+(?:who|what|when|where|why|how|which|hvem|hvad|hvornår|hvor|hvorfor|hvilke|hvilken|hvilket)\b",
    re.IGNORECASE,
)


def asks_two_things(question: str) -> bool:
    """ "Who is the new CEO, and when does she start?": two questions in one, often answered by two sentences."""
    return bool(_SECOND_QUESTION.search(question))


_QUOTE = re.compile(r"^\s*[-–—]\s|\b(?:siger|sagde|says|said|told|udtaler|oplyser|skriver)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionAnalysis:
    """A question worked out once: what every later stage reads instead of re-reading the text."""

    text: str
    language: Lang
    terms: tuple[Term, ...]
    kind: str | None  # the kind of answer asked for (answer_types.json), or None
    asks_name: bool
    period: frozenset[str] = field(default_factory=frozenset)  # doc ids of the period it names

    @property
    def names(self) -> list[str]:
        return [t.surface for t in self.terms if t.is_name]

    @property
    def numbers(self) -> set[str]:
        return {t.lower for t in self.terms if t.is_number}


def analyse(text: str, language: Lang, period: set[str] | frozenset[str] = frozenset()) -> QuestionAnalysis:
    return QuestionAnalysis(
        text=text,
        language=language,
        terms=tuple(content_terms(text, language)),
        kind=answer_type(text),
        asks_name=asks_for_name(text),
        period=frozenset(period),
    )


@lru_cache(maxsize=1 << 14)
def _rarity(word: str, language: str) -> float:
    """How rare a word is in its language, 0 (very common) to 1 (unknown to the word lists)."""
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(word, language)
    return min(1.0, max(0.0, (7.0 - zipf) / 7.0))


@lru_cache(maxsize=1 << 14)  # a headline or a neighbouring sentence comes back for many candidates
def _matched(terms: tuple[Term, ...], evidence: tuple[Term, ...]) -> tuple[bool, ...]:
    words = [e for e in evidence if not e.is_number]
    stems = {e.stem for e in words}
    numbers = {e.lower for e in evidence if e.is_number}
    return tuple(
        (t.lower in numbers) if t.is_number else (t.stem in stems or any(term_match(t, e) for e in words))
        for t in terms
    )


def _share(hits: Sequence[bool], weights: list[float] | None = None) -> float:
    if not hits:
        return 0.5
    weights = weights or [1.0] * len(hits)
    return sum(w for h, w in zip(hits, weights) if h) / sum(weights)


def _terms_language(article_language: str) -> Lang:
    return "en" if article_language == "en" else "da"


@lru_cache(maxsize=1 << 14)
def _terms(text: str, language: Lang) -> tuple[Term, ...]:
    """A sentence's terms in its article's language (known from indexing: no detection per sentence)."""
    return tuple(content_terms(text, language))


def _names_share(names: list[str], words: list[str]) -> float:
    if not names:
        return 0.5
    return sum(any(same_name(name, word) for word in words) for name in names) / len(names)


_WORDS = re.compile(r"[^\W\d_]+")


def candidate_features(
    analysis: QuestionAnalysis,
    hits: Sequence[tuple[Document, float]],
    paragraph_similarity: dict[str, float],
    lead_similarity: dict[str, float],
    previous_text: dict[str, str],
) -> np.ndarray:
    """One row of CANDIDATE_FEATURES per retrieved sentence (`hits`: documents and their e5 similarity)."""
    terms = analysis.terms
    rarity = [1.0 if t.is_number or t.is_name else _rarity(t.lower, analysis.language) + 0.1 for t in terms]
    best = max((s for _, s in hits), default=0.0)
    by_article: dict[str, list[int]] = {}
    for i, (doc, _) in enumerate(hits):
        by_article.setdefault(doc.metadata["doc_id"], []).append(i)
    versions: dict[frozenset[str], str] = {}
    for doc, _ in hits:
        key = version_key(doc.page_content)
        if key and newest_key(doc.metadata["date"]) > newest_key(versions.get(key, "")):
            versions[key] = doc.metadata["date"]
    names = analysis.names
    article_words: dict[str, list[str]] = {}
    for doc_id, members in by_article.items():
        text = " ".join([hits[members[0]][0].metadata.get("title", "")] + [hits[i][0].page_content for i in members])
        article_words[doc_id] = _WORDS.findall(text)
    rows = []
    for doc, similarity in hits:
        m = doc.metadata
        text = doc.page_content
        doc_id = m["doc_id"]
        language = _terms_language(m.get("language", "da"))
        evidence = _terms(text, language)
        own_hits = _matched(terms, evidence)
        context_hits = [
            any(found)
            for found in zip(
                own_hits,
                _matched(terms, _terms(m.get("title", ""), language)),
                _matched(terms, _terms(previous_text.get(str(doc.id), ""), language)),
            )
        ]
        sentence_words = _WORDS.findall(f"{m.get('title', '')} {text}")
        key = version_key(text)
        others = [e for e in evidence if e.is_name and not any(same_name(e.lower, n.lower()) for n in names)]
        rows.append(
            [
                similarity,
                similarity - best,
                paragraph_similarity.get(m["chunk_id"], 0.0),
                lead_similarity.get(doc_id, 0.0),
                max(hits[i][1] for i in by_article[doc_id]) - best,
                len(by_article[doc_id]) / len(hits),
                _share(own_hits),
                _share(context_hits),
                _share(own_hits, rarity),
                _names_share(names, sentence_words),
                _names_share(names, article_words[doc_id]),
                _share([n in numbers_in(text) for n in analysis.numbers]) if analysis.numbers else 0.5,
                answer_type_evidence(analysis.kind, text),
                float(analysis.asks_name and bool(others)),
                float(analysis.kind == "reason" and answer_type_evidence("reason", text) == 1.0),
                float(bool(_QUOTE.search(text))),
                float(says_unknown(analysis.kind, text)),
                float(m["paragraph"] == 1),
                1.0 / m["paragraph"],
                float(leans_back(text)),
                math.log1p(len(text.split())),
                float(bool(key) and newest_key(versions[key]) > newest_key(m["date"])),
                float(doc_id in analysis.period),
                float(m.get("language", "da") == analysis.language),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(CANDIDATE_FEATURES))

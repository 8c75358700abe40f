"""The answerability gate: does the retrieved evidence answer the question at all?

Similarity alone can't tell (with e5-small the best sentence of an unanswerable question
scores 0.77–0.86, an answerable one 0.79–0.91), so the gate combines signals:

- how well the best passage matches, and its margin over the other retrieved sentences;
- whether the question's content terms occur in the evidence: same Danish/English stem,
  the same name spelt another way (Zelensky/Zelenskyj), or — across languages — a word whose
  e5 embedding stands out for that term against the article vocabulary;
- whether names and numbers in the question are all found (an absent year or name
  means the article is about something else), and, when a name is asked for ("Who is the
  president of Russia?"), whether one quote names somebody together with the question's names;
- whether the answer type the question asks for (a quantity, a time, an age, a cost) occurs in
  the evidence, or a sentence says the article does not know it.

With a local generator loaded, a second opinion follows where a decision rests on word likeness
(`bot.answering.readers.ReadingCheck`, run by `Answerer.refine`): the model reads the passages and says whether they
answer the question. It sees what term coverage can't ("What is the capital of Kazakhstan?"
over "landets største by"), though a 1.5B model not every relation ("Who is the
president of Russia?" over a passage naming Kazakhstan's president next to Russia).

The thresholds live in `Thresholds` (bot/answering/thresholds.py); nothing in here knows about a
particular article. The gate is a small rule over its signals (docs/decisions.md says why).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.answering.matching import (
    answer_type,
    answer_type_evidence,
    asks_for_name,
    compound_match,
    says_unknown,
    spelling_match,
)
from bot.answering.retrieve import MAX_CITATIONS, Retrieval
from bot.answering.thresholds import THRESHOLDS, Thresholds
from bot.lang import Term, content_terms, passage_terms
from bot.names import names_all, same_name
from bot.store.news_index import NewsIndex
from bot.types import Lang

MISSING_TERM = "a term of the question is not in the article"


@dataclass(frozen=True)
class GateFeatures:
    """The signals the gate weighs."""

    best_score: float
    margin: float
    focus_coverage: float  # the best single passage's share of the question's terms
    weakest_term: float  # the question term found least well anywhere in the evidence
    names_found: float
    answer_type_found: float
    name_tied: float = 1.0  # asked for a name: how well the best quote ties somebody to the question's names


@dataclass(frozen=True)
class GateDecision:
    answerable: bool
    reason: str  # which signal declined, or "answered"
    features: GateFeatures

    @property
    def doubtful(self) -> bool:
        """Whether the decision rests on word likeness, so a model's reading is worth a second:
        passed though a question term was found only by likeness ("capital" near "største by"),
        or declined for one term alone ("spokesman", which e5 doesn't see in "talsmand")."""
        if self.answerable:
            return self.features.weakest_term < THRESHOLDS.reading_below_term
        return self.reason == MISSING_TERM


def passes(features: GateFeatures, limits: Thresholds, read_again: bool) -> tuple[bool, str]:
    """The rule: every name/number found, somebody named with them when a name is asked for, the
    asked-for kind of answer present, no question term missing outright (unless the answer type
    itself is clearly there, or no model will read a decline again), enough focus.

    A term missing outright is weak evidence on its own: e5 word vectors don't find "unrest" in
    "urolighederne" or "spokesperson" in "polititalsmand". Over all our gate fixtures that rule
    declined 4 near misses and 7 answerable questions; a reading model tells them apart (all 11,
    measured), so it only applies when one will (`read_again`)."""
    if features.names_found < limits.names_found:
        return False, "a name or number of the question is not in the article"
    if features.name_tied < limits.weakest_term:
        return False, "no quote names anyone together with the question's names"
    if features.answer_type_found < limits.answer_type_found:
        return False, "the evidence holds no answer of the kind asked for"
    if (
        read_again
        and features.weakest_term < limits.weakest_term
        and features.answer_type_found < limits.answer_type_clear
    ):
        return False, MISSING_TERM
    if features.focus_coverage < limits.focus_coverage:
        return False, "no passage covers the question"
    if features.best_score + features.margin < limits.evidence_strength:
        return False, "the best passage matches weakly"
    return True, "answered"


def name_tie(terms: list[Term], evidence: tuple[Term, ...], scores: list[float]) -> float:
    """For a question asking for a name and holding names of its own ("Who is the president of
    Russia?"): how well this quote ties somebody to them — 0 unless it holds every one of the
    question's names and a name the question doesn't have, else how well its other words are
    found (the weakest). A quote naming Kazakhstan's president doesn't answer it, nor one listing
    Russia among other countries."""
    if not names_all([t.lower for t in terms if t.is_name], [e.lower for e in evidence]):
        return 0.0
    if not any(e.is_name and not any(same_name(e.lower, t.lower) for t in terms) for e in evidence):
        return 0.0
    return min((s for t, s in zip(terms, scores) if not (t.is_name or t.is_number)), default=1.0)


class TermMatcher:
    """Scores how well each question term is found in a piece of evidence."""

    def __init__(self, index: NewsIndex) -> None:
        self.index = index
        self._background = self._sample_vocabulary()

    def _sample_vocabulary(self, size: int = 2048) -> np.ndarray:
        words = [d.id for d in self.index.terms.documents()]
        if len(words) > size:
            words = [words[i] for i in np.linspace(0, len(words) - 1, size).astype(int)]
        return self.index.terms.vectors(words)

    def coverage(self, terms: list[Term], evidence_terms: list[Term], vectors: np.ndarray) -> list[float]:
        """A score in [0, 1] per question term: 1 for the same word, less for a weaker likeness."""
        words = [t.lower for t in evidence_terms if not t.is_number and self.index.terms.get_by_ids([t.lower])]
        word_vectors = self.index.terms.vectors(words)
        scores: list[float] = []
        for term, vector in zip(terms, vectors):
            if term.is_number:
                scores.append(float(any(e.is_number and e.lower == term.lower for e in evidence_terms)))
                continue
            if any(
                e.stem == term.stem or spelling_match(e.lower, term.lower) or compound_match(e.lower, term.lower)
                for e in evidence_terms
                if not e.is_number
            ):
                scores.append(1.0)
                continue
            if not len(word_vectors) or not len(self._background):
                scores.append(0.0)
                continue
            background = self._background @ vector
            z = (float(np.max(word_vectors @ vector)) - float(background.mean())) / (float(background.std()) + 1e-6)
            scores.append(
                min(
                    1.0,
                    max(
                        0.0,
                        (z - THRESHOLDS.embedding_z_low) / (THRESHOLDS.embedding_z_high - THRESHOLDS.embedding_z_low),
                    ),
                )
            )
        return scores


class AnswerabilityGate:
    """Decides from the retrieval whether to answer or decline."""

    def __init__(self, index: NewsIndex, remembered_terms: int = 4096) -> None:
        self.index = index
        self.matcher = TermMatcher(index)
        # Questions share most of their words: each is embedded once, not once per question.
        self._term_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._remembered_terms = remembered_terms

    def term_vectors(self, words: list[str]) -> np.ndarray:
        """The question words' e5 vectors (as passages), from a bounded memory where it has them."""
        new = [w for w in dict.fromkeys(words) if w not in self._term_vectors]
        if new:
            for word, vector in zip(new, self.index.embeddings.embed_passages(new)):
                self._term_vectors[word] = vector
        for word in words:
            self._term_vectors.move_to_end(word)
        vectors = np.vstack([self._term_vectors[w] for w in words])
        while len(self._term_vectors) > self._remembered_terms:
            self._term_vectors.popitem(last=False)
        return vectors

    def features(self, question: str, language: Lang, retrieval: Retrieval) -> GateFeatures:
        passages = retrieval.passages[:MAX_CITATIONS]
        if not passages:
            return GateFeatures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        terms = content_terms(question, language)
        vectors = self.term_vectors([t.lower for t in terms]) if terms else np.zeros((0, 1))
        per_passage: list[list[float]] = []
        for passage in passages:
            evidence_terms = list(passage_terms(passage.text))
            per_passage.append(self.matcher.coverage(terms, evidence_terms, vectors))
        weights = [2.0 if (t.is_name or t.is_number) else 1.0 for t in terms]

        def weighted(scores: list[float]) -> float:
            return sum(w * s for w, s in zip(weights, scores)) / sum(weights) if terms else 0.5

        focus = max(range(len(passages)), key=lambda i: weighted(per_passage[i]))
        focus_coverage = weighted(per_passage[focus])
        kind = answer_type(question)
        anywhere = [max(column) for column in zip(*per_passage)] if terms else []
        key = [s for t, s in zip(terms, anywhere) if t.is_name or t.is_number]
        tied = (
            max(name_tie(terms, passage_terms(p.text), scores) for p, scores in zip(passages, per_passage))
            if asks_for_name(question) and any(t.is_name for t in terms)
            else 1.0
        )
        return GateFeatures(
            best_score=passages[0].score,
            margin=passages[0].similarity - retrieval.baseline,
            focus_coverage=focus_coverage,
            weakest_term=min(anywhere) if anywhere else 0.5,
            names_found=min(key) if key else 1.0,
            answer_type_found=max(
                [answer_type_evidence(kind, passages[focus].text)]
                + [
                    1.0
                    for passage, scores in zip(passages, per_passage)
                    if weighted(scores) >= focus_coverage - THRESHOLDS.focus_tolerance
                    and says_unknown(kind, passage.text)
                ]
            ),
            name_tied=tied,
        )

    def decide(self, question: str, language: Lang, retrieval: Retrieval, read_again: bool = False) -> GateDecision:
        """`read_again`: a model will read doubtful decisions again (`ReadingCheck`)."""
        features = self.features(question, language, retrieval)
        answerable, reason = passes(features, THRESHOLDS, read_again)
        return GateDecision(answerable, reason, features)

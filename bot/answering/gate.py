"""The reply decision: do the ranked quotes answer the question, come close, or hold nothing?

The gate computes signals over the best quotes:

- how well the best passage matches, the ranker's confidence in it and its lead over the next;
- whether the question's content terms occur in the evidence: same Danish/English stem,
  the same name spelt another way (Zelensky/Zelenskyj), or — across languages — a word whose
  e5 embedding stands out for that term against the article vocabulary;
- whether names and numbers in the question are all found (an absent year or name
  means the article is about something else), and, when a name is asked for ("Who is the
  president of Russia?"), whether one quote names somebody together with the question's names;
- whether the answer type the question asks for (a quantity, a time, an age, a cost) occurs in
  the evidence, or a sentence says the article does not know it.

A logistic model trained on the corpus (`newsbot train`, bot.answering.learned) turns them into the
probability that the quotes answer the question; two thresholds fitted by cross-validation make it
an answer, a "closest" reply (the quotes, saying the articles don't state exactly that) or a
decline. With a local generator loaded, a "closest" reply is read again by the model
(`bot.answering.readers.ReadingCheck`, run by `Answerer.refine`), which may make it an answer.
Nothing in here knows about a particular article.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.answering.features import CANDIDATE_FEATURES, QuestionAnalysis
from bot.answering.learned import Models, Verdict
from bot.answering.matching import answer_type_evidence, compound_match, says_unknown, spelling_match
from bot.answering.retrieve import MAX_CITATIONS, Retrieval
from bot.answering.thresholds import THRESHOLDS
from bot.lang import Term, passage_terms
from bot.names import names_all, same_name
from bot.store.news_index import NewsIndex


@dataclass(frozen=True)
class GateFeatures:
    """The term, name and answer-kind signals over the best quotes."""

    focus_coverage: float  # the best single passage's share of the question's terms
    weakest_term: float  # the question term found least well anywhere in the evidence
    names_found: float
    answer_type_found: float
    name_tied: float = 1.0  # asked for a name: how well the best quote ties somebody to the question's names


@dataclass(frozen=True)
class GateDecision:
    verdict: Verdict
    probability: float  # that the quotes answer the question
    reason: str
    features: GateFeatures

    @property
    def answerable(self) -> bool:
        return self.verdict == "answer"

    @property
    def doubtful(self) -> bool:
        """A "closest" reply: the quotes come near, and a model's reading is worth a second."""
        return self.verdict == "closest"


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def decision_row(analysis: QuestionAnalysis, retrieval: Retrieval, gate: GateFeatures) -> np.ndarray:
    """The question's row of DECISION_FEATURES."""
    passages = retrieval.passages
    top = passages[0]
    second = passages[1].score if len(passages) > 1 else 0.0
    own = dict(zip(CANDIDATE_FEATURES, top.features)) if top.features is not None else {}
    row = [
        _logit(top.score),
        _logit(top.score) - _logit(second),
        sum(p.score for p in passages[:MAX_CITATIONS]),
        top.similarity,
        top.similarity - retrieval.baseline,
        own.get("term_share_context", 0.5),
        own.get("rare_term_share", 0.5),
        own.get("names_share", 0.5),
        own.get("numbers_share", 0.5),
        own.get("answer_kind", 0.5),
        own.get("same_language", 1.0),
        own.get("says_unknown", 0.0),
        gate.focus_coverage,
        gate.weakest_term,
        gate.names_found,
        gate.answer_type_found,
        gate.name_tied,
        float(analysis.kind in ("quantity", "cost", "age")),
        float(analysis.kind == "time"),
        float(analysis.kind == "reason"),
        float(analysis.asks_name),
        math.log1p(len(analysis.terms)),
    ]
    return np.asarray([row], dtype=np.float64)


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

    def features(self, analysis: QuestionAnalysis, retrieval: Retrieval) -> GateFeatures:
        passages = retrieval.passages[:MAX_CITATIONS]
        if not passages:
            return GateFeatures(0.0, 0.0, 0.0, 0.0, 0.0)
        terms = list(analysis.terms)
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
        kind = analysis.kind
        anywhere = [max(column) for column in zip(*per_passage)] if terms else []
        key = [s for t, s in zip(terms, anywhere) if t.is_name or t.is_number]
        tied = (
            max(name_tie(terms, passage_terms(p.text), scores) for p, scores in zip(passages, per_passage))
            if analysis.asks_name and any(t.is_name for t in terms)
            else 1.0
        )
        return GateFeatures(
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

    def decide(self, analysis: QuestionAnalysis, retrieval: Retrieval, model: Models) -> GateDecision:
        features = self.features(analysis, retrieval)
        if not retrieval.passages:
            return GateDecision("decline", 0.0, "nothing in the archive comes near", features)
        probability = float(model.decider.probabilities(decision_row(analysis, retrieval, features))[0])
        verdict = model.verdict(probability)
        return GateDecision(verdict, probability, f"{_REASONS[verdict]} (p {probability:.2f})", features)


_REASONS: dict[Verdict, str] = {
    "answer": "answered",
    "closest": "the quotes come close but may not say it",
    "decline": "declined",
}

"""Training the ranker and the reply decision from labelled questions (`newsbot train`).

Every question of the training stories is searched as the chain searches it; each of its candidate
sentences is labelled by the corpus (`answer_sentences`, or the `evidence` strings where a question
has no sentences labelled). Stories are split into folds (`GroupKFold`), so every number reported
here, and the decision's thresholds, come from questions whose story the models did not see:

1. the ranker (logistic, one row per candidate) is fitted on the other folds and ranks each fold;
2. each question's ranked quotes give one decision row, labelled by whether the quotes shown hold
   its evidence; the decision (logistic) is cross-validated the same way, and its two thresholds are
   set on those out-of-fold probabilities (`thresholds`): "answer" at the equal-error point, or where
   at most a chosen share of the unanswerable questions pass; "decline" only below where at most
   `ANSWERABLE_DECLINED` of the answerable ones fall;
3. both are fitted once more on all training stories and written as JSON.

The held-out stories never enter: `newsbot eval --corpus` reports them, and `feature_ablation`
(`newsbot eval --features`) measures each feature's worth on them in aggregate only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.answering.chain import Answerer, Question, Search, citations_from
from bot.answering.composers.extractive import disagreement, shown_citations
from bot.answering.features import CANDIDATE_FEATURES, DECISION_FEATURES, asks_two_things
from bot.answering.gate import decision_row
from bot.answering.learned import DECIDER_FILE, RANKER_FILE, LinearModel, Models
from bot.answering.retrieve import Candidates, candidates, favouring, ranked
from bot.bench.evaluation import groups_hit
from bot.errors import InputError
from bot.types import Answer

FOLDS = 5
REGULARISATION = 1.0  # sklearn's C: the inverse strength of the L2 penalty
ANSWERABLE_DECLINED = 0.03  # the most answerable questions it may decline outright
TRAINING_SPLITS = ("train", "validation")

Progress = Callable[[str], None]


@dataclass
class Asked:
    """One question searched: its candidates, which of them answer it, and its story."""

    item: dict[str, Any]
    story: str
    answerer: Answerer  # the archive it was searched in (the corpus, or a newsroom's for feedback)
    search: Search
    found: Candidates
    positive: np.ndarray  # one bool per candidate

    @property
    def answerable(self) -> bool:
        return bool(self.item["answerable"])


def story_of(item: dict[str, Any]) -> str:
    """The story a question belongs to: its id's prefix ("w2_boligpriser-07" → "w2_boligpriser");
    a feedback row ("log-118") is a story of its own."""
    identity = str(item.get("id", ""))
    if identity.startswith("log-") or not item.get("article"):
        return identity or str(item.get("question", ""))
    return identity.rsplit("-", 1)[0]


def reviewed(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feedback rows an editor finished (`newsbot feedback export`, then reviewed): answerable
    ones with their `evidence` filled in, and those marked unanswerable."""
    return [i for i in items if (i.get("answerable") and i.get("evidence")) or i.get("answerable") is False]


def _same_story(doc_id: str, article: str) -> bool:
    stem = Path(article).stem
    return doc_id.removesuffix("_v2") == stem.removesuffix("_v2")


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def labels(item: dict[str, Any], found: Candidates) -> np.ndarray:
    """Which candidates answer the question: one of its `answer_sentences` (in its story, and in
    the named version for an update), or, without those, a sentence of its article holding one of
    its `evidence` strings."""
    article = str(item.get("article", ""))
    answers = [_normal(s) for s in item.get("answer_sentences") or []]
    evidence = [alt.lower() for group in item.get("evidence") or [] for alt in group]
    out = []
    for doc, _ in found.hits:
        doc_id, text = doc.metadata["doc_id"], _normal(doc.page_content)
        if not item.get("answerable"):
            out.append(False)
        elif answers:
            right_doc = doc_id == Path(article).stem if item.get("kind") == "update" else _same_story(doc_id, article)
            out.append(right_doc and any(text == a or (len(text) >= 20 and (text in a or a in text)) for a in answers))
        else:  # a reviewed feedback row names no article: its evidence in any article's sentence
            right_doc = doc_id == Path(article).stem if article else True
            out.append(right_doc and any(alt in text for alt in evidence))
    return np.asarray(out, dtype=bool)


def ask_all(answerer: Answerer, items: Sequence[dict[str, Any]], progress: Progress) -> list[Asked]:
    """Every question searched as the chain does, with its candidates' features and labels."""
    asked: list[Asked] = []
    for number, item in enumerate(items, start=1):
        try:
            draft = answerer.draft(Question(str(item["question"])))
        except InputError:
            continue
        search = answerer.search_for(draft)
        if isinstance(search, Answer):
            continue
        vector = answerer.index.embeddings.embed_questions([search.analysis.text])[0]
        favoured = favouring(search.analysis.names, set(search.analysis.period))
        found = candidates(answerer.index, vector, search.analysis, search.articles, favoured)
        asked.append(Asked(item, story_of(item), answerer, search, found, labels(item, found)))
        if number % 100 == 0:
            progress(f"searched {number} of {len(items)} questions")
    return asked


def fit(rows: np.ndarray, target: np.ndarray, names: Sequence[str], **extra: Any) -> LinearModel:
    """A standardised L2 logistic regression (scikit-learn, deterministic)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise InputError("Training needs scikit-learn: pip install 'newsbot[train]'.") from None
    if len(set(target.tolist())) < 2:
        raise InputError("The training questions hold only one kind of label: give more stories.")
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=5000).fit((rows - mean) / scale, target)
    return LinearModel(tuple(names), mean, scale, model.coef_[0].copy(), float(model.intercept_[0]), **extra)


def _folds(stories: Sequence[str], folds: int) -> list[np.ndarray]:
    """Question indices of each fold; a story's questions share a fold (stories dealt in sorted order)."""
    names = sorted(set(stories))
    count = min(folds, len(names))
    fold_of = {name: i % count for i, name in enumerate(names)}
    return [np.asarray([i for i, s in enumerate(stories) if fold_of[s] == k]) for k in range(count)]


def _candidate_rows(asked: Sequence[Asked], columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    rows = [a.found.rows[:, columns] for a in asked if len(a.found.hits)]
    target = [a.positive for a in asked if len(a.found.hits)]
    if not rows:
        return np.zeros((0, len(columns))), np.zeros(0, dtype=bool)
    return np.vstack(rows), np.concatenate(target)


def fit_ranker(asked: Sequence[Asked], columns: Sequence[int] | None = None, **extra: Any) -> LinearModel:
    columns = list(range(len(CANDIDATE_FEATURES))) if columns is None else list(columns)
    rows, target = _candidate_rows(asked, columns)
    return fit(rows, target, [CANDIDATE_FEATURES[c] for c in columns], **extra)


@dataclass
class Decided:
    """One question's decision row and what its shown quotes hold."""

    row: np.ndarray
    hit: bool  # answerable, and the quotes shown hold its evidence
    answerable: bool
    first_positive: bool  # the ranker put an answering sentence first
    top3_positive: bool


def _probabilities(ranker: LinearModel, found: Candidates, columns: Sequence[int]) -> np.ndarray:
    return ranker.probabilities(found.rows[:, list(columns)])


def decide_rows(asked: Sequence[Asked], ranker: LinearModel, columns: Sequence[int] | None = None) -> list[Decided]:
    """Each question's decision row once `ranker` has ordered its candidates."""
    columns = list(range(len(CANDIDATE_FEATURES))) if columns is None else list(columns)
    out = []
    for a in asked:
        if not len(a.found.hits):
            continue
        probabilities = _probabilities(ranker, a.found, columns)
        order = np.argsort(-probabilities, kind="stable")
        retrieval = ranked(a.answerer.index, a.found, probabilities)
        gate = a.answerer.gate.features(a.search.analysis, retrieval)
        quotes = citations_from(retrieval, a.answerer.index)
        shown = disagreement(quotes) or shown_citations(quotes, asks_two_things(a.search.analysis.text))
        evidence = a.item.get("evidence") or []
        hit = a.answerable and bool(evidence) and groups_hit(evidence, " ".join(c.quote for c in shown))
        out.append(
            Decided(
                decision_row(a.search.analysis, retrieval, gate)[0],
                hit,
                a.answerable,
                bool(a.positive[order[0]]),
                bool(a.positive[order[:3]].any()),
            )
        )
    return out


def thresholds(
    probabilities: np.ndarray, answerable: np.ndarray, near_misses_answered: float | None = None
) -> dict[str, float]:
    """The decision's thresholds on out-of-fold probabilities. "answer": by default the equal-error
    point, where the share of unanswerable questions answered meets the share of answerable ones not
    answered (no weight of one error against the other is set by hand); with `near_misses_answered`,
    the lowest threshold that answers at most that share of the unanswerable questions. "closest":
    the highest threshold that declines at most `ANSWERABLE_DECLINED` of the answerable ones."""
    unanswerable = np.sort(probabilities[~answerable])
    answering = np.sort(probabilities[answerable])
    if not len(unanswerable) or not len(answering):
        answer = 0.5
    elif near_misses_answered is None:
        answer = next(
            (float(t) for t in np.unique(probabilities) if (unanswerable >= t).mean() <= (answering < t).mean()),
            1.0,
        )
    else:
        allowed = int(np.floor(near_misses_answered * len(unanswerable)))
        answer = float(unanswerable[len(unanswerable) - allowed - 1]) + 1e-6
    if len(answering):
        allowed = int(np.floor(ANSWERABLE_DECLINED * len(answering)))
        closest = float(answering[allowed]) - 1e-6 if allowed < len(answering) else 0.0
    else:
        closest = 0.0
    return {"answer": round(answer, 6), "closest": round(max(0.0, min(closest, answer)), 6)}


@dataclass
class Training:
    """What `train` fitted and measured."""

    models: Models
    report: dict[str, Any] = field(default_factory=dict)


def corpus_version(folder: Path) -> str:
    """A digest of the corpus's files, so a model names what it was trained on."""
    digest = hashlib.sha256()
    for path in sorted((folder / "articles").iterdir()) + sorted((folder / "questions").glob("*.jsonl")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class DecisionData:
    """The out-of-fold decision rows of the training questions, with their labels and stories."""

    rows: np.ndarray
    hits: np.ndarray
    answerable: np.ndarray
    stories: list[str]
    first_positive: np.ndarray
    top3_positive: np.ndarray


def out_of_fold_decisions(asked: list[Asked], progress: Progress, folds: int = FOLDS) -> DecisionData:
    """Each training question's decision row, ranked by a ranker that never saw its story."""
    parts = _folds([a.story for a in asked], folds)
    decided: list[Decided] = []
    stories: list[str] = []
    for k, held in enumerate(parts):
        outside = set(held.tolist())
        ranker = fit_ranker([asked[i] for i in range(len(asked)) if i not in outside])
        for_fold = decide_rows([asked[i] for i in held], ranker)
        decided += for_fold
        stories += [asked[i].story for i in held.tolist() if len(asked[i].found.hits)]
        progress(f"fold {k + 1} of {len(parts)}: ranked {len(for_fold)} questions")
    return DecisionData(
        np.vstack([d.row for d in decided]),
        np.asarray([d.hit for d in decided]),
        np.asarray([d.answerable for d in decided]),
        stories,
        np.asarray([d.first_positive for d in decided]),
        np.asarray([d.top3_positive for d in decided]),
    )


def _cross_validated(data: DecisionData, columns: Sequence[int], folds: int = FOLDS) -> np.ndarray:
    probabilities = np.zeros(len(data.hits))
    names = [DECISION_FEATURES[c] for c in columns]
    for fold in _folds(data.stories, folds):
        rest = np.setdiff1d(np.arange(len(data.hits)), fold)
        model = fit(data.rows[rest][:, columns], data.hits[rest], names)
        probabilities[fold] = model.probabilities(data.rows[fold][:, columns])
    return probabilities


def rates(probabilities: np.ndarray, limits: dict[str, float], hits: np.ndarray, answerable: np.ndarray) -> dict:
    """Evidence quoted, answerable declined and answered as closest (of the answerable), near misses
    answered (of the unanswerable), for the decision's thresholds."""
    verdicts = np.where(probabilities >= limits["answer"], 2, np.where(probabilities >= limits["closest"], 1, 0))
    n_answerable = max(int(answerable.sum()), 1)
    n_unanswerable = max(int((~answerable).sum()), 1)
    return {
        "evidence_quoted": round(float(((verdicts == 2) & hits).sum() / n_answerable), 3),
        "answerable_declined": round(float(((verdicts == 0) & answerable).sum() / n_answerable), 3),
        "answerable_closest": round(float(((verdicts == 1) & answerable).sum() / n_answerable), 3),
        "near_misses_answered": round(float(((verdicts == 2) & ~answerable).sum() / n_unanswerable), 3),
    }


def train(
    asked: list[Asked],
    corpus: str,
    progress: Progress,
    folds: int = FOLDS,
    near_misses_answered: float | None = None,
) -> Training:
    """The ranker and the decision, cross-validated by story, then fitted on every story."""
    data = out_of_fold_decisions(asked, progress, folds)
    every = list(range(len(DECISION_FEATURES)))
    out_of_fold = _cross_validated(data, every, folds)
    limits = thresholds(out_of_fold, data.answerable, near_misses_answered)
    n_answerable = max(int(data.answerable.sum()), 1)
    report = {
        "questions": len(data.hits),
        "stories": len(set(data.stories)),
        "answering_sentence_first": round(float(data.first_positive[data.answerable].mean()), 3),
        "answering_sentence_in_top_3": round(float(data.top3_positive[data.answerable].mean()), 3),
        **rates(out_of_fold, limits, data.hits, data.answerable),
        "thresholds": limits,
        "trade_off": {
            f"{rate:.2f}": round(float(((out_of_fold >= cut) & data.hits).sum() / n_answerable), 3)
            for rate in (0.05, 0.10, 0.20, 0.30, 0.50)
            for cut in [np.quantile(out_of_fold[~data.answerable], 1 - rate) if (~data.answerable).any() else 0.5]
        },  # evidence quoted as answers when that share of the unanswerable questions is answered
    }
    progress(f"cross-validated: {report}")
    metrics = {"cross_validated": report}
    ranker = fit_ranker(asked, corpus=corpus, metrics=metrics)
    decider = fit(data.rows, data.hits, DECISION_FEATURES, corpus=corpus, thresholds=limits, metrics=metrics)
    return Training(Models(ranker, decider), report)


@dataclass(frozen=True)
class Worth:
    """What the held-out stories lose when one feature is left out and both models are trained again."""

    feature: str
    model: str  # "ranker" or "decision"
    first: float  # answering sentence ranked first (ranker) / evidence quoted as an answer (decision)
    second: float  # in the first three (ranker) / near misses answered (decision)


def feature_ablation(training: list[Asked], heldout: list[Asked], progress: Progress) -> tuple[Worth, list[Worth]]:
    """Every feature left out in turn, measured on the held-out stories in aggregate: the ranker by
    the answering sentence ranked first and among the first three, the decision by evidence quoted
    and near misses answered at the thresholds its own cross-validation sets."""
    answerable = [a for a in heldout if a.answerable and len(a.found.hits)]

    def ranked_well(columns: list[int]) -> tuple[float, float]:
        ranker = fit_ranker(training, columns)
        first, top3 = [], []
        for a in answerable:
            order = np.argsort(-_probabilities(ranker, a.found, columns), kind="stable")
            first.append(bool(a.positive[order[0]]))
            top3.append(bool(a.positive[order[:3]].any()))
        return float(np.mean(first)), float(np.mean(top3))

    every = list(range(len(CANDIDATE_FEATURES)))
    full = ranked_well(every)
    results = []
    for c, name in enumerate(CANDIDATE_FEATURES):
        first, top3 = ranked_well([i for i in every if i != c])
        results.append(Worth(name, "ranker", full[0] - first, full[1] - top3))
    progress("ranker features measured")
    data = out_of_fold_decisions(training, progress)
    held = decide_rows(heldout, fit_ranker(training))
    held_rows = np.vstack([d.row for d in held])
    held_hits = np.asarray([d.hit for d in held])
    held_answerable = np.asarray([d.answerable for d in held])

    def decided_well(columns: list[int]) -> tuple[float, float]:
        limits = thresholds(_cross_validated(data, columns), data.answerable)
        model = fit(data.rows[:, columns], data.hits, [DECISION_FEATURES[c] for c in columns])
        measured = rates(model.probabilities(held_rows[:, columns]), limits, held_hits, held_answerable)
        return measured["evidence_quoted"], measured["near_misses_answered"]

    every = list(range(len(DECISION_FEATURES)))
    whole = decided_well(every)
    for c, name in enumerate(DECISION_FEATURES):
        quoted, answered = decided_well([i for i in every if i != c])
        results.append(Worth(name, "decision", whole[0] - quoted, answered - whole[1]))
    baseline = Worth("(all features)", "ranker+decision", full[0], whole[0])
    return baseline, results


def write_models(models: Models, folder: Path) -> list[Path]:
    """Both models as JSON in `folder`, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in ((RANKER_FILE, models.ranker), (DECIDER_FILE, models.decider)):
        target = folder / name
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(model.to_json(), out, indent=1, ensure_ascii=False)
            out.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
        written.append(target)
    return written

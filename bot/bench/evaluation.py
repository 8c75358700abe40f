"""Scoring answers against a QA file (the dev set's format: docs/evaluation.md) or a corpus folder."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import InputError
from bot.types import Answer, Citation


def load_qa(path: Path) -> list[dict[str, Any]]:
    """The questions of a QA file; raises InputError on a missing file or a bad line."""
    try:  # JSON Lines end at "\n" alone: U+2028 and the like may stand in a question, unescaped
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Can't read QA file {path}: {error}.") from error
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            item["question"], item["answerable"]
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}:{number} is not a QA item ({error}).") from error
        items.append(item)
    return items


def load_corpus(folder: Path) -> list[dict[str, Any]]:
    """The questions of a corpus folder (`questions/*.jsonl`, each item naming its `article` in
    `articles/`); raises InputError when the folder isn't one."""
    files = sorted((folder / "questions").glob("*.jsonl"))
    if not (folder / "articles").is_dir() or not files:
        raise InputError(f"{folder} is not a corpus: it needs articles/*.txt and questions/*.jsonl.")
    items = [item for path in files for item in load_qa(path)]
    missing = sorted(
        {str(i.get("article")) for i in items if not (folder / "articles" / str(i.get("article"))).is_file()}
    )
    if missing:
        raise InputError(f"{folder}: questions name articles that aren't in articles/: {', '.join(missing)}.")
    return items


def percentile(values: list[float], q: float) -> float:
    """The value at quantile `q` (nearest rank); 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def groups_hit(groups: list[list[str]], text: str) -> bool:
    """Every group has one alternative in the text (case-insensitive)."""
    lowered = text.lower()
    return all(any(alt.lower() in lowered for alt in group) for group in groups)


@dataclass
class ItemResult:
    id: str
    question: str
    answerable: bool
    declined: bool
    evidence_hit: bool | None  # answered, with quotes that hold the evidence
    expect_hit: bool | None
    language_ok: bool
    verified: bool
    generated: bool  # a generator's verified answer was shown (not the extractive one)
    ms: float
    split: str = ""  # a QA file may split its items (e.g. calibrate / report for the gate, tune / heldout)
    article: str = ""  # the article the question is about, when the file says
    right_article: bool | None = None  # the first quote comes from that article
    recall_at_3: bool | None = None  # the evidence is among the three best retrieved passages, answered or not
    language: str = ""  # the question's
    verdict: str = ""  # answer, closest or decline
    evidence_shown: bool | None = None  # the quotes shown hold the evidence, answered or "closest"
    kind: str = ""  # the corpus's kind of question (two_facts, near_miss …)
    offered_right: bool | None = None  # a "Which story?" reply offered the question's article


@dataclass
class EvalReport:
    items: list[ItemResult] = field(default_factory=list)

    def add(
        self, item: dict[str, Any], answer: Answer, ms: float, retrieved: list[Citation] | None = None
    ) -> ItemResult:
        quotes = " ".join(c.quote for c in answer.citations)
        answerable = bool(item["answerable"])
        result = ItemResult(
            id=str(item.get("id", len(self.items) + 1)),
            question=item["question"],
            answerable=answerable,
            declined=answer.verdict == "decline",
            evidence_hit=(answer.answerable and groups_hit(item.get("evidence", []), quotes)) if answerable else None,
            expect_hit=(answer.answerable and groups_hit(item.get("expect", []), answer.answer))
            if answerable
            else None,
            language_ok=answer.language == item.get("lang", answer.language),
            verified=answer.verified,
            generated=answer.backend != "extractive",
            ms=ms,
            split=str(item.get("split", "")),
            article=str(item.get("article", "")),
            right_article=(bool(answer.citations) and answer.citations[0].doc_id == Path(str(item["article"])).stem)
            if answerable and item.get("article")
            else None,
            recall_at_3=groups_hit(item.get("evidence", []), " ".join(c.quote for c in retrieved))
            if answerable and retrieved is not None
            else None,
            language=str(item.get("lang", "")),
            verdict=answer.verdict,
            kind=str(item.get("kind", "")),
            evidence_shown=groups_hit(item.get("evidence", []), quotes) if answerable and answer.citations else False,
            offered_right=any(s.doc_id == Path(str(item["article"])).stem for s in answer.stories)
            if answer.stories and item.get("article")
            else None,
        )
        self.items.append(result)
        return result

    def totals(self, items: list[ItemResult] | None = None) -> dict[str, Any]:
        rows = self.items if items is None else items
        answerable = [r for r in rows if r.answerable]
        unanswerable = [r for r in rows if not r.answerable]
        times = sorted(r.ms for r in rows) or [0.0]
        return {
            "questions": len(rows),
            "evidence_hits": sum(bool(r.evidence_hit) for r in answerable),
            "evidence_shown": sum(bool(r.evidence_shown) for r in answerable),
            "answer_hits": sum(bool(r.expect_hit) for r in answerable),
            "answerable": len(answerable),
            "correct_declines": sum(r.verdict != "answer" for r in unanswerable),
            "near_misses_answered": sum(r.verdict == "answer" for r in unanswerable),
            "answerable_closest": sum(r.verdict == "closest" for r in answerable),
            "unanswerable": len(unanswerable),
            "false_declines": sum(r.declined for r in answerable),
            "right_article": sum(bool(r.right_article) for r in answerable),
            "choices": sum(r.verdict == "choose" for r in answerable),
            "choices_right": sum(bool(r.offered_right) for r in answerable),
            "recall_at_3": sum(bool(r.recall_at_3) for r in answerable),
            "language_matches": sum(r.language_ok for r in rows),
            "verified": sum(r.verified for r in rows),
            "generated": sum(r.generated for r in rows),
            "fallbacks": sum(not r.verified for r in rows),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }

    def intervals(self, items: list[ItemResult] | None = None) -> dict[str, tuple[float, float, float]]:
        """The main rates with 95% intervals (`interval`): evidence quoted, right article first,
        answerable declined and answered as closest (of the answerable), near misses answered (of
        the unanswerable), two-part questions with evidence for each part."""
        rows = self.items if items is None else items
        answerable = [r for r in rows if r.answerable]
        unanswerable = [r for r in rows if not r.answerable]
        two_part = [r for r in answerable if r.kind == "two_facts"]
        measures = {
            "evidence quoted as an answer": (answerable, lambda r: bool(r.evidence_hit)),
            "evidence among the quotes shown": (answerable, lambda r: bool(r.evidence_shown)),
            "right article first": (answerable, lambda r: bool(r.right_article)),
            "answerable declined": (answerable, lambda r: r.verdict == "decline"),
            "answerable as closest": (answerable, lambda r: r.verdict == "closest"),
            "near misses answered": (unanswerable, lambda r: r.verdict == "answer"),
            "two-part with evidence": (two_part, lambda r: bool(r.evidence_hit)),
        }
        return {name: interval(group, hit) for name, (group, hit) in measures.items() if group}

    def by(self, key: str) -> dict[str, dict[str, Any]]:
        """The totals per value of `key` ("split" or "article")."""
        values = sorted({getattr(r, key) for r in self.items})
        return {value or "all": self.totals([r for r in self.items if getattr(r, key) == value]) for value in values}

    def gate_by_split(self) -> dict[str, dict[str, float]]:
        """The gate as a classifier of "answer": precision and recall, per split of the file
        (or "all"). Precision counts how many of the answered questions were answerable."""
        results: dict[str, dict[str, float]] = {}
        for split in sorted({r.split for r in self.items}):
            rows = [r for r in self.items if r.split == split]
            answered = [r for r in rows if not r.declined]
            true_answers = sum(r.answerable for r in answered)
            answerable = sum(r.answerable for r in rows)
            results[split or "all"] = {
                "precision": round(true_answers / len(answered), 2) if answered else 0.0,
                "recall": round(true_answers / answerable, 2) if answerable else 0.0,
                "declined_unanswerable": sum(r.declined and not r.answerable for r in rows),
                "unanswerable": len(rows) - answerable,
            }
        return results


def story(result: ItemResult) -> str:
    """The story a result's question is about: its article, a second version counted as the first."""
    return Path(result.article).stem.removesuffix("_v2") or result.id


def interval(
    rows: list[ItemResult], hit: Callable[[ItemResult], bool], resamples: int = 2000
) -> tuple[float, float, float]:
    """The share of `rows` that `hit`, with a 95% bootstrap interval: stories are resampled, not
    questions, since one story's questions succeed and fail together (a fixed seed: the same
    interval for the same results)."""
    if not rows:
        return (0.0, 0.0, 0.0)
    groups: dict[str, list[bool]] = {}
    for row in rows:
        groups.setdefault(story(row), []).append(hit(row))
    sums = np.asarray([sum(g) for g in groups.values()], dtype=float)
    sizes = np.asarray([len(g) for g in groups.values()], dtype=float)
    share = float(sums.sum() / sizes.sum())
    if len(groups) < 2:
        return (share, share, share)
    draws = np.random.default_rng(0).integers(0, len(groups), size=(resamples, len(groups)))
    shares = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    low, high = np.percentile(shares, [2.5, 97.5])
    return (share, float(low), float(high))


def rss_of(pid: int, field: str) -> float | None:
    """VmRSS (now) or VmHWM (peak) of a process, in MiB. Unlike getrusage's ru_maxrss, which a
    spawned process inherits from the one that started it, VmHWM is its own."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None

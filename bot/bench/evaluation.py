"""Scoring answers against a QA file in the format of shared/eval/dev_qa.jsonl."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.types import Answer


def load_qa(path: Path) -> list[dict[str, Any]]:
    """The questions of a QA file; raises InputError on a missing file or a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
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
    evidence_hit: bool | None
    expect_hit: bool | None
    language_ok: bool
    verified: bool
    generated: bool  # a generator's verified answer was shown (not the extractive one)
    ms: float
    split: str = ""  # a QA file may split its items (e.g. calibrate / report for the gate)


@dataclass
class EvalReport:
    items: list[ItemResult] = field(default_factory=list)

    def add(self, item: dict[str, Any], answer: Answer, ms: float) -> ItemResult:
        quotes = " ".join(c.quote for c in answer.citations)
        answerable = bool(item["answerable"])
        result = ItemResult(
            id=str(item.get("id", len(self.items) + 1)),
            question=item["question"],
            answerable=answerable,
            declined=not answer.answerable,
            evidence_hit=(answer.answerable and groups_hit(item.get("evidence", []), quotes)) if answerable else None,
            expect_hit=(answer.answerable and groups_hit(item.get("expect", []), answer.answer)) if answerable else None,
            language_ok=answer.language == item.get("lang", answer.language),
            verified=answer.verified,
            generated=answer.backend != "extractive",
            ms=ms,
            split=str(item.get("split", "")),
        )
        self.items.append(result)
        return result

    def totals(self) -> dict[str, Any]:
        answerable = [r for r in self.items if r.answerable]
        unanswerable = [r for r in self.items if not r.answerable]
        times = sorted(r.ms for r in self.items) or [0.0]
        return {
            "questions": len(self.items),
            "evidence_hits": sum(bool(r.evidence_hit) for r in answerable),
            "answer_hits": sum(bool(r.expect_hit) for r in answerable),
            "answerable": len(answerable),
            "correct_declines": sum(r.declined for r in unanswerable),
            "unanswerable": len(unanswerable),
            "false_declines": sum(r.declined for r in answerable),
            "language_matches": sum(r.language_ok for r in self.items),
            "verified": sum(r.verified for r in self.items),
            "generated": sum(r.generated for r in self.items),
            "fallbacks": sum(not r.verified for r in self.items),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }

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

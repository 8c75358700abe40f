"""Text matching that the gate and the verifier share: when two words are the same word, what
kind of answer a question asks for, and whether a text says that something is not known."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from functools import lru_cache
from typing import Any

from bot.answering.thresholds import THRESHOLDS
from bot.data import load_json
from bot.lang import Term, fold


@lru_cache(maxsize=1 << 16)  # the gate compares the same word pairs question after question
def spelling_match(a: str, b: str) -> bool:
    fa, fb = fold(a), fold(b)
    if min(len(fa), len(fb)) < 4:
        return fa == fb
    limit = THRESHOLDS.spelling_similarity
    # Upper bounds of difflib's ratio first (lengths, then shared letters): most word pairs fail
    # them, and building a SequenceMatcher costs far more.
    total = len(fa) + len(fb)
    if 2 * min(len(fa), len(fb)) < limit * total:
        return False
    if 2 * sum((_letters(fa) & _letters(fb)).values()) < limit * total:
        return False
    return difflib.SequenceMatcher(None, fa, fb).ratio() >= limit


@lru_cache(maxsize=1 << 14)
def _letters(word: str) -> Counter[str]:
    return Counter(word)


@lru_cache(maxsize=1 << 16)
def compound_match(a: str, b: str) -> bool:
    """Danish compounds: 'brændstofpriserne' holds 'brændstof'; 'torsdag' is a 'dag' (the last
    part of a compound names what it is, so a short word counts there)."""
    short, long = sorted((fold(a), fold(b)), key=len)
    return (len(short) >= 5 and short in long) or (
        len(short) >= 3 and len(long) >= len(short) + 3 and long.endswith(short)
    )


def term_match(a: Term, b: Term) -> bool:
    """The same word: one stem, a spelling variant, or one part of a compound."""
    return a.stem == b.stem or spelling_match(a.lower, b.lower) or compound_match(a.lower, b.lower)


def _answer_types() -> dict[str, dict[str, Any]]:
    kinds: dict[str, dict[str, Any]] = load_json("answer_types")["kinds"]
    return kinds


def _cues(name: str) -> list[str]:
    """The "unknown" phrases, the "negations" or the "name_questions"."""
    cues: list[str] = load_json("answer_types")[name]
    return cues


def _has_cue(cues: list[str], text: str) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(cue)}\b", lowered) for cue in cues)


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for (a quantity, a time, an age, a cost …), or None."""
    lowered = f" {question.lower()} "
    for name, spec in _answer_types().items():
        if _has_cue(spec["questions"], lowered):
            return name
    return None


def says_unknown(kind: str | None, text: str) -> bool:
    """ "Det fremgår ikke, hvor mange …": the article says it doesn't know the kind of thing asked
    for, which answers the question (with the sentence that says so)."""
    return kind is not None and _has_cue(_cues("unknown"), text) and _has_cue(_answer_types()[kind]["questions"], text)


def answer_type_evidence(kind: str | None, evidence: str) -> float:
    """1 when the evidence holds the kind of answer asked for, 0 when it doesn't, 0.5 when no kind is asked."""
    if kind is None:
        return 0.5
    spec = _answer_types()[kind]
    if (spec["digits"] and re.search(r"\d", evidence)) or says_unknown(kind, evidence):
        return 1.0
    return float(_has_cue(spec["evidence"], evidence))


def says_not(text: str) -> bool:
    """Whether a text holds a negation ("is not known", "fremgår ikke"): how an answer passes on that the article doesn't know."""
    return _has_cue(_cues("negations"), text)


def asks_for_name(question: str) -> bool:
    """ "Who is …?", "Hvad hedder …?": the answer is somebody's or something's name."""
    return _has_cue(_cues("name_questions"), question)

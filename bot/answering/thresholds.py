"""The hand-set numbers of the answering that no model learns, in one place.

Each says what it trades and where it was fitted: "calibration half" is the calibration half of
tests/fixtures/gate_questions.jsonl, "dev set" the shared development questions, "corpus tuning
half" the `tune` split of tests/corpus/. The held-out halves are never used to set them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    # --- retrieval -------------------------------------------------------------
    # A sentence's score mixes its own similarity with its paragraph's: e5 ranks paragraphs better
    # than single sentences; more weight on the sentence finds short facts, less finds context (dev set).
    sentence_weight: float = 0.6

    # --- the gate's term signals (the decision itself is learned: bot/answering/learned.py) ---
    # A passage this close to the best one's coverage may hold the answer, or say it isn't known.
    focus_tolerance: float = 0.25
    # Likeness of two spellings (fold + difflib) that counts as one word (Zelenskyj/Zelensky).
    spelling_similarity: float = 0.75
    # A question term found only by e5 word likeness: its z-score against the article vocabulary,
    # mapped from [low, high] onto [0, 1]. Lower finds more cross-language words and more false friends.
    embedding_z_low: float = 1.5
    embedding_z_high: float = 3.5

    # --- the reading check: the model reads "closest" replies ------------------
    # Margin at or above which a "closest" reply becomes an answer (the model reads yes).
    rescue_margin: float = 0.0
    # Margin at or above which the claim judge finds a generated answer supported.
    claim_margin: float = 0.0

    # --- the verifier -----------------------------------------------------------
    # lingua's confidence that one copied word is in the quotes' language ("personer" 0.89;
    # "administrative", written alike in both, 0.34): above it the answer copies instead of translating.
    copied_word_confidence: float = 0.85

    # --- the extractive composer --------------------------------------------------
    # A passage whose ranker probability is at least this share of the best one's is about as good:
    # a second quote is shown, and "latest" may put it first.
    close_share: float = 0.5

    # --- which story -----------------------------------------------------------------
    # A question that names nothing is offered a choice among the stories whose best passage has at
    # least this share of the best passage's ranker probability (corpus training stories).
    story_share: float = 0.7


THRESHOLDS = Thresholds()

"""Every tuned number of the answering, in one place.

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

    # --- the gate: does the evidence answer at all? ----------------------------
    # Lowest share of the question's names and numbers found in the evidence: an absent name means
    # the article is about something else (calibration half, grid search).
    names_found: float = 0.5
    # Lowest likeness of the weakest question term; below it a term counts as missing (calibration half).
    weakest_term: float = 0.05
    # Lowest share of the question's terms in the best single passage (calibration half: 0, no effect).
    focus_coverage: float = 0.0
    # Lowest best-score plus margin over the typical retrieved sentence (calibration half: 0, no effect).
    evidence_strength: float = 0.0
    # The evidence must hold an answer of the kind asked (a number for "how many"): below this it
    # declines; at or above `answer_type_clear` a missing term alone does not decline (calibration half).
    answer_type_found: float = 0.25
    answer_type_clear: float = 0.75
    # A passage this close to the best one's coverage may hold the answer, or say it isn't known.
    focus_tolerance: float = 0.25
    # Likeness of two spellings (fold + difflib) that counts as one word (Zelenskyj/Zelensky).
    spelling_similarity: float = 0.75
    # A question term found only by e5 word likeness: its z-score against the article vocabulary,
    # mapped from [low, high] onto [0, 1]. Lower finds more cross-language words and more false friends.
    embedding_z_low: float = 1.5
    embedding_z_high: float = 3.5

    # --- the reading check: the model reads doubtful decisions ------------------
    # A pass is doubtful when its weakest term scores below this (likeness, not the same word).
    reading_below_term: float = 0.8
    # Yes-minus-no margin below which a doubtful pass is declined: 0.15 under the lowest answerable
    # question's margin on the calibration half and the dev set. Higher declines more near misses
    # and more answerable questions.
    reading_margin: float = -0.55
    # Margin at or above which a decline for one missing term is overturned (the model reads yes).
    rescue_margin: float = 0.0
    # Margin at or above which the claim judge finds a generated answer supported.
    claim_margin: float = 0.0

    # --- the verifier -----------------------------------------------------------
    # lingua's confidence that one copied word is in the quotes' language ("personer" 0.89;
    # "administrative", written alike in both, 0.34): above it the answer copies instead of translating.
    copied_word_confidence: float = 0.85

    # --- the extractive composer --------------------------------------------------
    # A second quote is shown when it scores this close to the best (dev set).
    close_score: float = 0.015
    # Another article this close to the best that states other numbers disagrees with it.
    other_article_score: float = 0.03


THRESHOLDS = Thresholds()

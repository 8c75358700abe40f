"""The learned ranker and the learned answer / closest / decline decision.

Both are logistic models over the rows `bot.answering.features` computes, trained by `newsbot
train` on the corpus's training stories and stored in bot/data as JSON: the features' names, their
standardisation, the weights, the decision's two probability thresholds and the corpus they were
fitted on. Loading checks the names against the code, so a feature changed without training again
is an error that says what to run, never a silent misreading.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.answering.features import CANDIDATE_FEATURES, DECISION_FEATURES
from bot.errors import InputError
from bot.types import Verdict

MODELS_DIR = Path(__file__).resolve().parent.parent / "data"
RANKER_FILE = "ranker.json"
DECIDER_FILE = "decider.json"


@dataclass(frozen=True)
class LinearModel:
    """A standardised logistic model: logit = w · (x − mean) / scale + bias."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    corpus: str = ""  # the corpus version it was fitted on
    thresholds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # what training measured (cross-validated)

    def logits(self, rows: np.ndarray) -> np.ndarray:
        if rows.shape[0] == 0:
            return np.zeros(0)
        return ((rows - self.mean) / self.scale) @ self.weights + self.bias

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(rows)))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "logistic",
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "weights": [round(float(v), 8) for v in self.weights],
            "bias": round(float(self.bias), 8),
            "corpus": self.corpus,
            "thresholds": self.thresholds,
            "metrics": self.metrics,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], expected: tuple[str, ...], path: Path) -> LinearModel:
        names = tuple(data.get("features", ()))
        if names != expected:
            missing = sorted(set(expected) - set(names))
            extra = sorted(set(names) - set(expected))
            raise InputError(
                f"The model {path} was trained on other features (missing {missing or 'none'}, "
                f"unknown {extra or 'none'}). Run `newsbot train` to train it on today's features."
            )
        mean, scale, weights = (np.asarray(data[key], dtype=np.float64) for key in ("mean", "scale", "weights"))
        if any(a.shape != (len(names),) or not np.isfinite(a).all() for a in (mean, scale, weights)):
            raise InputError(f"The model {path} is damaged: its weights don't match its {len(names)} features.")
        return cls(
            names,
            mean,
            scale,
            weights,
            bias=float(data["bias"]),
            corpus=str(data.get("corpus", "")),
            thresholds={k: float(v) for k, v in data.get("thresholds", {}).items()},
            metrics=dict(data.get("metrics", {})),
        )


def read_model(path: Path, expected: tuple[str, ...]) -> LinearModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"No model at {path}. Run `newsbot train` to build it from the corpus.") from None
    except (OSError, ValueError) as error:
        raise InputError(f"Can't read the model {path} ({error}). Run `newsbot train` to build it again.") from None
    if not isinstance(data, dict) or data.get("kind") != "logistic":
        raise InputError(f"{path} is not a newsbot model. Run `newsbot train` to build it.")
    try:
        return LinearModel.from_json(data, expected, path)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"The model {path} is damaged ({error}). Run `newsbot train` to build it again.") from None


@dataclass(frozen=True)
class Models:
    """The ranker of candidate sentences and the reply decision, loaded together."""

    ranker: LinearModel
    decider: LinearModel

    def verdict(self, probability: float) -> Verdict:
        if probability >= self.decider.thresholds["answer"]:
            return "answer"
        if probability >= self.decider.thresholds["closest"]:
            return "closest"
        return "decline"


def load_models(folder: Path = MODELS_DIR) -> Models:
    return _load(folder.resolve())


@lru_cache(maxsize=4)
def _load(folder: Path) -> Models:
    models = Models(
        read_model(folder / RANKER_FILE, CANDIDATE_FEATURES), read_model(folder / DECIDER_FILE, DECISION_FEATURES)
    )
    for key in ("answer", "closest"):
        if not math.isfinite(models.decider.thresholds.get(key, math.nan)):
            raise InputError(f"The model {folder / DECIDER_FILE} has no {key} threshold. Run `newsbot train`.")
    return models

"""The word lists and tuned numbers the answering reads, loaded in one place.

Each JSON file may hold keys starting with "_": comments for the reader, dropped on load.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_json(name: str) -> dict[str, Any]:
    """`bot/data/<name>.json` without its comment keys."""
    text = resources.files("bot.data").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return {key: value for key, value in json.loads(text).items() if not key.startswith("_")}


@cache
def load_words(name: str) -> frozenset[str]:
    """`bot/data/<name>.txt`: whitespace-separated words."""
    return frozenset(resources.files("bot.data").joinpath(f"{name}.txt").read_text(encoding="utf-8").split())

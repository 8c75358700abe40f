"""Turning real use into evaluation items: the thumbs-down answers and the declined questions
from the answer log, in the QA file format of `newsbot eval` (docs/evaluation.md), for an editor
to complete (`expect`, `evidence`, and `answerable` where the bot got it wrong)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.operations.answer_log import Entry


def needs_review(entry: Entry) -> str:
    """Why an editor should look at this entry ("thumbs-down", "declined", "closest"), or ''."""
    if entry.down > entry.up:
        return "thumbs-down"
    return entry.outcome if entry.outcome in ("declined", "closest") else ""


def qa_items(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """One QA item per distinct question to review (the latest time it was asked), oldest first."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        why = needs_review(entry)
        if not why or not entry.question:
            continue
        key = " ".join(entry.question.lower().split())
        asked = latest[key]["asked"] + 1 if key in latest else 1
        latest[key] = {
            "id": f"log-{entry.id}",
            "lang": entry.language,
            "question": entry.question,
            "answerable": entry.outcome == "answered",  # what the bot decided; the editor corrects it
            "expect": [],
            "evidence": [],
            "quotes": [asdict(c) for c in entry.citations],
            "review": why,
            "asked": asked,
            "last_asked": datetime.fromtimestamp(entry.at).isoformat(timespec="seconds"),
        }
    return list(latest.values())


def jsonl(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)

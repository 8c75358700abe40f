"""The grammar of the citation marks an answer carries: "[1]", "[1, 3]", "[1; 3]" and ranges
"[1–3]" or "[1-3]" (which cite 2 as well). Every reader of marks reads them here."""

from __future__ import annotations

import re

CITATION_MARK = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
_PART = re.compile(r"(\d+)\s*[–-]\s*(\d+)|(\d+)")
MAX_RANGE = 20  # "[1–999]" is a typo, not 999 citations


def mark_numbers(group: str) -> list[int]:
    """The numbers one mark's inside ("1", "1, 3", "1–3") cites, in order."""
    found: list[int] = []
    for start, end, single in _PART.findall(group):
        if start:
            first, last = int(start), int(end)
            found += range(first, last + 1) if 0 <= last - first <= MAX_RANGE else [first, last]
        else:
            found.append(int(single))
    return found


def cited(text: str) -> list[int]:
    """Every number the text's marks cite, in the order they are cited (repeats kept)."""
    return [n for group in CITATION_MARK.findall(text) for n in mark_numbers(group)]

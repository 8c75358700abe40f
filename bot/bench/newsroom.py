"""The newsroom archive: invented wire stories of many different topics, for the archive benchmark.

`tests/newsroom/articles.jsonl.gz` holds one IPTC ninjs document a line, each tagged with its
topic (`subject`: `[{"name": topic, "scheme": "newsbot:topic"}]`); `tests/newsroom/topics.json`
gives, for each topic, what a reporter would type to be briefed on it, in Danish and English.
Unlike the synthetic rewrites, these are different stories, written in their own words; they
are never written into the seeds folder.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bench.synthetic import refuse_seeds_folder
from bot.errors import InputError
from bot.feeds import Item
from bot.files import write_json_atomically

ARTICLES = "articles.jsonl.gz"
TOPICS = "topics.json"
TOPIC_SCHEME = "newsbot:topic"


@dataclass(frozen=True)
class NewsroomStory:
    """One written story: its ninjs document and its topic."""

    ninjs: dict[str, Any]
    topic: str

    @property
    def doc_id(self) -> str:
        """The id the archive gives it once ingested (its file name's stem)."""
        return Path(Item(self.ninjs, "").file_name).stem


@dataclass(frozen=True)
class Newsroom:
    """The written stories and, per topic, the briefing requests ("fiskeri", "fishing") about it."""

    stories: list[NewsroomStory]
    topics: dict[str, dict[str, str]]

    def sample(self, count: int, seed: int) -> list[NewsroomStory]:
        """`count` stories (all when there are fewer), in an order fixed by `seed`."""
        stories = list(self.stories)
        random.Random(seed).shuffle(stories)
        return stories[:count]


def load_newsroom(folder: Path) -> Newsroom:
    """The newsroom archive in `folder`; raises InputError when it is missing or unreadable."""
    try:
        with gzip.open(folder / ARTICLES, "rt", encoding="utf-8") as lines:
            documents = [json.loads(line) for line in lines if line.strip()]
        topics = json.loads((folder / TOPICS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"Can't read the newsroom archive in {folder} ({error}); pass one with --newsroom.") from None
    stories = [NewsroomStory(document, _topic(document)) for document in documents]
    return Newsroom(stories, {entry["topic"]: entry["queries"] for entry in topics})


def _topic(document: dict[str, Any]) -> str:
    return next((s["name"] for s in document.get("subject", []) if s.get("scheme") == TOPIC_SCHEME), "")


def write_stories(folder: Path, stories: list[NewsroomStory], seeds_dir: Path) -> None:
    """The stories as ninjs files in `folder`, to ingest; raises InputError for the seeds folder."""
    refuse_seeds_folder(folder, seeds_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("newsroom-*.json"):
            old.unlink()
        for number, story in enumerate(stories, start=1):
            write_json_atomically(folder / f"newsroom-{number:05d}.json", story.ninjs)
    except OSError as error:
        raise InputError(f"Can't write the newsroom archive to {folder} ({error.strerror}).") from None

"""Conversation logic shared by every front end: access, rate limits, language choice,
follow-up context, and answering off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bot.answering.brief import Briefer
from bot.answering.chain import Answerer, Question, check_question
from bot.config import Settings
from bot.data import load_json
from bot.frontends.history import History
from bot.lang import WORD, content_terms, detect_language
from bot.types import Answer, Briefing, Lang

T = TypeVar("T")
GENERATION_NICENESS = 10
MAX_CONTEXT_CHARS = 400  # how much of a conversation's running question is kept as context
MAX_WAITING_REFINEMENTS = 2  # generated answers queued at most; beyond, the quotes stand


def looks_like_follow_up(text: str, lang: Lang) -> bool:
    """ "And how many were hurt?", "Who did he ask?": a question that leans on the one before it."""
    cues = load_json("follow_up_cues")[lang]
    lowered = " ".join(w.lower() for w in WORD.findall(text))
    if any(lowered == o or lowered.startswith(o + " ") for o in cues["openers"]):
        return True
    words = set(lowered.split())
    return bool(words & set(cues["pronouns"])) or len(content_terms(text, lang)) <= 1


def _lower_priority() -> None:
    """Nice the generation thread (Linux: per thread; llama.cpp's worker threads inherit it), so
    that on a small machine a model writing doesn't starve the quick quote answers."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: same priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), GENERATION_NICENESS)


class RateLimiter:
    """At most `limit` questions per user per `window` seconds; says once when someone hits it."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[Hashable, deque[float]] = {}
        self._warned: set[Hashable] = set()

    def allow(self, user_id: Hashable) -> tuple[bool, bool]:
        """(allowed, warn): `warn` is True only for the first refused question of a burst."""
        now = time.monotonic()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] > self.window:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            self._warned.discard(user_id)
            return True, False
        warn = user_id not in self._warned
        self._warned.add(user_id)
        return False, warn


@dataclass
class Conversations:
    """Conversation memory (persistent `History`), plus a bounded cache of answers (for "show quotes" buttons)."""

    answerer: Answerer
    allowed_users: set[int] | None
    rate: RateLimiter
    history: History
    answers: OrderedDict[str, Answer] = field(default_factory=OrderedDict)
    max_answers: int = 1000

    def __post_init__(self) -> None:
        # One worker: the embedding model and faiss are used from one thread at a time,
        # and the event loop stays free to receive updates while an answer is computed.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer")
        # Generation gets its own, lower-priority thread, so quotes keep coming while a model writes.
        self._generator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate", initializer=_lower_priority)
        self._refining = 0
        self.briefer = Briefer(self.answerer)

    def is_allowed(self, user_id: int | None) -> bool:
        return self.allowed_users is None or (user_id is not None and user_id in self.allowed_users)

    def language(self, key: str) -> Lang | None:
        """The answer language forced with /lang in this conversation, or None."""
        return self.history.language(key)

    def set_language(self, key: str, choice: str) -> None:
        self.history.set_language(key, None if choice == "auto" else choice)  # type: ignore[arg-type]

    def forget(self, key: str) -> None:
        """/new: the next question starts a fresh conversation."""
        self.history.clear(key)

    def reply_language(self, key: str, text: str) -> Lang:
        return self.language(key) or detect_language(text)

    def check(self, text: str) -> str:
        return check_question(text, self.answerer.settings.max_question_chars, detect_language(text))

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run answering work in the single answering thread, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def answer(self, key: str, text: str, follow_up: bool = True) -> Answer:
        """The extractive answer. In a conversation, a question that leans on the previous one
        ("and how many were hurt?") is read together with it; one that the article answers on
        its own is answered on its own."""
        forced = self.language(key)
        previous = self.history.previous(key) if follow_up else ""
        language = forced or detect_language(text)
        alone = Question(text, forced)
        # The generator condenses a follow-up only when it is free: a first reply never waits
        # for a model that is busy writing another answer (the two questions are combined then).
        together = Question(text, forced, context=previous, condense=self._refining == 0)
        used_context = bool(previous) and looks_like_follow_up(text, language)
        answer = await self.run(self.answerer.answer, together if used_context else alone)
        if previous and not answer.answerable:  # the other reading, in case it answers (cheaply)
            other = await self.run(self.answerer.answer, alone if used_context else replace(together, condense=False))
            if other.answerable:
                answer, used_context = other, not used_context
        if follow_up:
            # A follow-up keeps its context for the next one ("who?" → "and why?" → "and when?").
            self.history.add(key, f"{previous} {text}"[-MAX_CONTEXT_CHARS:].strip() if used_context else text)
        return answer

    async def brief(self, language: Lang) -> Briefing:
        return await self.run(self.briefer.brief, language)

    async def answer_stream(self, key: str, text: str, follow_up: bool = True) -> AsyncIterator[Answer]:
        """The quick answer, then the refined one when it changes what is shown (`Answerer.refined`)."""
        first = await self.answer(key, text, follow_up)
        yield first
        if self.answerer.may_refine(first):
            final = await self.refined(first)
            if final is not None:
                yield final

    async def refined(self, answer: Answer) -> Answer | None:
        """The refined answer, written in the generation thread. When more than a few are already
        waiting, the quotes stand (None): a busy bot stays fast and honest rather than answering
        ever later."""
        if self._refining >= MAX_WAITING_REFINEMENTS:
            return None
        self._refining += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._generator, self.answerer.refined, answer)
        finally:
            self._refining -= 1

    @property
    def waiting(self) -> int:
        """Generated answers being written or waiting for the generator."""
        return self._refining

    def remember(self, key: str, answer: Answer) -> None:
        self.answers[key] = answer
        while len(self.answers) > self.max_answers:
            self.answers.popitem(last=False)

    def articles_summary(self) -> str:
        items = [meta for _, meta in self.answerer.index.newest_first()]
        return "; ".join(f"{m['source']} {m['date']}: {m['title']}" for m in items)


def open_conversations(settings: Settings, answerer: Answerer, rate_limit: int | None = None) -> Conversations:
    """Conversations with the persistent history under NEWSBOT_DATA_DIR."""
    history = History(settings.data_dir / "conversations.sqlite3", settings.history_turns)
    return Conversations(answerer, settings.allowed_user_ids(), RateLimiter(rate_limit or settings.rate_limit), history)

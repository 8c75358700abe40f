"""Conversation logic shared by every front end: access, rate limits, language choice,
follow-up context, and answering off the event loop."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.answering.chain import Answerer, Question, check_question
from bot.lang import detect_language
from bot.types import Answer, Lang


class RateLimiter:
    """At most `limit` questions per user per `window` seconds; says once when someone hits it."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def allow(self, user_id: int) -> tuple[bool, bool]:
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
class ChatState:
    language: Lang | None = None  # forced answer language (/lang), None = the question's
    previous: str = ""  # the last question, for follow-ups


@dataclass
class Conversations:
    """Per-chat state plus a bounded cache of answers (for "show quotes" buttons)."""

    answerer: Answerer
    allowed_users: set[int] | None
    rate: RateLimiter
    chats: dict[str, ChatState] = field(default_factory=dict)
    answers: OrderedDict[str, Answer] = field(default_factory=OrderedDict)
    max_answers: int = 1000

    def __post_init__(self) -> None:
        # One worker: the embedding model and faiss are used from one thread at a time,
        # and the event loop stays free to receive updates while an answer is computed.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer")

    def is_allowed(self, user_id: int | None) -> bool:
        return self.allowed_users is None or (user_id is not None and user_id in self.allowed_users)

    def chat(self, key: str) -> ChatState:
        return self.chats.setdefault(key, ChatState())

    def reply_language(self, key: str, text: str) -> Lang:
        return self.chat(key).language or detect_language(text)

    def check(self, text: str) -> str:
        return check_question(text, self.answerer.settings.max_question_chars, detect_language(text))

    async def answer(self, key: str, text: str, follow_up: bool = True) -> Answer:
        """The extractive answer; a follow-up question is read in the light of the previous one."""
        state = self.chat(key)
        question = Question(text, state.language)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._executor, self.answerer.answer, question)
        if follow_up and not answer.answerable and state.previous:
            contextual = Question(text, state.language or answer.language, context=state.previous)
            retry = await loop.run_in_executor(self._executor, self.answerer.answer, contextual)
            if retry.answerable:
                answer = retry
        state.previous = text
        return answer

    async def refine(self, answer: Answer) -> Answer:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.answerer.refine, answer)

    def remember(self, key: str, answer: Answer) -> None:
        self.answers[key] = answer
        while len(self.answers) > self.max_answers:
            self.answers.popitem(last=False)

    def articles_summary(self) -> str:
        items = sorted(self.answerer.index.articles.values(), key=lambda m: m["date"], reverse=True)
        return "; ".join(f"{m['source']} {m['date']}: {m['title']}" for m in items)

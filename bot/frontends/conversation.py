"""Conversation logic shared by every front end: access, rate limits, language choice,
follow-up context, answering off the event loop, and what a reply shows as a fuller answer is
written (`Reply`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal, TypeVar

from bot.answering.brief import Briefer
from bot.answering.browse import Browser, Page
from bot.answering.chain import Answerer, Question, check_question
from bot.answering.features import names_nothing
from bot.answering.selection import read_request
from bot.config import Settings
from bot.data import load_json
from bot.errors import BackendUnavailable
from bot.frontends.history import History
from bot.lang import WORD, content_terms, detect_language
from bot.texts import reply
from bot.types import Answer, Briefing, Lang, StoryChoice

log = logging.getLogger(__name__)
T = TypeVar("T")
GENERATION_NICENESS = 10
MAX_CONTEXT_CHARS = 400  # how much of a conversation's running question is kept as context
MAX_WAITING_REFINEMENTS = 2  # generated answers queued at most; beyond, the quotes stand
ARTICLES_IN_HELP = 5  # the newest articles the help names; /sources lists them all
SETTLED_SECONDS = 1.0  # a stopping bot with nothing in flight for this long has nothing left to answer
SETTLE_POLL = 0.1


@dataclass(frozen=True)
class Reply:
    """What a reply shows at one moment. `stage`: "answer" — the answer, nothing more coming;
    "writing" — the quick answer while a fuller one is written; "draft" — the quick answer with the
    fuller one as written so far (`draft`, not yet checked); "unverified" — the quick answer, the
    fuller one having failed its checks."""

    answer: Answer
    stage: Literal["answer", "writing", "draft", "unverified"] = "answer"
    draft: str = ""


def looks_like_follow_up(text: str, lang: Lang) -> bool:
    """ "And how many were hurt?", "Who did he ask?": a question that leans on the one before it."""
    cues = load_json("follow_up_cues")[lang]
    lowered = " ".join(w.lower() for w in WORD.findall(text))
    if any(lowered == o or lowered.startswith(o + " ") for o in cues["openers"]):
        return True
    words = set(lowered.split())
    return bool(words & set(cues["pronouns"])) or len(content_terms(text, lang)) <= 1


def choice_token(answer: Answer) -> str:
    """What names a "Which story?" reply in its buttons: its question and the stories it offered."""
    offered = "\n".join([answer.question, *(story.doc_id for story in answer.stories)])
    return hashlib.sha256(offered.encode()).hexdigest()[:10]


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
    searches: OrderedDict[str, str] = field(default_factory=OrderedDict)  # key -> a search term too long for a button
    # conversation key -> the question a "Which story?" reply asked about, the stories it offered, its token
    choices: OrderedDict[str, tuple[Question, list[StoryChoice], str]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        # One worker: the embedding model and faiss are used from one thread at a time,
        # and the event loop stays free to receive updates while an answer is computed.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer")
        # Generation gets its own, lower-priority thread, so quotes keep coming while a model writes.
        self._generator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate", initializer=_lower_priority)
        self._refining = 0
        self.briefer = Briefer(self.answerer)
        self.browser = Browser()

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
        self.choices.pop(key, None)

    def reply_language(self, key: str, text: str) -> Lang:
        return self.language(key) or detect_language(text)

    def check(self, text: str) -> str:
        return check_question(text, self.answerer.settings.max_question_chars, detect_language(text))

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run answering work in the single answering thread, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def answer(self, key: str, text: str, follow_up: bool = True, choice: str | None = None) -> Answer:
        """The extractive answer. In a conversation, a question that leans on the previous one
        ("and how many were hurt?") is read together with it; one that the article answers on
        its own is answered on its own. One that names nothing is answered from the story of the
        previous answer first; the number of a story a "Which story?" reply offered, from that story.
        A button's number comes with the `choice` it was offered in (`choice_token`): one pressed
        under an older or expired choice says so."""
        forced = self.language(key)
        chosen = self._chosen(key, text, choice)
        if isinstance(chosen, Answer):
            return chosen
        if chosen is not None:
            answer = await self.run(self.answerer.answer, chosen)
            self._keep(key, answer, follow_up)
            return answer
        previous = self.history.previous(key) if follow_up else ""
        language = forced or detect_language(text)
        story = self.history.story(key) if follow_up and names_nothing(text, language) else ""
        alone = Question(text, forced, story=story)
        # The generator condenses a follow-up only when it is free: a first reply never waits
        # for a model that is busy writing another answer (the two questions are combined then).
        together = Question(text, forced, context=previous, condense=self._refining == 0, story=story)
        used_context = bool(previous) and looks_like_follow_up(text, language)
        answer = await self.run(self.answerer.answer, together if used_context else alone)
        if previous and not answer.answerable and answer.verdict != "choose":  # the other reading (cheaply)
            other = await self.run(self.answerer.answer, alone if used_context else replace(together, condense=False))
            if other.answerable:
                answer, used_context = other, not used_context
        if follow_up:
            # A follow-up keeps its context for the next one ("who?" → "and why?" → "and when?").
            self.history.add(key, f"{previous} {text}"[-MAX_CONTEXT_CHARS:].strip() if used_context else text)
        self._keep(key, answer, follow_up)
        return answer

    def _chosen(self, key: str, text: str, choice: str | None) -> Question | Answer | None:
        """The question a "Which story?" reply asked about, on the story whose number `text` is;
        for a button (`choice`) that no pending choice matches, the reply saying it expired."""
        pending = self.choices.get(key)
        number = text.strip().rstrip(".)")
        stories = pending[1] if pending is not None and choice in (None, pending[2]) else []
        if not number.isdigit() or not 1 <= int(number) <= len(stories):
            if choice is None:
                return None
            language = self.language(key) or "en"
            return Answer(text, language, reply("choice_expired", language), answerable=False, reason="expired choice")
        question, _, _ = self.choices.pop(key)
        return Question(question.text, question.language, story=stories[int(number) - 1].doc_id, chosen=True)

    def _keep(self, key: str, answer: Answer, follow_up: bool) -> None:
        """What the next turn builds on: the story answered from, or the choice offered."""
        self.choices.pop(key, None)
        if answer.verdict == "choose":
            self.choices[key] = (Question(answer.question, self.language(key)), answer.stories, choice_token(answer))
            while len(self.choices) > self.max_answers:
                self.choices.popitem(last=False)
        elif follow_up and answer.citations:  # an answer, or the closest quotes
            self.history.set_story(key, answer.citations[0].doc_id)

    async def brief(self, language: Lang, text: str = "") -> Briefing:
        """The briefing on what `text` asks for (a topic, a period, both, or the newest articles)."""
        request = read_request(text, self.answerer.settings.today or date.today())
        return await self.run(self.briefer.brief, language, request)

    async def sources(self, term: str = "", number: int = 1) -> Page:
        """Page `number` of the archive, newest first, narrowed by a search term; raises InputError
        for a term too long to be one."""
        return await self.run(self.browser.page, self.answerer.index, term, number)

    def remember_search(self, term: str) -> str:
        """A short key for a search term (for a button that can't hold the term itself)."""
        key = hashlib.sha256(term.encode()).hexdigest()[:16]
        self.searches[key] = term
        self.searches.move_to_end(key)
        while len(self.searches) > self.max_answers:
            self.searches.popitem(last=False)
        return key

    async def replies(
        self, key: str, text: str, follow_up: bool = True, choice: str | None = None
    ) -> AsyncIterator[Reply]:
        """What the reply to `text` shows, stage by stage: the quick answer (saying when a fuller
        one is being written), the fuller one as the model writes it, then how it ends — the
        verified answer, the quotes with a note when it failed its checks, or the quick answer
        alone. A draft that arrives while the front end is still showing the previous one replaces
        it, so a slow front end skips drafts rather than falling behind."""
        first = await self.answer(key, text, follow_up, choice)
        if not self.answerer.may_refine(first) or self._refining >= MAX_WAITING_REFINEMENTS:
            yield Reply(first)
            return
        yield Reply(first, "writing" if first.answerable else "answer")
        loop = asyncio.get_running_loop()
        drafts: asyncio.Queue[str] = asyncio.Queue()

        def on_draft(draft: str) -> None:
            loop.call_soon_threadsafe(drafts.put_nowait, draft)

        # A decline the model reads again shows no drafts: a draft under "the article doesn't say" misleads.
        refining = asyncio.ensure_future(self.refined(first, on_draft if first.answerable else None))
        while True:
            waiting = asyncio.ensure_future(drafts.get())
            await asyncio.wait({refining, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                break
            draft = waiting.result()
            while not drafts.empty():
                draft = drafts.get_nowait()
            yield Reply(first, "draft", draft)
        final = refining.result()
        if final is None:
            yield Reply(first)
        elif final.replaces(first):
            yield Reply(final)
        else:
            yield Reply(first, "unverified")

    async def refined(self, answer: Answer, on_draft: Callable[[str], None] | None = None) -> Answer | None:
        """The refined answer, written in the generation thread. When more than a few are already
        waiting, the quotes stand (None): a busy bot stays fast and honest rather than answering
        ever later."""
        if self._refining >= MAX_WAITING_REFINEMENTS:
            return None
        self._refining += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._generator, self.answerer.refined, answer, on_draft
            )
        finally:
            self._refining -= 1

    def warm_up(self, on_warm: Callable[[], None] = lambda: None) -> None:
        """Queue the model's one tiny completion in the generation thread, where the first fuller
        answer waits for it rather than competing with it; the log says when the model is warm,
        and `on_warm` is called once it is over. A model that fails is logged, and answers still come."""
        if self.answerer.composer.fluent:
            log.info("Warming up the %s model …", self.answerer.composer.name)
            self._generator.submit(self._warm_up, on_warm)

    def _warm_up(self, on_warm: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            self.answerer.warm_up()
        except BackendUnavailable as exc:
            log.warning("The %s model failed to warm up: %s", self.answerer.composer.name, exc)
            return
        except Exception:  # nobody awaits this job: a bug must still reach the log
            log.exception("Warming up the %s model failed", self.answerer.composer.name)
            return
        finally:
            on_warm()
        log.info("The %s model is warm (%.1f s).", self.answerer.composer.name, time.perf_counter() - started)

    @property
    def waiting(self) -> int:
        """Generated answers being written or waiting for the generator."""
        return self._refining

    def remember(self, key: str, answer: Answer) -> None:
        self.answers[key] = answer
        while len(self.answers) > self.max_answers:
            self.answers.popitem(last=False)

    def articles_summary(self) -> str:
        """The newest few articles, and how many more /sources lists: the help stays one message."""
        items = self.answerer.index.newest_first()
        named = "; ".join(f"{m.source} {m.date}: {m.title}" for m in items[:ARTICLES_IN_HELP])
        more = len(items) - ARTICLES_IN_HELP
        return f"{named}; … +{more} (/sources)" if more > 0 else named


class InFlight:
    """The questions being answered (each handler's task), so that a stopping bot finishes what
    it can within its shutdown budget and drops the rest: SIGTERM must end the process well within
    systemd's TimeoutStopSec, however many questions are queued for the answering thread or for
    their turn under the chat API's rate limits."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            yield
        finally:
            self.tasks.discard(task)

    async def drain(self, budget: float) -> int:
        """Let the questions in flight, and any taken up meanwhile, go on for up to `budget`
        seconds; then cancel those still unanswered (a job queued for the answering thread is then
        never run) and log how many were dropped. Returns once nothing has been in flight for a
        moment (a handler may start just after the signal), or at the deadline."""
        loop = asyncio.get_running_loop()
        deadline, settled = loop.time() + budget, 0.0
        while (left := deadline - loop.time()) > 0 and settled < SETTLED_SECONDS:
            if pending := {task for task in self.tasks if not task.done()}:
                settled = 0.0
                await asyncio.wait(pending, timeout=left)
            else:
                await asyncio.sleep(SETTLE_POLL)
                settled += SETTLE_POLL
        dropped = [task for task in self.tasks if not task.done()]
        for task in dropped:
            task.cancel()
        log.log(
            logging.WARNING if dropped else logging.INFO,
            "Stopping: dropped %d question(s) that could not be answered within NEWSBOT_SHUTDOWN_SECONDS (%g s).",
            len(dropped),
            budget,
        )
        return len(dropped)


def open_conversations(
    settings: Settings, answerer: Answerer, rate_limit: int | None = None, on_warm: Callable[[], None] = lambda: None
) -> Conversations:
    """Conversations with the history under NEWSBOT_DATA_DIR (kept as long as the answer log, and
    on disk only where the log keeps questions), the model warming up in the background
    (NEWSBOT_WARM_UP; `on_warm` is called when it is over)."""
    history = History(
        settings.data_dir / "conversations.sqlite3",
        settings.history_turns,
        days=settings.log_days or None,
        on_disk=settings.log_questions and settings.log_days > 0,
    )
    conversations = Conversations(
        answerer, settings.allowed_user_ids(), RateLimiter(rate_limit or settings.rate_limit), history
    )
    if settings.warm_up:
        conversations.warm_up(on_warm)
    return conversations

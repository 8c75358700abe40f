"""The answering chain (LCEL): check the question, detect its language, retrieve, gate, compose.

    question ─► validate ─► language ─► retrieve ─► gate ─► cite ─► compose (extractive)
                                                                     └─► refine (reading check, generator, verified)

`Answerer.answer` returns the extractive answer at once; `Answerer.refine` turns it into a
fluent one when a generator is configured, keeping the extractive one if verification fails.
With a model that gives yes/no margins (the local one, or a server that sends log-probabilities),
`refine` first has it read the quotes when the gate's decision rested on word likeness, which may
turn a pass into a decline or the other way round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from bot.answering.composers import Composer, ExtractiveComposer, GeneratorComposer
from bot.answering.gate import AnswerabilityGate, GateDecision, ReadingCheck
from bot.answering.retrieve import MAX_CITATIONS, Retrieval, retrieve
from bot.answering.verify import AnswerVerifier, ClaimJudge, cited_numbers
from bot.config import Settings
from bot.errors import InputError
from bot.lang import detect_language
from bot.store.news_index import NewsIndex
from bot.texts import reply
from bot.types import Answer, Citation, Lang

log = logging.getLogger(__name__)

GENERATION_RETRIES = 1  # a rejected generated answer is asked for once more, with the reasons


@dataclass
class Question:
    """A question as the chain receives it; `context` is an earlier question of the same conversation."""

    text: str
    language: Lang | None = None  # forced answer language, or None to detect
    context: str = ""
    condense: bool = True  # may the generator rewrite text + context into one question (seconds)?


def check_question(text: str, limit: int, language: Lang = "en") -> str:
    """The question, trimmed; raises InputError (in the question's language) when it is empty or too long."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError(reply("empty_question", language))
    if len(cleaned) > limit:
        raise InputError(reply("long_question", detect_language(cleaned[:500]), length=len(cleaned), limit=limit))
    return cleaned


def citations_from(retrieval: Retrieval) -> list[Citation]:
    return [
        Citation(
            n=n,
            quote=passage.text,
            doc_id=passage.lead.doc_id,
            source=passage.lead.source,
            date=passage.lead.date,
            paragraph=passage.lead.paragraph,
            score=passage.score,
            title=passage.lead.title,
        )
        for n, passage in enumerate(retrieval.passages[:MAX_CITATIONS], start=1)
    ]


class Answerer:
    """Answers questions over one news index; build once per process, call many times."""

    def __init__(self, settings: Settings, index: NewsIndex, composer: Composer | None = None) -> None:
        self.settings = settings
        self.index = index
        self.extractive = ExtractiveComposer(name_articles=len(index.articles) > 1)
        self.composer = composer or self.extractive
        self.verifier = AnswerVerifier()
        generator = self.composer.model if isinstance(self.composer, GeneratorComposer) else None
        self.judge = ClaimJudge(generator) if generator else None
        self.reader = ReadingCheck(generator) if generator and ReadingCheck.possible(generator) else None
        self.gate = AnswerabilityGate(index)
        self.chain = self._build_chain()

    # --- the chain ------------------------------------------------------------
    def _build_chain(self) -> Runnable[dict[str, Any], Answer]:
        timed = self._timed
        return (
            RunnablePassthrough.assign(started=RunnableLambda(lambda _: time.perf_counter()), timings=RunnableLambda(lambda _: {}))
            | RunnablePassthrough.assign(text=RunnableLambda(lambda s: check_question(s["question"].text, self.settings.max_question_chars)))
            | RunnablePassthrough.assign(language=RunnableLambda(lambda s: s["question"].language or detect_language(s["text"])))
            | RunnablePassthrough.assign(query=RunnableLambda(self._query))
            | RunnablePassthrough.assign(retrieval=RunnableLambda(timed("retrieve", self._retrieve)))
            | RunnablePassthrough.assign(decision=RunnableLambda(timed("gate", self._decide)))
            | RunnableLambda(timed("generate", self._compose))
        )

    @staticmethod
    def _timed(name: str, step: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        def run(state: dict[str, Any]) -> Any:
            started = time.perf_counter()
            result = step(state)
            state["timings"][name] = (time.perf_counter() - started) * 1000
            return result

        return run

    def _query(self, state: dict[str, Any]) -> str:
        """What is searched and gated: the question, read after the earlier one it follows up —
        condensed into one standalone question by the generator when there is one."""
        question: Question = state["question"]
        context = question.context
        if not context:
            return state["text"]
        if question.condense and isinstance(self.composer, GeneratorComposer):
            standalone = self.composer.condense(context, state["text"], state["language"])
            if standalone:
                return standalone
        return f"{context} {state['text']}"

    def _retrieve(self, state: dict[str, Any]) -> Retrieval:
        vector = self.index.embeddings.embed_questions([state["query"]])[0]
        return retrieve(self.index, vector)

    def _decide(self, state: dict[str, Any]) -> GateDecision:
        read_again = self._active_reader() is not None
        return self.gate.decide(state["query"], state["language"], state["retrieval"], read_again=read_again)

    def _compose(self, state: dict[str, Any]) -> Answer:
        language: Lang = state["language"]
        decision: GateDecision = state["decision"]
        quotes = citations_from(state["retrieval"])
        if decision.answerable:
            text = self.extractive.compose(state["text"], language, quotes).text
        else:
            text = self.decline_text(language)
        timings = state["timings"]
        answer = Answer(
            question=state["text"],
            language=language,
            answer=text,
            answerable=decision.answerable,
            citations=quotes if decision.answerable else [],
            backend="extractive",
            verified=True,
            doubtful=decision.doubtful,
            candidates=quotes if decision.doubtful and not decision.answerable else [],
            decision=decision.reason,
        )
        answer.timings_ms = {
            "retrieve": timings.get("retrieve", 0.0) + timings.get("gate", 0.0),
            "generate": 0.0,
            "total": (time.perf_counter() - state["started"]) * 1000,
        }
        return answer

    def decline_text(self, language: Lang) -> str:
        return reply("decline", language, articles=self.articles_phrase(language))

    def articles_phrase(self, language: Lang) -> str:
        """"the ritzau article (2022-01)" or "the 3 articles I have", for declines and briefings."""
        articles = list(self.index.articles.values())
        if len(articles) == 1:
            return reply("one_article", language, source=articles[0]["source"], date=articles[0]["date"])
        return reply("many_articles", language, count=len(articles))

    # --- the public API ---------------------------------------------------------
    def answer(self, question: str | Question) -> Answer:
        """The extractive answer (or a decline); raises InputError for an unusable question."""
        if isinstance(question, str):
            question = Question(question)
        return self.chain.invoke({"question": question})

    def refine(self, answer: Answer) -> Answer:
        """The fluent answer when a generator is configured and what it wrote passes verification;
        otherwise `answer` unchanged, with `verified=False` and the reason when a generator was tried."""
        if not self.may_refine(answer):
            return answer
        started = time.perf_counter()
        answered, why = self._reading(answer)
        answer = replace(answer, decision=why)
        if not answered:
            return self._declined(answer, (time.perf_counter() - started) * 1000) if answer.answerable else answer
        if not answer.answerable:
            answer = self._rescued(answer)
        retry: tuple[str, str] | None = None
        for _attempt in range(1 + GENERATION_RETRIES):
            composition = self.composer.compose(answer.question, answer.language, answer.citations, retry)
            text = composition.text
            if composition.problem:
                problems = [composition.problem]
                if not text:  # the model failed, not its answer: asking again won't help
                    break
            else:
                text = self.verifier.add_missing_citation(composition.text, answer.language, answer.citations)
                problems = self._problems(answer, composition.text, text)
                if not problems:
                    break
            retry = (composition.text, "; ".join(problems))
        generate_ms = (time.perf_counter() - started) * 1000
        timings = {**answer.timings_ms, "generate": generate_ms, "total": answer.timings_ms.get("total", 0.0) + generate_ms}
        if problems:
            return replace(answer, verified=False, fallback="; ".join(problems), generated=text, timings_ms=timings)
        return replace(answer, answer=self._name_articles(text, answer.citations), backend=composition.backend, verified=True, timings_ms=timings)

    def may_refine(self, answer: Answer) -> bool:
        """Whether `refine` may change this answer: a generator writes answers, and a decline that
        rests on one missing word is read again by a model that gives yes/no margins."""
        return self.composer.fluent and (answer.answerable or (answer.doubtful and self._active_reader() is not None))

    def _active_reader(self) -> ReadingCheck | None:
        """The reading check, unless there is none or its model turned out to give no margins."""
        return self.reader if self.reader is not None and self.reader.available else None

    def _reading(self, answer: Answer) -> tuple[bool, str]:
        """The generator's second opinion on a doubtful decision of the gate (`ReadingCheck`):
        whether the quotes answer the question, and what the model made of them. When every
        question word is in the quotes as written, its reading caught nothing more (measured) and
        would cost a second. A failing model keeps the gate's decision."""
        reader = self._active_reader()
        if reader is None or not answer.doubtful:
            return answer.answerable, answer.decision
        try:
            margin = reader.margin(answer.question, answer.language, answer.citations or answer.candidates)
        except Exception as exc:
            log.warning("The reading check failed: %s", exc)
            return answer.answerable, answer.decision
        limit = reader.limit(gate_passed=answer.answerable)
        answered = margin >= limit
        if answer.answerable:
            verb = "let the answer stand" if answered else "declined it"
        else:
            verb = "answered it" if answered else "kept the decline"
        return answered, f"the reading check {verb} (margin {margin:.2f}, limit {limit:.2f})"

    def _rescued(self, answer: Answer) -> Answer:
        """A decline the model read as answered: the quotes it read become the answer's."""
        quotes = answer.candidates
        text = self.extractive.compose(answer.question, answer.language, quotes).text
        return replace(answer, answer=text, answerable=True, citations=quotes, candidates=[])

    def _declined(self, answer: Answer, generate_ms: float) -> Answer:
        """The quotes didn't answer the question after all: say so, as the gate would have."""
        return replace(
            answer,
            answer=self.decline_text(answer.language),
            answerable=False,
            citations=[],
            backend=self.composer.name,
            timings_ms={**answer.timings_ms, "generate": generate_ms, "total": answer.timings_ms.get("total", 0.0) + generate_ms},
        )

    def _name_articles(self, text: str, citations: list[Citation]) -> str:
        """With several articles indexed, a generated answer ends by naming the ones it cites."""
        if len(self.index.articles) < 2:
            return text
        cited = [c for c in citations if c.n in cited_numbers(text, len(citations))[0]]
        labels = sorted({(c.date, c.source) for c in cited}, reverse=True)
        return f"{text} ({'; '.join(f'{source}, {date}' for date, source in labels)})" if labels else text

    def _problems(self, answer: Answer, generated: str, text: str) -> list[str]:
        """Everything wrong with a generated answer: the verifier's checks, then the model's own."""
        problems = self.verifier.verify(text, answer.question, answer.language, answer.citations).problems
        if not problems and self.judge and self._crosses_languages(answer):
            try:
                if not self.judge.supported(answer.question, answer.language, answer.citations, generated):
                    problems.append("a claim the sentences don't state")
            except Exception as exc:  # the same server that just answered may still fail; never show unchecked
                problems.append(f"the claim check failed ({type(exc).__name__})")
        return problems

    @staticmethod
    def _crosses_languages(answer: Answer) -> bool:
        return detect_language(" ".join(c.quote for c in answer.citations), default="da") != answer.language

    def ask(self, question: str | Question) -> Answer:
        """The best answer this configuration gives: extractive, then refined when possible."""
        return self.refine(self.answer(question))

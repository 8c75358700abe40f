"""The answering chain, as typed stages: check the question, detect its language, retrieve, gate, compose.

    question ─► check ─► language ─► retrieve ─► gate ─► cite ─► compose (extractive)   = Draft → Answer
                                                                   └─► refine (reading check, generator, verified)

`Answerer.answers` yields the extractive answer at once and then, when a generator is configured
and what it wrote (or read) changes the answer, the refined one. `answer` and `refine` are the
two halves. With a model that gives yes/no margins, `refine` first has it read the quotes when the
gate's decision rested on word likeness, which may turn a pass into a decline or the other way round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from textwrap import shorten
from typing import TypeVar

from babel import Locale

from bot.answering.citing import merge_citations
from bot.answering.composers import Composer, ExtractiveComposer, GeneratorComposer, OnText
from bot.answering.composers.extractive import disagreement, quoted
from bot.answering.features import QuestionAnalysis, analyse, story_names
from bot.answering.gate import AnswerabilityGate, GateDecision
from bot.answering.learned import Models, load_models
from bot.answering.marks import CITATION_MARK, mark_numbers
from bot.answering.readers import ClaimJudge, ReadingCheck
from bot.answering.retrieve import (
    MAX_CITATIONS,
    Retrieval,
    favouring,
    newest_first,
    ranked_retrieval,
)
from bot.answering.screen import Refusal, screen
from bot.answering.stories import competing_stories
from bot.answering.thresholds import THRESHOLDS
from bot.answering.verify import AnswerVerifier, cited_numbers
from bot.answering.when import TimeFilter, article_span, time_filter, within
from bot.config import Settings
from bot.errors import BackendUnavailable, InputError
from bot.lang import detect_language
from bot.store.news_index import NewsIndex
from bot.texts import reply
from bot.types import Answer, Citation, Lang, StoryChoice

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_NEAREST = 3  # articles a decline names as the closest the archive holds
GENERATION_RETRIES = 1  # a rejected generated answer is asked for once more, with the reasons


@dataclass
class Question:
    """A question as the chain receives it; `context` is an earlier question of the same conversation."""

    text: str
    language: Lang | None = None  # forced answer language, or None to detect
    context: str = ""
    condense: bool = True  # may the generator rewrite text + context into one question (seconds)?
    # The article the conversation's previous answer quoted: a follow-up is answered from its story
    # first. With `chosen` (picked from a "Which story?" reply), from that article alone.
    story: str = ""
    chosen: bool = False


@dataclass
class Draft:
    """A question on its way through the stages: checked, its language known, the time each stage took."""

    question: Question
    text: str
    language: Lang
    started: float
    when: TimeFilter | None = None  # the time it names ("i går", "last week"), if any
    timings: dict[str, float] = field(default_factory=dict)

    def quick_timings(self) -> dict[str, float]:
        """What a reply that ends at the quick stage took: retrieval, the gate, and in all."""
        return {
            "retrieve": self.timings.get("retrieve", 0.0),
            "gate": self.timings.get("gate", 0.0),
            "generate": 0.0,
            "total": (time.perf_counter() - self.started) * 1000,
        }

    def timed(self, stage: str, run: Callable[[], T]) -> T:
        began = time.perf_counter()
        result = run()
        self.timings[stage] = (time.perf_counter() - began) * 1000
        return result


def _headline(title: str) -> str:
    """An article's headline as a reply names it: at most 80 characters."""
    return shorten(title, 80, placeholder=" …")


def check_question(text: str, limit: int, language: Lang = "en") -> str:
    """The question, trimmed; raises InputError (in the question's language) when it is empty or too long."""
    cleaned = " ".join(text.replace("\ufeff", " ").split())  # a byte-order mark pasted or piped in is no text
    if not cleaned:
        raise InputError(reply("empty_question", language))
    if len(cleaned) > limit:
        raise InputError(reply("long_question", detect_language(cleaned[:500]), length=len(cleaned), limit=limit))
    return cleaned


def citations_from(retrieval: Retrieval, index: NewsIndex) -> list[Citation]:
    """The best passages as numbered quotes, best first: what the generator reads and is checked on."""
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
            language=passage.lead.language,
            byline=passage.lead.byline,
            url=passage.lead.url,
            first_filed=passage.lead.first_filed,
            span=(
                passage.lead.index,
                max(s.index for s in passage.sentences if s.paragraph == passage.lead.paragraph),
            ),
            story=story_names(index.lead(passage.lead.doc_id)),
        )
        for n, passage in enumerate(retrieval.passages[:MAX_CITATIONS], start=1)
    ]


@dataclass(frozen=True)
class Search:
    """A question ready to search: its analysis, the articles of a period it is limited to (None:
    all), and whether it asks for the latest."""

    analysis: QuestionAnalysis
    articles: set[str] | None
    newest: bool


class Answerer:
    """Answers questions over one news index; build once per process, call many times."""

    def __init__(
        self, settings: Settings, index: NewsIndex, composer: Composer | None = None, models: Models | None = None
    ) -> None:
        self.settings = settings
        self._models = models
        self.use_index(index)
        self.composer = composer or self.extractive
        self.verifier = AnswerVerifier()
        self.model = (
            self.composer.model if isinstance(self.composer, GeneratorComposer) else None
        )  # the chat model, if any
        self.judge = ClaimJudge(self.model) if self.model else None
        self.reader = ReadingCheck(self.model) if self.model else None

    @property
    def models(self) -> Models:
        """The ranker and the decision: the ones given, else those shipped in bot/data (loaded once)."""
        if self._models is None:
            self._models = load_models()
        return self._models

    def use_index(self, index: NewsIndex) -> None:
        """Answer from `index` from the next question on (a re-read of the articles)."""
        self.index = index
        self.extractive = ExtractiveComposer(name_articles=len(index.articles) > 1)
        self.gate = AnswerabilityGate(index)

    # --- the stages -------------------------------------------------------------
    def draft(self, question: Question) -> Draft:
        """Check the question and detect its language: what every later stage works on."""
        started = time.perf_counter()
        text = check_question(question.text, self.settings.max_question_chars)
        language = question.language or detect_language(text)
        return Draft(question, text, language, started, time_filter(text, self.settings.today or date.today()))

    def _query(self, draft: Draft) -> str:
        """What is searched and gated: the question, read after the earlier one it follows up —
        condensed into one standalone question by the generator when there is one."""
        context = draft.question.context
        if not context:
            return draft.text
        if draft.question.condense and isinstance(self.composer, GeneratorComposer):
            standalone = self.composer.condense(context, draft.text, draft.language)
            if standalone:
                return standalone
        return f"{context} {draft.text}"

    def _retrieve(self, analysis: QuestionAnalysis, articles: set[str] | None = None) -> Retrieval:
        vector = self.index.embeddings.embed_questions([analysis.text])[0]
        favoured = favouring(analysis.names, set(analysis.period))
        return ranked_retrieval(self.index, vector, analysis, self.models.ranker, articles, favoured)

    def _compose(self, draft: Draft, retrieval: Retrieval, decision: GateDecision) -> Answer:
        quotes = citations_from(retrieval, self.index)
        shown: list[Citation] = []
        if decision.verdict == "answer":
            text, shown = self._cited(self.extractive.compose(draft.text, draft.language, quotes).text, quotes)
        elif decision.verdict == "closest":
            text, shown = self._closest(draft.text, draft.language, quotes)
        else:
            text = self.decline_text(draft.language, quotes)
        return Answer(
            question=draft.text,
            language=draft.language,
            answer=text,
            answerable=decision.answerable,
            citations=shown,
            passages=quotes if decision.answerable else [],
            backend="extractive",
            verified=True,
            doubtful=decision.doubtful,
            candidates=quotes if decision.doubtful else [],
            verdict=decision.verdict,
            probability=decision.probability,
            reason=decision.reason,
            timings_ms=draft.quick_timings(),
        )

    def _refused(self, draft: Draft, refusal: Refusal) -> Answer:
        """The reply to a text that is not searched: what the bot can be asked about, or which
        languages it answers in (in English unless the chat chose its language)."""
        if refusal.reason == "other_language":
            language: Lang = draft.question.language or "en"
            name = Locale.parse(language).languages.get(refusal.language, refusal.language)
            text = reply("other_language", language, language=name)
        else:
            language = draft.language
            kind = "greeting" if refusal.reason == "greeting" else "not_a_question"
            text = reply(kind, language, articles=self.articles_phrase(language))
        return Answer(
            question=draft.text,
            language=language,
            answer=text,
            answerable=False,
            verdict="decline",
            reason=refusal.reason,
            timings_ms={"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - draft.started) * 1000},
        )

    def _closest(self, question: str, language: Lang, quotes: list[Citation]) -> tuple[str, list[Citation]]:
        """The best quote, saying the articles may not state exactly what was asked; when two
        articles disagree, both, as an answer would show them."""
        rivals = disagreement(quotes)
        if rivals:
            marked, shown = self._cited(self.extractive.compose(question, language, rivals).text, rivals)
        else:
            marked, shown = self._cited(quoted(quotes[0], len(self.index.articles) > 1), quotes[:1])
        return reply("closest", language, quotes=marked), shown

    def _in_archive(self, word: str) -> bool:
        return bool(self.index.terms.get_by_ids([word]))

    def _cited(self, text: str, quotes: list[Citation]) -> tuple[str, list[Citation]]:
        """The answer text and the citations shown under it (`merge_citations`)."""
        return merge_citations(text, quotes, name_articles=len(self.index.articles) > 1)

    def decline_text(self, language: Lang, nearest: list[Citation] | None = None) -> str:
        """The decline; with several articles indexed, it names the (up to three) articles whose
        passages came closest, so the reader sees what the archive does hold on the subject."""
        text = reply("decline", language, articles=self.articles_phrase(language))
        if len(self.index.articles) < 2 or not nearest:
            return text
        seen: dict[str, Citation] = {}
        for quote in nearest:
            seen.setdefault(quote.doc_id, quote)
        listed = "; ".join(f"«{_headline(c.title)}» ({c.source}, {c.date})" for c in list(seen.values())[:MAX_NEAREST])
        return f"{text} {reply('decline_nearest', language, articles=listed)}"

    def articles_phrase(self, language: Lang) -> str:
        """ "the ritzau article (2022-01)" or "the 3 articles I have", for declines and briefings."""
        articles = list(self.index.articles.values())
        if len(articles) == 1:
            return reply("one_article", language, source=articles[0].source, date=articles[0].date)
        return reply("many_articles", language, count=len(articles))

    # --- the public API ---------------------------------------------------------
    def answer(self, question: str | Question) -> Answer:
        """The extractive answer (or a decline); raises InputError for an unusable question."""
        if isinstance(question, str):
            question = Question(question)
        draft = self.draft(question)
        if not self.index.articles:  # every article taken out of the archive: nothing to quote
            return self._no_articles(draft)
        refusal = screen(
            draft.text, draft.language, self._in_archive, draft.question.context, names_a_time=draft.when is not None
        )
        if refusal is not None:
            return self._refused(draft, refusal)
        search = self.search_for(draft)
        if isinstance(search, Answer):
            return search
        story, chosen = draft.question.story, draft.question.chosen
        # A story chosen from a "Which story?" reply is where the answer comes from; the previous
        # answer's story only goes first for a question that asks about no period or the latest.
        if story in self.index.articles and (chosen or (search.articles is None and not search.newest)):
            on_story = self._searched(draft, replace(search, articles={story}, newest=False), offer_stories=False)
            if on_story.verdict != "decline" or chosen:
                return on_story
        return self._searched(draft, search, offer_stories=True)

    def _searched(self, draft: Draft, search: Search, offer_stories: bool) -> Answer:
        """Retrieve, decide and compose; with `offer_stories`, a question that fits several
        stories about equally gets the choice among them instead (`competing_stories`)."""
        retrieval = draft.timed("retrieve", lambda: self._retrieve(search.analysis, search.articles))
        if search.newest:
            retrieval = newest_first(retrieval)
        decision = draft.timed("gate", lambda: self.gate.decide(search.analysis, retrieval, self.models))
        if offer_stories and decision.verdict != "decline" and not search.newest:
            stories = competing_stories(search.analysis, retrieval, self.index, THRESHOLDS.story_share)
            if stories:
                return self._which_story(draft, stories)
        return self._compose(draft, retrieval, decision)

    def _which_story(self, draft: Draft, stories: list[StoryChoice]) -> Answer:
        """ "Which story? 1) … 2) …": the reply to a question several stories answer about equally."""
        listed = "\n".join(f"{n}) {_headline(s.title)} ({s.source}, {s.date})" for n, s in enumerate(stories, 1))
        return Answer(
            question=draft.text,
            language=draft.language,
            answer=reply("which_story", draft.language, stories=listed),
            answerable=False,
            verdict="choose",
            stories=stories,
            reason="several stories fit about equally",
            timings_ms=draft.quick_timings(),
        )

    def search_for(self, draft: Draft) -> Search | Answer:
        """What to search for a checked question: its analysis and where to look; or, for a period
        the archive holds nothing from, the reply that says so."""
        when = draft.when
        articles = self._articles_of(when)
        strict = when is not None and when.strict
        if when is not None and strict and not articles:
            return self._nothing_from(draft, when)
        asked = replace(draft, text=when.rest) if when is not None and (strict or when.newest) else draft
        analysis = analyse(self._query(asked), draft.language, articles if not strict else set())
        return Search(analysis, articles if strict else None, when is not None and when.newest)

    def _articles_of(self, when: TimeFilter | None) -> set[str]:
        """The articles of the period a question asks about (none when it names no period)."""
        if when is None or not when.period:
            return set()
        return {doc_id for doc_id, article in self.index.articles.items() if within(article, when)}

    def _nothing_from(self, draft: Draft, when: TimeFilter) -> Answer:
        """A decline for a period the archive holds nothing from, naming the dates it covers."""
        dates = sorted(m.date for m in self.index.articles.values() if article_span(m.date))
        period = f"{when.start}" if when.start == when.end else f"{when.start} – {when.end}"
        text = reply(
            "nothing_from",
            draft.language,
            label=when.label,
            period=period,
            first=dates[0] if dates else "–",
            last=dates[-1] if dates else "–",
        )
        return Answer(
            question=draft.text,
            language=draft.language,
            answer=text,
            answerable=False,
            verdict="decline",
            reason=f"no article from {period}",
            timings_ms={"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - draft.started) * 1000},
        )

    def _no_articles(self, draft: Draft) -> Answer:
        """The reply of a bot whose archive is empty."""
        return Answer(
            question=draft.text,
            language=draft.language,
            answer=reply("no_articles", draft.language),
            answerable=False,
            verdict="decline",
            reason="no articles",
            timings_ms={"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - draft.started) * 1000},
        )

    def quotes(self, question: str) -> list[Citation]:
        """The passages retrieval ranks best for a question, whatever the gate makes of them."""
        text = check_question(question, self.settings.max_question_chars)
        return citations_from(self._retrieve(analyse(text, detect_language(text))), self.index)

    def answers(self, question: str | Question) -> Iterator[Answer]:
        """The quick (extractive) answer, then the refined one when it changes what is shown."""
        first = self.answer(question)
        yield first
        final = self.refined(first)
        if final is not None:
            yield final

    def refined(self, first: Answer, on_draft: OnText | None = None) -> Answer | None:
        """The refined answer when it should follow `first`: it replaces it (`Answer.replaces`), or
        a generated answer failed its checks and the user may be told the quotes stand; else None.
        `on_draft` sees each attempt's text as the model writes it, before it is checked."""
        if not self.may_refine(first):
            return None
        final = self.refine(first, on_draft)
        return final if final.replaces(first) or not final.verified else None

    def refine(self, answer: Answer, on_draft: OnText | None = None) -> Answer:
        """The fluent answer when a generator is configured and what it wrote passes verification;
        otherwise `answer` unchanged, with `verified=False` and the reason when a generator was tried."""
        if not self.may_refine(answer):
            return answer
        started = time.perf_counter()
        answered, why = self._reading(answer)
        answer = replace(answer, reason=why)
        if not answered:
            return self._declined(answer, (time.perf_counter() - started) * 1000) if answer.answerable else answer
        if not answer.answerable:
            answer = self._rescued(answer)
        retry: tuple[str, str] | None = None
        for _attempt in range(1 + GENERATION_RETRIES):
            composition = self.composer.compose(answer.question, answer.language, answer.passages, retry, on_draft)
            text = composition.text
            if composition.problem:
                problems = [composition.problem]
                if not text:  # the model failed, not its answer: asking again won't help
                    break
            else:
                text = self.verifier.add_missing_citation(composition.text, answer.language, answer.passages)
                problems = self._problems(answer, composition.text, text)
                if not problems:
                    break
            retry = (composition.text, "; ".join(problems))
        generate_ms = (time.perf_counter() - started) * 1000
        timings = {
            **answer.timings_ms,
            "generate": generate_ms,
            "total": answer.timings_ms.get("total", 0.0) + generate_ms,
        }
        if problems:
            return replace(answer, verified=False, fallback="; ".join(problems), generated=text, timings_ms=timings)
        text, shown = self._cited(self._name_articles(text, answer.passages), answer.passages)
        return replace(
            answer,
            answer=text,
            citations=shown,
            backend=composition.backend,
            verified=True,
            timings_ms=timings,
        )

    def warm_up(self) -> None:
        """One tiny completion, so the first question doesn't pay for paging the model in;
        raises BackendUnavailable when the model fails."""
        if isinstance(self.composer, GeneratorComposer):
            self.composer.warm_up()

    def may_refine(self, answer: Answer) -> bool:
        """Whether `refine` may change this answer: a generator writes answers, and a decline that
        rests on one missing word is read again by a model that gives yes/no margins."""
        return self.composer.fluent and (answer.answerable or (answer.doubtful and self._active_reader() is not None))

    def _active_reader(self) -> ReadingCheck | None:
        """The reading check, unless there is none or its model turned out to give no margins."""
        return self.reader if self.reader is not None and self.reader.available else None

    def _reading(self, answer: Answer) -> tuple[bool, str]:
        """The generator's second opinion on a "closest" reply (`ReadingCheck`): whether the quotes
        answer the question after all (a margin of at least `rescue_margin`), and what the model
        made of them. Answers and declines the decision is sure of are not read again: that would
        cost a second each. A failing model keeps the decision."""
        reader = self._active_reader()
        if reader is None or not answer.doubtful:
            return answer.answerable, answer.reason
        try:
            margin = reader.margin(answer.question, answer.language, answer.passages or answer.candidates)
        except BackendUnavailable as exc:
            log.warning("The reading check failed: %s", exc)
            return answer.answerable, answer.reason
        limit = THRESHOLDS.rescue_margin
        answered = margin >= limit
        verb = "answered it" if answered else "kept the closest quotes"
        return answered, f"the reading check {verb} (margin {margin:.2f}, limit {limit:.2f})"

    def _rescued(self, answer: Answer) -> Answer:
        """A decline the model read as answered: the quotes it read become the answer's."""
        quotes = answer.candidates
        text, shown = self._cited(self.extractive.compose(answer.question, answer.language, quotes).text, quotes)
        return replace(
            answer, answer=text, answerable=True, verdict="answer", citations=shown, passages=quotes, candidates=[]
        )

    def _declined(self, answer: Answer, generate_ms: float) -> Answer:
        """The quotes didn't answer the question after all: say so, as the gate would have."""
        return replace(
            answer,
            answer=self.decline_text(answer.language, answer.passages),
            answerable=False,
            verdict="decline",
            citations=[],
            passages=[],
            backend=self.composer.name,
            timings_ms={
                **answer.timings_ms,
                "generate": generate_ms,
                "total": answer.timings_ms.get("total", 0.0) + generate_ms,
            },
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
        problems = self.verifier.verify(text, answer.question, answer.language, answer.passages).problems
        problems += self._one_sided(text, answer.passages)
        if not problems and self.judge and self._crosses_languages(answer):
            try:
                if not self.judge.supported(answer.question, answer.language, answer.passages, generated):
                    problems.append("a claim the sentences don't state")
            except BackendUnavailable as exc:  # the same server that just answered may still fail; never show unchecked
                problems.append(f"the claim check failed ({type(exc).__name__})")
        return problems

    @staticmethod
    def _one_sided(text: str, passages: list[Citation]) -> list[str]:
        """When two articles state different numbers, an answer must give both, the newest first."""
        rivals = disagreement(passages)
        if not rivals:
            return []
        first_mark: dict[int, int] = {}
        for mark in CITATION_MARK.finditer(text):
            for n in mark_numbers(mark.group(1)):  # "[1–3]" cites 2 as well
                first_mark.setdefault(n, mark.start())
        if all(c.n in first_mark for c in rivals):
            places = [first_mark[c.n] for c in rivals]  # rivals come newest first
            if places == sorted(places):
                return []
        newest, oldest = rivals
        return [
            f"the articles disagree: [{newest.n}] ({newest.date}) and [{oldest.n}] ({oldest.date}) give other "
            f"numbers; give both, the newest [{newest.n}] first"
        ]

    @staticmethod
    def _crosses_languages(answer: Answer) -> bool:
        return any(c.language != answer.language for c in answer.passages)

    def ask(self, question: str | Question) -> Answer:
        """The best answer this configuration gives: extractive, then refined when possible."""
        return self.refine(self.answer(question))

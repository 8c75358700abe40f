"""The values that cross layers: articles as the index lists them, sentences, citations and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Lang = Literal["da", "en"]
# "choose": the question fits several stories about equally; the reply asks which one it is about.
Verdict = Literal["answer", "closest", "decline", "choose"]


@dataclass(frozen=True, kw_only=True)
class ArticleRef:
    """An indexed article's metadata: what citations, listings and time questions read of it."""

    doc_id: str
    source: str
    date: str  # the latest version's ("2025-11-19 06:40", "2022-01", "undated")
    first_filed: str = ""  # the first version's, as `date`; "" when unknown or the same as `date`
    title: str
    language: str = "da"
    byline: str = ""
    url: str = ""
    file: str = ""  # the seeds folder's file it was read from
    sha256: str = ""  # of that file, as indexed

    def to_json(self) -> dict[str, str]:
        """Its entry in the index manifest, which is keyed by doc_id."""
        data = asdict(self)
        del data["doc_id"]
        return data

    @classmethod
    def from_json(cls, doc_id: str, data: dict[str, Any]) -> ArticleRef:
        """An entry of the index manifest (one written before first filings were kept has none), or
        a passage's metadata."""
        known = {f.name for f in fields(cls)} - {"doc_id"}
        return cls(doc_id=doc_id, **{name: value for name, value in data.items() if name in known})


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, with where it stands and how well it matched."""

    text: str
    doc_id: str
    source: str
    date: str
    title: str
    paragraph: int
    index: int  # position of the sentence within its paragraph, from 0
    score: float = 0.0
    language: str = "da"  # the article's (ISO 639-1; a wire story may be in a third language)
    byline: str = ""  # the article's, where the archive has one
    url: str = ""  # the article's web address, where the archive has one
    first_filed: str = ""  # the article's (`ArticleRef.first_filed`)


@dataclass(frozen=True)
class Citation:
    """A quoted sentence the answer rests on; `n` is what the answer text cites as [n]."""

    n: int
    quote: str
    doc_id: str
    source: str
    date: str
    paragraph: int
    score: float
    title: str = ""
    language: str = "da"  # the article's (ISO 639-1), as detected when it was indexed
    span: tuple[int, int] = (0, 0)  # the first and last sentence quoted, by position in the paragraph
    headline: str = ""  # the article's first words, set when several articles are indexed (labels only)
    byline: str = ""
    url: str = ""
    first_filed: str = ""  # the article's (`ArticleRef.first_filed`)
    # The names its article's lead gives: what tells a version of one story from another story told alike.
    story: frozenset[str] = frozenset()

    @classmethod
    def quoting(cls, n: int, quote: str, article: ArticleRef, paragraph: int, score: float) -> Citation:
        """A citation of a quote from paragraph `paragraph` of an indexed article."""
        return cls(
            n,
            quote,
            article.doc_id,
            article.source,
            article.date,
            paragraph,
            score,
            article.title,
            article.language,
            byline=article.byline,
            url=article.url,
            first_filed=article.first_filed,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for label_only in ("title", "span", "headline", "story"):
            data.pop(label_only)
        data["score"] = round(self.score, 4)
        return data


@dataclass(frozen=True)
class StoryChoice:
    """A story a question may be about, as a "Which story?" reply offers it."""

    doc_id: str
    title: str
    source: str
    date: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """What every front end renders: the text, whether the article answers, and why we think so."""

    question: str
    language: Lang
    answer: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)  # as shown: one per paragraph, in the order cited
    backend: str = "extractive"
    verified: bool = True  # False: a generated answer failed its checks and this is the extractive one
    fallback: str = ""  # why the generated answer was not shown
    generated: str = ""  # the rejected generated text, for debugging (`--json` only)
    doubtful: bool = False  # the gate's decision rests on word likeness (see GateDecision.doubtful)
    candidates: list[Citation] = field(default_factory=list)  # the quotes a doubtful decline was made over
    verdict: Verdict = "answer"  # answer, closest (the nearest quotes, saying they may not state it) or decline
    probability: float | None = None  # the learned decision's, that the quotes answer the question
    reason: str = ""  # why it answers or declines: the decision's, or what the reading check made of the quotes
    timings_ms: dict[str, float] = field(default_factory=dict)
    passages: list[Citation] = field(default_factory=list)  # the numbered quotes a generator reads and is checked on
    stories: list[StoryChoice] = field(default_factory=list)  # with verdict "choose": the stories offered

    def __post_init__(self) -> None:
        if not self.answerable and self.verdict == "answer":
            self.verdict = "decline"
        if not self.passages:
            self.passages = list(self.citations)

    @property
    def fluent(self) -> bool:
        """A generated answer that passed verification: its quotes are evidence shown beside it."""
        return self.answerable and self.verified and self.backend != "extractive" and bool(self.citations)

    def replaces(self, first: Answer) -> bool:
        """Whether this refined answer takes the place of `first` once shown: a verified fluent
        answer, or the model's reading turning a decline into quotes or quotes into a decline."""
        return self.answer != first.answer and (self.verified or self.answerable != first.answerable)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "answerable": self.answerable,
            "citations": [c.to_json() for c in self.citations],
            "backend": self.backend,
            "verified": self.verified,
            "decision": self.verdict,
            **({"probability": round(self.probability, 3)} if self.probability is not None else {}),
            **({"reason": self.reason} if self.reason else {}),
            **({"fallback": self.fallback, "rejected": self.generated} if self.fallback else {}),
            **({"stories": [s.to_json() for s in self.stories]} if self.stories else {}),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass
class Bullet:
    """One line of a briefing: the text (a quote, or its verified translation) and its source."""

    text: str
    citation: Citation
    verified: bool = True  # False: a generated version failed its checks and this is the quote


@dataclass
class Briefing:
    """3–5 cited bullets about the articles, in one language."""

    language: Lang
    backend: str
    header: str
    bullets: list[Bullet] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "backend": self.backend,
            "header": self.header,
            "bullets": [
                {"text": b.text, "verified": b.verified, "citation": b.citation.to_json()} for b in self.bullets
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Briefing:
        bullets = [Bullet(b["text"], Citation(**b["citation"]), b["verified"]) for b in data["bullets"]]
        return cls(data["language"], data["backend"], data["header"], bullets)

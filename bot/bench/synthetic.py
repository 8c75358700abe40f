"""A SYNTHETIC archive made from the project's own articles, for benchmarks only.

Every generated text is a real article rewritten: its names swapped for names of the other
articles (the same name the same way throughout one article), its numbers and years changed, and
the sentences of each paragraph shuffled. The scale curve takes paragraphs (`synthetic_chunks`);
the archive benchmark takes whole articles as IPTC ninjs documents (`synthetic_articles`), dated
over a few years, which `newsbot ingest` reads like any wire item. Neither is news, and neither
is ever written into the seeds folder (`write_archive` refuses it).
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.documents import Article, split_sentences
from bot.errors import InputError
from bot.files import write_json_atomically
from bot.lang import content_terms
from bot.types import Lang

FILE_PREFIX = "synthetic-"
FIRST_DAY = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
SPAN_MINUTES = 4 * 365 * 24 * 60  # versioncreated spread over four years
_DIGITS = re.compile(r"\d+")


@lru_cache(maxsize=4096)
def _names_in(text: str, language: str) -> tuple[str, ...]:
    """The names in a paragraph; the same source paragraphs are rewritten thousands of times."""
    lang: Lang = "en" if language == "en" else "da"
    return tuple(sorted({t.surface for t in content_terms(text, lang) if t.is_name}))


def name_pool(articles: list[Article]) -> list[str]:
    """Every name in the articles: what names are swapped for."""
    return sorted({n for a in articles for p in a.paragraphs for n in _names_in(p, a.language)}) or ["Synthetica"]


def _number(match: re.Match[str], rng: random.Random) -> str:
    """Another number of the same kind: a year stays a year, a day of the month a possible day."""
    digits = match.group(0)
    value = int(digits)
    if len(digits) == 4 and 1900 <= value <= 2099:
        return str(rng.randint(1990, 2030))
    if value <= 31 and len(digits) <= 2:
        return str(rng.randint(1, 28))
    return str(rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))


def rewrite(text: str, names: dict[str, str], rng: random.Random) -> list[tuple[int, str]]:
    """The sentences of `text` with its names replaced as `names` says and its numbers changed,
    shuffled; each with its place before the shuffle."""
    if names:
        pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
        text = pattern.sub(lambda m: names[m.group(0)], text)
    text = _DIGITS.sub(lambda m: _number(m, rng), text)
    sentences = list(enumerate(split_sentences(text)))
    rng.shuffle(sentences)
    return sentences


def synthetic_chunks(articles: list[Article], count: int, seed: int = 7) -> list[str]:
    """`count` paragraph-sized texts: the articles' paragraphs rewritten (`rewrite`). Clearly not news."""
    rng = random.Random(seed)
    paragraphs = [(p, a.language) for a in articles for p in a.paragraphs]
    pool = name_pool(articles)
    chunks: list[str] = []
    while len(chunks) < count:
        text, language = rng.choice(paragraphs)
        names = {name: rng.choice(pool) for name in _names_in(text, language)}
        chunks.append(" ".join(sentence for _, sentence in rewrite(text, names, rng)))
    return chunks


@dataclass(frozen=True)
class SyntheticArticle:
    """One generated article: its ninjs document, and which source text each of its texts rewrites
    (paragraph text → "doc:p3", sentence text → "doc:p3:s1"), so a benchmark can reuse the vectors
    of other rewrites of the same text."""

    ninjs: dict[str, Any]
    templates: dict[str, str] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return list(self.templates)


def _generate(article: Article, number: int, seed: int, pool: list[str], rng: random.Random) -> SyntheticArticle:
    names = {name: rng.choice(pool) for p in article.paragraphs for name in _names_in(p, article.language)}
    paragraphs: list[str] = []
    templates: dict[str, str] = {}
    for p_number, paragraph in enumerate(article.paragraphs, start=1):
        rewritten = rewrite(paragraph, names, rng)
        text = " ".join(sentence for _, sentence in rewritten)
        paragraphs.append(text)
        templates.setdefault(text, f"{article.doc_id}:p{p_number}")
        for index, sentence in rewritten:
            templates.setdefault(sentence, f"{article.doc_id}:p{p_number}:s{index}")
    created = FIRST_DAY + datetime.timedelta(minutes=rng.randrange(SPAN_MINUTES))
    headline = split_sentences(paragraphs[0])[0][:120]
    english = article.language == "en"
    document = {
        "uri": f"urn:newsbot:synthetic:{seed}:{number}",
        "versioncreated": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "headline": headline,
        "body_text": "\n\n".join(paragraphs),
        "byline": f"{'By' if english else 'Af'} Synthetic Desk {number % 9 + 1}",
        "language": article.language,
        "copyrightholder": "synthetic",
    }
    return SyntheticArticle(document, templates)


def synthetic_articles(sources: list[Article], count: int, seed: int = 7) -> list[SyntheticArticle]:
    """`count` articles rewritten from `sources` (each a different text), the same for the same seed."""
    if not sources:
        raise InputError("A synthetic archive needs at least one source article.")
    rng = random.Random(seed)
    pool = name_pool(sources)
    seen: set[str] = set()
    articles: list[SyntheticArticle] = []
    attempts = 0
    while len(articles) < count:
        generated = _generate(sources[len(articles) % len(sources)], len(articles) + 1, seed, pool, rng)
        digest = hashlib.sha256(generated.ninjs["body_text"].encode()).hexdigest()
        attempts += 1
        if digest in seen:
            if attempts > 20 * count:
                raise InputError(f"The source articles are too short to give {count} different articles.")
            continue
        seen.add(digest)
        articles.append(generated)
    return articles


def refuse_seeds_folder(folder: Path, seeds_dir: Path) -> None:
    """A synthetic archive must never mix with real articles: refuse the seeds folder and anything in it."""
    target, seeds = folder.resolve(), seeds_dir.resolve()
    if target == seeds or seeds in target.parents:
        raise InputError(
            f"{folder} is the seeds folder (NEWSBOT_SEEDS_DIR={seeds_dir}) or inside it; a synthetic archive "
            "never goes there. Name another folder, e.g. bench-results/synthetic."
        )


def write_archive(folder: Path, articles: list[SyntheticArticle], seeds_dir: Path) -> list[Path]:
    """The articles as `synthetic-<n>.json` ninjs files in `folder` (earlier synthetic files there
    are replaced); raises InputError for the seeds folder."""
    refuse_seeds_folder(folder, seeds_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{FILE_PREFIX}*.json"):
            old.unlink()
        paths = []
        for number, article in enumerate(articles, start=1):
            path = folder / f"{FILE_PREFIX}{number:05d}.json"
            write_json_atomically(path, article.ninjs)
            paths.append(path)
    except OSError as error:
        raise InputError(f"Can't write the synthetic archive to {folder} ({error.strerror}).") from None
    return paths

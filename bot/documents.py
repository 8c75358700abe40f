"""Loading articles from the seeds folder and cutting them into paragraph chunks and sentences.

A seed file looks like this (the format of the newsroom's wire feed):

     date 2022-01 First sentence of the article …

    Second paragraph …

    /ritzau/

The `date` header and the `/source/` footer become metadata and stay out of the text.
Plain .txt and .md files work too, with the metadata defaults below.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import InputError
from bot.lang import article_language
from bot.texts import printable
from bot.types import ArticleRef
from bot.untrusted import (
    MAX_ARTICLE_CHARS,
    MAX_HTML_TAGS,
    FileTooLarge,
    holds_secret,
    load_json,
    read_regular_file,
    secret_message,
    web_address,
)

if TYPE_CHECKING:
    from langchain_core.documents import Document

ARTICLE_SUFFIXES = (".txt", ".md", ".json")  # .json: an IPTC ninjs document (`newsbot ingest` writes them)
DEFAULT_SOURCE = "unknown"
DEFAULT_DATE = "undated"
MAX_CHUNK_CHARS = 1000

_HEADER = re.compile(r"^\s*date\s+(\d{4}(?:-\d{2}){0,2})\s*")
_FOOTER = re.compile(
    r"^/\s*([^/\s][^/]*?)\s*/(?:[^/]*/)*$"
)  # "/ritzau/", "/ritzau/FINANS/": the first part is the source
# A sentence ends at . ! or ? (maybe closed by a quote or bracket), followed by
# whitespace and something that can start a sentence: "19. januar" stays whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'»”)\]]?\s+(?=[\"'«„“(\[\-–—]?\s*[A-ZÆØÅÄÖÜ0-9])")
# The wire agencies a byline may name ("Af Mette Holm, Ritzau", "Anna Berg/ritzau/"), each as it is usually written.
WIRE_AGENCIES = {
    "agence france presse": "Agence France-Presse",
    "associated press": "Associated Press",
    "afp": "AFP",
    "ap": "AP",
    "bloomberg": "Bloomberg",
    "dpa": "dpa",
    "ntb": "NTB",
    "reuters": "Reuters",
    "ritzau": "Ritzau",
    "tt": "TT",
}
_AGENCY = re.compile(
    r"(?<!\w)(" + "|".join(name.replace(" ", r"[\s-]+") for name in WIRE_AGENCIES) + r")(?!\w)", re.IGNORECASE
)


@dataclass(frozen=True)
class Article:
    """One article: its metadata and its paragraphs (numbered from 1)."""

    doc_id: str
    source: str
    date: str
    title: str
    paragraphs: list[str]
    content_hash: str
    file_name: str = ""
    language: str = "da"  # detected once, here: what the quotes are written in
    byline: str = ""
    url: str = ""
    first_filed: str = ""  # the first version's date, as `date`; "" when unknown or the same as `date`

    def ref(self) -> ArticleRef:
        """What the index lists of the article."""
        return ArticleRef(
            doc_id=self.doc_id,
            source=self.source,
            date=self.date,
            first_filed=self.first_filed,
            title=self.title,
            language=self.language,
            byline=self.byline,
            url=self.url,
            file=self.file_name,
            sha256=self.content_hash,
        )


def newest_key(date: str) -> tuple[bool, str]:
    """Sort key for articles newest first (with reverse=True): dated ones by date, undated last."""
    return date != DEFAULT_DATE, date


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start() + len(match.group(0).rstrip())))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if piece.strip():
            trimmed.append((begin + left, begin + right))
    return trimmed


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`."""
    return [text[a:b] for a, b in sentence_spans(text)]


def parse_article(path: Path, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """Read one article file; raises InputError when it is unreadable, too long, holds no text, or
    is no regular file (a link, FIFO or device)."""
    try:
        raw, _ = read_regular_file(path, 4 * max_chars)  # UTF-8 takes at most 4 bytes a character
    except FileTooLarge as error:
        raise InputError(_too_long(path, error.size, max_chars, "bytes")) from None
    except OSError as error:
        raise InputError(f"Can't read article {path}: {error.strerror or error}.") from error
    return article_from(path, raw, max_chars)


def article_from(path: Path, raw: bytes, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """The article in `raw`, the bytes of the file `path` names; raises InputError as `parse_article`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"Article {path} is not valid UTF-8 (byte {error.start}).") from error
    if len(text) > max_chars:
        raise InputError(_too_long(path, len(text), max_chars, "characters"))
    text = printable(text.replace("\r\n", "\n").replace("\r", "\n"))
    if path.suffix == ".json":
        return ninjs_article(path, text, hashlib.sha256(raw).hexdigest())
    lines = text.split("\n")
    date, source = DEFAULT_DATE, DEFAULT_SOURCE
    header = _HEADER.match(lines[0]) if lines else None
    if header:
        date = _valid_date(header.group(1))
        lines[0] = lines[0][header.end() :]
    while lines and not lines[-1].strip():
        lines.pop()
    footer = _FOOTER.match(lines[-1].strip()) if lines else None
    if footer:
        source = footer.group(1).strip()
        lines.pop()
    body = "\n".join(lines)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
    paragraphs = [p.lstrip("# ").strip() if path.suffix == ".md" else p for p in paragraphs]
    paragraphs = [p for p in paragraphs if any(c.isalnum() for c in p)]
    if not any(c.isalpha() for p in paragraphs for c in p):
        raise InputError(f"Article {path} has no text.")
    title = split_sentences(paragraphs[0])[0]
    return Article(
        doc_id=path.stem,
        source=source,
        date=date,
        title=title,
        paragraphs=paragraphs,
        content_hash=hashlib.sha256(raw).hexdigest(),
        file_name=path.name,
        language=article_language(" ".join(paragraphs)),
    )


_BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "blockquote"}


def html_paragraphs(markup: str, where: str) -> list[str]:
    """The paragraphs of an HTML body, as text (scripts and styles dropped): the text of each
    outermost block, so that nested blocks (unclosed <p>s nest) cost their length once, not once
    per level. Raises InputError for a body of more than MAX_HTML_TAGS tags."""
    from bs4 import BeautifulSoup, Tag

    if markup.count("<") > MAX_HTML_TAGS:
        raise InputError(f"{where} has more than {MAX_HTML_TAGS:,} HTML tags; an article has far fewer.")
    soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "figure", "aside"]):
        hidden.decompose()
    texts, pending = [], list(reversed(soup.contents))
    while pending:
        node = pending.pop()
        if isinstance(node, Tag):
            if node.name in _BLOCKS:
                texts.append(node.get_text(" ", strip=True))
            else:
                pending.extend(reversed(node.contents))
    return texts if any(texts) else [soup.get_text(" ", strip=True)]


def _valid_date(text: str) -> str:
    """`text` when it is a real date ("2022", "2022-01", "2022-01-06"), else DEFAULT_DATE ("2022-13")."""
    parts = [int(part) for part in text.split("-")]
    try:
        datetime.date(parts[0], *[*parts[1:], 1, 1][:2])
    except (ValueError, TypeError):
        return DEFAULT_DATE
    return text


def _minute(stamp: object) -> str:
    """A ninjs timestamp to the minute, as "2022-01-06 14:05"; DEFAULT_DATE for anything else."""
    match = re.match(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?", stamp) if isinstance(stamp, str) else None
    if not match or _valid_date(match.group(1)) == DEFAULT_DATE:
        return DEFAULT_DATE
    return f"{match.group(1)} {match.group(2)}" if match.group(2) else match.group(1)


def _ninjs_dates(document: dict) -> tuple[str, str]:
    """When the item was last updated (`versioncreated`, else `firstcreated`) and when it was first
    filed (`firstcreated`; "" without one, or when that is the same minute)."""
    updated, filed = _minute(document.get("versioncreated")), _minute(document.get("firstcreated"))
    if updated == DEFAULT_DATE:
        return filed, ""
    return updated, "" if filed in (DEFAULT_DATE, updated) else filed


def _name(value: object) -> str:
    """A source named by a string or a {"name": …} object; "" for any other shape."""
    if isinstance(value, dict):
        value = value.get("name")
    return " ".join(printable(value).split()) if isinstance(value, str) else ""


def _ninjs_source(document: dict, byline: str) -> str:
    """Who the item is from: `copyrightholder`, `provider`, the first `infosource` that names one,
    or a wire agency its byline names; DEFAULT_SOURCE when none does."""
    infosource = document.get("infosource")
    for value in (
        document.get("copyrightholder"),
        document.get("provider"),
        *(infosource if isinstance(infosource, list) else [infosource]),
    ):
        if name := _name(value):
            return name
    agency = _AGENCY.search(byline)
    return WIRE_AGENCIES[" ".join(agency.group(1).lower().replace("-", " ").split())] if agency else DEFAULT_SOURCE


def ninjs_article(path: Path, text: str, content_hash: str) -> Article:
    """An article from an IPTC ninjs document (`uri`, `headline`, `body_text` or `body_html`, …)."""
    try:
        document = load_json(text)
    except ValueError as error:
        raise InputError(f"Article {path} is not valid JSON ({error}).") from None
    if not isinstance(document, dict):
        raise InputError(f"Article {path} is not a ninjs object.")
    if document.get("body_text"):
        paragraphs = re.split(r"\n\s*\n", str(document["body_text"]))
    else:
        paragraphs = html_paragraphs(str(document.get("body_html") or ""), f"Article {path}")
    # Control characters again, now that JSON escapes ("\u001b") and HTML entities are decoded.
    paragraphs = [" ".join(printable(p).split()) for p in paragraphs]
    paragraphs = [p for p in paragraphs if any(c.isalnum() for c in p)]
    if not any(c.isalpha() for p in paragraphs for c in p):
        raise InputError(f"Article {path} has no text.")
    headline = " ".join(printable(str(document.get("headline") or "")).split())
    links = [printable(str(link.get("href", ""))) for link in document.get("links") or [] if isinstance(link, dict)]
    uri = printable(str(document.get("uri", "")))
    byline = printable(document["byline"]) if isinstance(document.get("byline"), str) else ""
    date, first_filed = _ninjs_dates(document)
    return Article(
        doc_id=path.stem,
        source=_ninjs_source(document, byline),
        date=date,
        title=headline or split_sentences(paragraphs[0])[0],
        paragraphs=paragraphs,
        content_hash=content_hash,
        file_name=path.name,
        language=article_language(" ".join(paragraphs)),
        byline=byline,
        url=next((web_address(link) for link in links if web_address(link)), web_address(uri)),
        first_filed=first_filed,
    )


def article_paths(seeds_dir: Path) -> list[Path]:
    """The article files in the seeds folder, sorted by name: every entry with an article suffix,
    whatever it is (reading refuses links, FIFOs and devices, each in one line)."""
    if not seeds_dir.is_dir():
        raise InputError(
            f"The seeds folder {seeds_dir} does not exist. Create it and put articles in it, or set NEWSBOT_SEEDS_DIR."
        )
    paths = sorted(p for p in seeds_dir.iterdir() if p.suffix in ARTICLE_SUFFIXES)
    return [p for p in paths if p.name.lower() != "readme.md"]


def _too_long(path: Path, size: int, limit: int, unit: str) -> str:
    return (
        f"Article {path} is {size:,} {unit}, over the limit of {limit:,} characters: "
        "split it, or raise NEWSBOT_MAX_ARTICLE_CHARS."
    )


def article_texts(article: Article) -> list[str]:
    """Everything of an article that a reply, a listing or a log line may show."""
    return [article.title, article.source, article.byline, article.url, *article.paragraphs]


def load_articles(
    seeds_dir: Path,
    notify: Callable[[str], None] = lambda message: None,
    max_chars: int = MAX_ARTICLE_CHARS,
    *,
    secrets: Sequence[str] = (),
    allow_none: bool = False,
) -> list[Article]:
    """Every usable article in the seeds folder; each file that isn't one is skipped with one line
    to `notify`, and so is one holding any of `secrets` (the bot's own tokens and keys). Raises
    InputError when none is usable, unless `allow_none` (a running bot whose articles were all
    taken out answers from none)."""
    articles, problems = [], []
    for path in article_paths(seeds_dir):
        try:
            article = _parse_unchanged(path, max_chars)
        except OSError as error:  # gone between listing and reading
            problems.append(f"Can't read article {path}: {error.strerror or error}.")
            notify(f"{problems[-1]} Skipped.")
            continue
        except InputError as error:
            problems.append(str(error))
            notify(f"{error} Skipped.")
            continue
        if holds_secret(article_texts(article), secrets):
            problems.append(secret_message(f"Article {path}"))
            notify(problems[-1])
            continue
        articles.append(article)
    if not articles and not allow_none:
        if not problems:
            raise InputError(f"The seeds folder {seeds_dir} holds no articles (.txt, .md or ninjs .json files).")
        raise InputError(f"The seeds folder {seeds_dir} holds no usable article: {' '.join(problems)}")
    return articles


_PARSED: dict[tuple[Path, int], tuple[tuple[int, int, int, int], Article]] = {}


def _parse_unchanged(path: Path, max_chars: int) -> Article:
    """`parse_article`, once per version of a file: a running bot re-reads a seeds folder of
    thousands of articles on every change. A version is the file's inode (an atomic rewrite
    makes a new one), size, and modification and change times (the change time can't be set
    back, as `cp -p` or `touch -r` set the modification time). One version a file is kept."""
    stat = path.lstat()  # a link is refused by parse_article, not followed here
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    known = _PARSED.get((path, max_chars))
    if known is not None and known[0] == version:
        return known[1]
    article = parse_article(path, max_chars)
    _PARSED[(path, max_chars)] = (version, article)
    return article


@lru_cache(maxsize=1)
def _splitter():
    """LangChain is imported only when chunking, so reading seeds (a cached briefing) stays fast."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=MAX_CHUNK_CHARS,
        chunk_overlap=0,
        separators=[". ", "! ", "? ", "; ", ", ", " "],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_article(article: Article) -> tuple[list[Document], list[Document]]:
    """The article's chunks (a paragraph, or part of a long one) and its sentences, as Documents.

    Chunk metadata keeps each sentence's span, so a citation quotes the exact sentence.
    """
    from langchain_core.documents import Document

    base = {
        "doc_id": article.doc_id,
        "source": article.source,
        "date": article.date,
        "title": article.title,
        "language": article.language,
        "byline": article.byline,
        "url": article.url,
    }
    chunks: list[Document] = []
    sentences: list[Document] = []
    for number, paragraph in enumerate(article.paragraphs, start=1):
        parts = (
            [Document(page_content=paragraph, metadata={"start_index": 0})]
            if len(paragraph) <= MAX_CHUNK_CHARS
            else _splitter().create_documents([paragraph])
        )
        sentence_index = 0
        for part_number, part in enumerate(parts):
            chunk_id = f"{article.doc_id}:p{number}.{part_number}"
            spans = sentence_spans(part.page_content)
            chunks.append(
                Document(
                    id=chunk_id,
                    page_content=part.page_content,
                    metadata={
                        **base,
                        "paragraph": number,
                        "part": part_number,
                        "start": part.metadata["start_index"],
                        "sentences": [list(span) for span in spans],
                    },
                )
            )
            for begin, end in spans:
                sentences.append(
                    Document(
                        id=f"{article.doc_id}:p{number}.s{sentence_index}",
                        page_content=part.page_content[begin:end],
                        metadata={**base, "paragraph": number, "sentence": sentence_index, "chunk_id": chunk_id},
                    )
                )
                sentence_index += 1
    return chunks, sentences

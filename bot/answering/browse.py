"""Browsing the archive: its articles newest first, a page at a time, narrowed by a search term.

Browsing is not answering, so a search term is matched by words, simply and predictably: every
word of the term begins a word of the article's headline, byline, source or text, ignoring case
("minist" finds "Ministeriet", "storm" finds "stormen" and "stormvejr"). The words of each
article are read from the index once and kept while the article is unchanged.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass

from bot.errors import InputError
from bot.lang import WORD
from bot.store.news_index import NewsIndex
from bot.types import ArticleRef

PAGE_SIZE = 8  # articles a page: a phone screen's worth
MAX_TERM_CHARS = 200


@dataclass(frozen=True)
class Listing:
    """One article as a list shows it."""

    doc_id: str
    date: str
    source: str
    title: str
    byline: str = ""
    url: str = ""
    first_filed: str = ""  # the article's (`ArticleRef.first_filed`)


@dataclass(frozen=True)
class Page:
    """One page of the archive, newest first, of the articles a search term matches (all without one)."""

    listings: tuple[Listing, ...]
    term: str
    number: int  # from 1
    size: int
    matching: int  # the articles the term matches; all of them without a term
    total: int  # the articles in the archive

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.size))

    @property
    def newer(self) -> bool:
        """Whether newer articles come before this page."""
        return self.number > 1

    @property
    def older(self) -> bool:
        """Whether older articles come after this page."""
        return self.number < self.pages

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first article in the list."""
        return (self.number - 1) * self.size + 1

    @property
    def last(self) -> int:
        return self.first + len(self.listings) - 1


def search_words(term: str) -> list[str]:
    """The words of a search term, lower-cased; raises InputError for a term too long to be one."""
    if len(term) > MAX_TERM_CHARS:
        raise InputError(f"A search term is at most {MAX_TERM_CHARS} characters; use a few words of the headline.")
    return [word.casefold() for word in WORD.findall(term)]


def _words(*texts: str) -> set[str]:
    return {word.casefold() for text in texts for word in WORD.findall(text)}


class Browser:
    """Pages through an index's articles; keeps each article's words while its text is unchanged."""

    def __init__(self) -> None:
        self._words: dict[str, tuple[str, frozenset[str]]] = {}  # doc id -> (sha256, its words)
        self._postings: dict[str, set[str]] = {}  # word -> the doc ids holding it
        self._vocabulary: list[str] = []  # sorted, for finding the words a term word begins

    def _refresh(self, index: NewsIndex) -> None:
        """Read the words of the articles added or changed since the last call (one pass over the chunks)."""
        articles = index.articles
        changed = {d for d, meta in articles.items() if self._words.get(d, ("", None))[0] != meta.sha256}
        removed = set(self._words) - set(articles)
        if not changed and not removed:
            return
        texts: dict[str, list[str]] = defaultdict(list)
        if changed:
            for chunk in index.chunks.documents():
                if chunk.metadata.get("doc_id") in changed:
                    texts[chunk.metadata["doc_id"]].append(chunk.page_content)
        for doc_id in removed:
            del self._words[doc_id]
        for doc_id in changed:
            meta = articles[doc_id]
            own = _words(meta.title, meta.byline, meta.source, *texts[doc_id])
            self._words[doc_id] = (meta.sha256, frozenset(own))
        self._postings = defaultdict(set)
        for doc_id, (_, words) in self._words.items():
            for word in words:
                self._postings[word].add(doc_id)
        self._vocabulary = sorted(self._postings)

    def _holding(self, word: str) -> set[str]:
        """The articles with a word that begins with `word`."""
        found: set[str] = set()
        start = bisect.bisect_left(self._vocabulary, word)
        for candidate in self._vocabulary[start:]:
            if not candidate.startswith(word):
                break
            found |= self._postings[candidate]
        return found

    def matching(self, index: NewsIndex, term: str) -> list[ArticleRef]:
        """The articles the term matches, newest first; all of them for an empty term."""
        ordered = index.newest_first()
        words = search_words(term)
        if not words:
            return ordered
        self._refresh(index)
        found = set.intersection(*(self._holding(word) for word in words))
        return [article for article in ordered if article.doc_id in found]

    def page(self, index: NewsIndex, term: str = "", number: int = 1, size: int = PAGE_SIZE) -> Page:
        """Page `number` (from 1; past the last, the last) of the articles the term matches, newest first."""
        found = self.matching(index, term)
        pages = max(1, -(-len(found) // size))
        number = min(max(1, number), pages)
        chosen = found[(number - 1) * size : number * size]
        listings = tuple(Listing(a.doc_id, a.date, a.source, a.title, a.byline, a.url, a.first_filed) for a in chosen)
        return Page(listings, " ".join(term.split()), number, size, len(found), len(index.articles))

"""Articles from the formats a newsroom receives: IPTC ninjs JSON, and RSS or Atom feeds (a file
or a URL). Each item becomes a ninjs document, the form `newsbot ingest` stores in the seeds folder.

An item's identity is its ninjs `uri`, or a feed item's id or link: a later version of the same
item replaces the earlier one, and the file it is stored in is named after it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.untrusted import FEED_DEADLINE, MAX_FEED_BYTES, FileTooLarge, load_json, read_regular_file, refuse_xml_entities


@dataclass(frozen=True)
class Item:
    """One article in ninjs form, with where it came from (for messages)."""

    ninjs: dict[str, Any]
    origin: str

    @property
    def uri(self) -> str:
        return str(self.ninjs["uri"])

    @property
    def file_name(self) -> str:
        """The seeds folder's file for this identity: the same item always lands in the same file."""
        return f"ninjs-{hashlib.sha256(self.uri.encode()).hexdigest()[:16]}.json"


def is_url(reference: str) -> bool:
    return reference.startswith(("http://", "https://"))


def read_source(
    reference: str,
    *,
    follow_links: bool = True,
    max_bytes: int = MAX_FEED_BYTES,
    deadline: float = FEED_DEADLINE,
) -> tuple[bytes, int | None]:
    """The bytes of a file or URL, and the file's permission bits (None for a URL); raises
    InputError (one line) when they can't be had: a file that is no regular file (or a link,
    unless `follow_links`), more than `max_bytes`, or a URL not fetched within `deadline` seconds."""
    if is_url(reference):
        try:
            return asyncio.run(asyncio.wait_for(_download(reference, max_bytes), deadline)), None
        except TimeoutError:
            raise InputError(
                f"{reference}: can't be fetched within {deadline:g} s (NEWSBOT_FEED_DEADLINE); gave up."
            ) from None
    try:
        return read_regular_file(Path(reference), max_bytes, follow_links=follow_links)
    except FileTooLarge as error:
        raise InputError(
            f"{reference}: is {error.size:,} bytes, over NEWSBOT_MAX_FEED_BYTES ({max_bytes:,})."
        ) from None
    except OSError as error:
        raise InputError(f"{reference}: can't be read ({error.strerror}).") from None


async def _download(url: str, max_bytes: int) -> bytes:
    """The body of `url`, read as it arrives and never beyond `max_bytes` (decompressed)."""
    import httpx

    data = bytearray()
    try:
        async with httpx.AsyncClient(follow_redirects=True) as client, client.stream("GET", url) as response:
            response.raise_for_status()
            async for block in response.aiter_bytes():
                data += block
                if len(data) > max_bytes:
                    raise InputError(
                        f"{url}: is over {max_bytes:,} bytes (NEWSBOT_MAX_FEED_BYTES); stopped reading there."
                    )
    except httpx.HTTPError as error:
        raise InputError(f"{url}: can't be fetched ({type(error).__name__}: {error}).") from None
    return bytes(data)


def items_from(reference: str, data: bytes) -> list[Item]:
    """The articles in `data`: ninjs (one object or a list) or an RSS/Atom feed."""
    if not data.strip():
        raise InputError(f"{reference}: is empty.")
    if data.lstrip()[:1] in (b"{", b"["):
        return _ninjs_items(reference, data)
    return _feed_items(reference, data)


def _ninjs_items(reference: str, data: bytes) -> list[Item]:
    try:
        parsed = load_json(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{reference}: is not valid JSON ({error}).") from None
    documents = parsed if isinstance(parsed, list) else [parsed]
    items = []
    for number, document in enumerate(documents, start=1):
        where = reference if len(documents) == 1 else f"{reference} item {number}"
        if not isinstance(document, dict):
            raise InputError(f"{where}: is not a ninjs object.")
        if not (document.get("body_text") or document.get("body_html")):
            raise InputError(f"{where}: has no body_text or body_html.")
        if not document.get("uri"):
            raise InputError(f"{where}: has no uri (ninjs needs one to tell versions apart).")
        items.append(Item(document, where))
    return items


def _feed_items(reference: str, data: bytes) -> list[Item]:
    import feedparser

    refuse_xml_entities(data, reference)
    feed = feedparser.parse(data)
    if not feed.entries:
        problem = f" ({feed.bozo_exception})" if feed.get("bozo") else ""
        raise InputError(f"{reference}: is neither ninjs nor an RSS or Atom feed with items{problem}.")
    source = feed.feed.get("title", "") or reference
    language = feed.feed.get("language", "")
    items = []
    for entry in feed.entries:
        identity = entry.get("id") or entry.get("link")
        body = (entry.get("content") or [{}])[0].get("value") or entry.get("summary", "")
        if not identity or not body:
            continue
        stamp = entry.get("updated_parsed") or entry.get("published_parsed")
        document = {
            "uri": identity,
            "versioncreated": time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp) if stamp else "",
            "headline": entry.get("title", ""),
            "body_html": body,
            "byline": entry.get("author", ""),
            "language": language,
            "links": [{"href": entry["link"], "rel": "canonical"}] if entry.get("link") else [],
            "copyrightholder": source,
        }
        items.append(Item(document, f"{reference}: {entry.get('title', identity)[:60]}"))
    if not items:
        raise InputError(f"{reference}: its items have no id, link or text.")
    return items

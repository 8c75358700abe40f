"""Reading what the bot does not control — article files, ninjs JSON, feeds, HTML bodies — within
limits: regular files only, bounded sizes and nesting, no XML entities, web links only, and no
text that holds one of the bot's own credentials.

The limits live here; `Settings` takes its defaults for the configurable ones from here too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from bot.errors import InputError

MAX_ARTICLE_CHARS = 300_000  # a long read is ~50,000; beyond this a file is a dump, not an article
MAX_FEED_BYTES = 20 << 20  # a busy feed of 500 full-text items is ~5 MB; the cap is read, never more
FEED_DEADLINE = 30.0  # seconds for a whole fetch, redirects and body included: a trickling server can't hold ingest
MAX_JSON_DEPTH = 64  # ninjs nests a few levels (associations, renditions); Python's decoder recurses per level
MAX_HTML_TAGS = 20_000  # a long read has ~1,000; parsing costs grow with the tags, and faster with their nesting


class NotARegularFile(InputError):
    """A path that is a link, FIFO, device, socket or folder where an article file was expected."""


class FileTooLarge(InputError):
    """A file over the size it may be read at."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(f"{path} is {size:,} bytes, over the limit of {limit:,} bytes.")
        self.size = size


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    kinds = [
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a device file"),
        (stat.S_ISBLK, "a device file"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def not_regular(path: Path, mode: int) -> NotARegularFile:
    return NotARegularFile(f"{path} is {_kind(mode)}: only regular files are read.")


def read_regular_file(path: Path, max_bytes: int, *, follow_links: bool = False) -> tuple[bytes, int]:
    """The bytes and permission bits of a regular file of at most `max_bytes`. A link is refused
    unless `follow_links`, and a FIFO or device is never opened for reading (that could block
    forever or never end). Raises NotARegularFile, FileTooLarge, or OSError."""
    if not follow_links and stat.S_ISLNK(os.lstat(path).st_mode):
        raise not_regular(path, stat.S_IFLNK)
    if not stat.S_ISREG(mode := os.stat(path).st_mode):
        raise not_regular(path, mode)
    # Checked again on what was opened: the path may have been swapped for a link or a FIFO since.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    with open(os.open(path, flags), "rb") as stream:
        opened = os.fstat(stream.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise not_regular(path, opened.st_mode)
        if opened.st_size > max_bytes:
            raise FileTooLarge(path, opened.st_size, max_bytes)
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:  # grown since
        raise FileTooLarge(path, len(data), max_bytes)
    return data, stat.S_IMODE(opened.st_mode)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def load_json(text: str) -> Any:
    """json.loads of at most MAX_JSON_DEPTH levels; raises ValueError for deeper or invalid JSON.
    The depth is counted before decoding, because the decoder's recursion fails with a
    RecursionError (no ValueError) a few hundred levels down."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text)


def refuse_xml_entities(data: bytes, where: str) -> None:
    """Raise InputError when an XML document declares entities: an external one reads a file or
    a URL (XXE), nested internal ones expand without bound ("billion laughs"). A feed needs none.
    Malformed XML passes: the feed parser's lenient mode reads it without expanding entities."""

    def refuse(*_: object) -> int:
        raise InputError(
            f"{where}: declares XML entities, which are refused (they can read files or expand without bound)."
        )

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    with contextlib.suppress(expat.ExpatError):
        parser.Parse(data, True)


def holds_secret(texts: Iterable[str], secrets: Iterable[str]) -> bool:
    """Whether any of `texts` contains one of `secrets` (the bot's own tokens and keys)."""
    wanted = [secret for secret in secrets if secret]
    return any(secret in text for text in texts for secret in wanted)


def secret_message(where: str) -> str:
    return (
        f"{where} holds a token or key the bot is configured with (a credential, not an article); "
        "it is not indexed or shown."
    )


def web_address(text: str) -> str:
    """`text` when it is an http(s) address with a host, else "": a javascript:, data: or file:
    link in an article must never reach a reader as a link."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return ""
    return text.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else ""

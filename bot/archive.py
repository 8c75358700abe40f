"""The seeds folder as a living archive: articles added, updated and removed by `newsbot ingest`,
each change one atomic file write, so a running bot or a concurrent ingest never reads half a file.

Seed-format files (.txt, .md) are copied under their own name; ninjs documents and feed items
are stored as `ninjs-<hash of their identity>.json`, so a later version lands on the earlier one.
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.documents import ARTICLE_SUFFIXES, Article, article_from, article_texts, ninjs_article
from bot.errors import InputError
from bot.feeds import Item, is_url, items_from, read_source
from bot.files import write_atomically
from bot.untrusted import (
    FEED_DEADLINE,
    MAX_FEED_BYTES,
    holds_secret,
    load_json,
    not_regular,
    read_regular_file,
    secret_message,
)


@dataclass(frozen=True)
class Outcome:
    """What ingesting one article did, in one line."""

    ok: bool
    message: str


def _instant(stamp: object) -> datetime | None:
    """A ninjs `versioncreated` as an instant ("…T12:00:00+02:00" is "…T10:00:00Z"); one without
    an offset counts as UTC, as ninjs stamps are meant to be; None when it is no timestamp."""
    try:
        moment = datetime.fromisoformat(str(stamp or "").strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _older(item: Item, stored: Item) -> bool:
    """Whether `item` is an older version than `stored`: by `versioncreated` compared as instants,
    else by a numbered `version` ("10" after "9"). A version without a date never replaces a
    dated one; between two undated, unnumbered versions the later ingest wins."""
    new, old = _instant(item.ninjs.get("versioncreated")), _instant(stored.ninjs.get("versioncreated"))
    if old is not None and (new is None or new != old):
        return new is None or new < old
    numbers = [str(version.ninjs.get("version", "")) for version in (item, stored)]
    return all(number.isdigit() for number in numbers) and int(numbers[0]) < int(numbers[1])


def _describe(article: Article) -> str:
    return f"{article.source}, {article.date}, {len(article.paragraphs)} paragraphs: {article.title[:60]}"


def _stored(target: Path) -> bytes | None:
    """The bytes of the article file `target` in the seeds folder, or None when there is no
    regular file there to compare with (it is written over)."""
    try:
        return read_regular_file(target, MAX_FEED_BYTES)[0]
    except (OSError, InputError):
        return None


class Archive:
    """Adds, updates and removes the article files of one seeds folder."""

    def __init__(
        self,
        seeds_dir: Path,
        max_chars: int,
        *,
        secrets: Sequence[str] = (),
        max_feed_bytes: int = MAX_FEED_BYTES,
        feed_deadline: float = FEED_DEADLINE,
    ) -> None:
        self.seeds_dir = seeds_dir
        self.max_chars = max_chars
        self.secrets = secrets  # the bot's own tokens and keys: an article holding one is refused
        self.max_feed_bytes = max_feed_bytes
        self.feed_deadline = feed_deadline
        self.changed = False

    def ingest(self, reference: str, replace: bool = False) -> Iterator[Outcome]:
        """Ingest a file, a folder of files, or a URL; one outcome per article (or per failure).
        A link named here is followed, as `cp` does; in a folder only its regular files are read."""
        path = Path(reference)
        if not is_url(reference) and path.is_dir():
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            if not entries:
                yield Outcome(False, f"{reference}: the folder holds no files.")
            for entry in entries:
                try:
                    mode = entry.lstat().st_mode
                except OSError:  # gone since the listing
                    continue
                if stat.S_ISREG(mode):
                    yield from self._ingest_one(str(entry), replace, follow_links=False)
                else:
                    yield Outcome(False, str(not_regular(entry, mode)))
        else:
            yield from self._ingest_one(reference, replace, follow_links=True)

    def _ingest_one(self, reference: str, replace: bool, follow_links: bool) -> Iterator[Outcome]:
        try:
            data, mode = read_source(
                reference, follow_links=follow_links, max_bytes=self.max_feed_bytes, deadline=self.feed_deadline
            )
            if not is_url(reference) and Path(reference).suffix in (".txt", ".md"):
                yield self._seed_file(Path(reference), data, mode, replace)
                return
            items = items_from(reference, data)
        except InputError as error:
            yield Outcome(False, str(error))
            return
        for item in items:
            try:
                yield self._store(item, mode)
            except InputError as error:
                yield Outcome(False, str(error))

    def _refuse_secrets(self, article: Article, where: str) -> None:
        if holds_secret(article_texts(article), self.secrets):
            raise InputError(secret_message(where))

    def _seed_file(self, path: Path, data: bytes, mode: int | None, replace: bool) -> Outcome:
        article = article_from(path, data, self.max_chars)  # validates before anything is written
        self._refuse_secrets(article, str(path))
        target = self.seeds_dir / path.name
        existed = target.exists() and target.resolve() != path.resolve()
        if existed:
            if _stored(target) == data:
                return Outcome(True, f"Unchanged: {path.name} is already in {self.seeds_dir}.")
            if not replace:
                raise InputError(
                    f"{self.seeds_dir} already holds another article named {path.name}; "
                    "rename the file, or use --replace to replace that article."
                )
        self._write(target, data, mode)
        return Outcome(True, f"{'Replaced' if existed else 'Added'} {path.name} ({_describe(article)}).")

    def _store(self, item: Item, mode: int | None = None) -> Outcome:
        target = self.seeds_dir / item.file_name
        data = json.dumps(item.ninjs, ensure_ascii=False, indent=1).encode()
        if len(data.decode()) > self.max_chars:  # the limit loading applies to the stored file
            raise InputError(f"{item.origin}: over NEWSBOT_MAX_ARTICLE_CHARS ({self.max_chars:,} characters).")
        article = ninjs_article(target, data.decode(), hashlib.sha256(data).hexdigest())
        self._refuse_secrets(article, item.origin)
        verb = "Added"
        if target.exists():
            stored = _stored(target)
            try:
                version = Item(load_json(stored.decode()), str(target)) if stored is not None else None
            except ValueError:  # UnicodeDecodeError too: a damaged file is written over
                version = None
            if version is not None and isinstance(version.ninjs, dict):
                if version.ninjs == item.ninjs:
                    return Outcome(True, f"Unchanged: {item.uri} ({target.name}).")
                if _older(item, version):
                    shown = version.ninjs.get("versioncreated") or version.ninjs.get("version")
                    return Outcome(True, f"Kept the newer version of {item.uri} ({shown}).")
            verb = "Updated"
        self._write(target, data, mode)
        return Outcome(True, f"{verb} {item.uri} as {target.name} ({_describe(article)}).")

    def _write(self, target: Path, data: bytes, source_mode: int | None) -> None:
        try:
            self.seeds_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(target, lambda tmp: tmp.write_bytes(data), like=source_mode)
        except OSError as error:
            raise InputError(
                f"can't write {target} ({error.strerror}); check that NEWSBOT_SEEDS_DIR is writable."
            ) from None
        self.changed = True

    def remove(self, reference: str) -> str:
        """Take an article out: by file name, id (file name without suffix) or ninjs/feed uri."""
        names = [
            reference,
            *(f"{reference}{suffix}" for suffix in ARTICLE_SUFFIXES),
            Item({"uri": reference}, "").file_name,
        ]
        for name in names:
            target = self.seeds_dir / name
            if "/" not in name and target.is_file():
                try:
                    target.unlink()
                except OSError as error:
                    raise InputError(f"can't remove {target} ({error.strerror}).") from None
                self.changed = True
                return f"Removed {name}."
        raise InputError(f"No article {reference!r} in {self.seeds_dir} (give its id, file name or uri).")

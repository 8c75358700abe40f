"""The seeds folder as a living archive: articles added, updated and removed by `newsbot ingest`,
each change one atomic file write, so a running bot or a concurrent ingest never reads half a file.

Seed-format files (.txt, .md) are copied under their own name; ninjs documents and feed items
are stored as `ninjs-<hash of their identity>.json`, so a later version lands on the earlier one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.documents import ARTICLE_SUFFIXES, Article, ninjs_article, parse_article
from bot.errors import InputError
from bot.feeds import Item, is_url, items_from, read_source
from bot.files import write_atomically


@dataclass(frozen=True)
class Outcome:
    """What ingesting one article did, in one line."""

    ok: bool
    message: str


def _version_key(version: str) -> tuple[int, int | str]:
    """ninjs `version` "10" after "9"; `versioncreated` timestamps compare as text."""
    return (1, int(version)) if version.isdigit() else (0, version)


def _describe(article: Article) -> str:
    return f"{article.source}, {article.date}, {len(article.paragraphs)} paragraphs: {article.title[:60]}"


class Archive:
    """Adds, updates and removes the article files of one seeds folder."""

    def __init__(self, seeds_dir: Path, max_chars: int) -> None:
        self.seeds_dir = seeds_dir
        self.max_chars = max_chars
        self.changed = False

    def ingest(self, reference: str, replace: bool = False) -> Iterator[Outcome]:
        """Ingest a file, a folder of files, or a URL; one outcome per article (or per failure)."""
        path = Path(reference)
        if not is_url(reference) and path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                yield Outcome(False, f"{reference}: the folder holds no files.")
            for file in files:
                yield from self._ingest_one(str(file), replace)
        else:
            yield from self._ingest_one(reference, replace)

    def _ingest_one(self, reference: str, replace: bool) -> Iterator[Outcome]:
        try:
            data = read_source(reference)
            if not is_url(reference) and Path(reference).suffix in (".txt", ".md"):
                yield self._seed_file(Path(reference), data, replace)
                return
            items = items_from(reference, data)
        except InputError as error:
            yield Outcome(False, str(error))
            return
        for item in items:
            try:
                yield self._store(item)
            except InputError as error:
                yield Outcome(False, str(error))

    def _seed_file(self, path: Path, data: bytes, replace: bool) -> Outcome:
        article = parse_article(path, self.max_chars)  # validates before anything is written
        target = self.seeds_dir / path.name
        existed = target.exists() and target.resolve() != path.resolve()
        if existed:
            if target.read_bytes() == data:
                return Outcome(True, f"Unchanged: {path.name} is already in {self.seeds_dir}.")
            if not replace:
                raise InputError(
                    f"{self.seeds_dir} already holds another article named {path.name}; "
                    "rename the file, or use --replace to replace that article."
                )
        self._write(target, data)
        return Outcome(True, f"{'Replaced' if existed else 'Added'} {path.name} ({_describe(article)}).")

    def _store(self, item: Item) -> Outcome:
        target = self.seeds_dir / item.file_name
        data = json.dumps(item.ninjs, ensure_ascii=False, indent=1).encode()
        article = ninjs_article(target, data.decode(), hashlib.sha256(data).hexdigest())
        if len(data.decode()) > self.max_chars:  # the limit loading applies to the stored file
            raise InputError(f"{item.origin}: over NEWSBOT_MAX_ARTICLE_CHARS ({self.max_chars:,} characters).")
        verb = "Added"
        if target.exists():
            try:
                stored = Item(json.loads(target.read_text(encoding="utf-8")), str(target))
            except (OSError, ValueError):
                stored = None
            if stored is not None:
                if stored.ninjs == item.ninjs:
                    return Outcome(True, f"Unchanged: {item.uri} ({target.name}).")
                if item.version and stored.version and _version_key(stored.version) > _version_key(item.version):
                    return Outcome(True, f"Kept the newer version of {item.uri} ({stored.version}).")
            verb = "Updated"
        self._write(target, data)
        return Outcome(True, f"{verb} {item.uri} as {target.name} ({_describe(article)}).")

    def _write(self, target: Path, data: bytes) -> None:
        try:
            self.seeds_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(target, lambda tmp: tmp.write_bytes(data))
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

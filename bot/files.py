"""Writing files so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _file_mode() -> int:
    """The mode a plainly created file gets (0644 under the usual umask 022). mkstemp makes 0600
    files, which another user or worker sharing the folder could not read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read the umask by setting it, and put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, write: Callable[[Path], object], like: int | None = None) -> None:
    """Call `write(tmp_path)` and move the result over `path` in one rename. With `like`, the
    permission bits of the file copied, the result is no more readable than that file was: an
    owner-only (0600) source stays owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode() if like is None else _file_mode() & (like | 0o600))
        with open(tmp, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomically(path: Path, data: Any) -> None:
    write_text_atomically(path, json.dumps(data, ensure_ascii=False, indent=1))


def sha256_of(path: Path) -> str:
    """The file's sha256, read in blocks (index files and model files are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()

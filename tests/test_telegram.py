"""End to end: the real `newsbot telegram` process against the local Bot API server."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import tempfile

import pytest

from bot.testing.fake_openai import FakeOpenAI
from bot.testing.fake_telegram import FakeTelegram, html_error
from tests.conftest import ROOT, newsbot_env, stop

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def server():
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def start_bot(server: FakeTelegram, settings, args=(), **env_extra: str) -> subprocess.Popen:
    # A fresh data folder per bot: conversation history must not leak between tests.
    env_extra.setdefault("NEWSBOT_DATA_DIR", tempfile.mkdtemp(prefix="newsbot-data-"))
    env_extra.setdefault("NEWSBOT_WARM_UP", "0")  # a scripted model server's replies are for the questions
    env = newsbot_env(settings, TELEGRAM_BOT_TOKEN=server.token, TELEGRAM_API_BASE_URL=server.base_url, **env_extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process


@pytest.fixture
def bot(server, settings, answerer):  # `answerer` builds the index first
    process = start_bot(server, settings)
    server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
    yield process
    stop(process)


def replies(server: FakeTelegram, chat_id: int = 1) -> list[dict]:
    return [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == chat_id]


def test_commands_are_registered_in_english_and_danish(server, bot):
    registered = server.wait_for(
        lambda: len(server.calls_to("setMyCommands")) >= 2 and server.calls_to("setMyCommands")
    )
    languages = {p.get("language_code") for p in registered}
    assert languages == {None, "da"}
    names = {c["command"] for c in registered[0]["commands"]}
    assert names >= {"start", "help", "ask", "sources", "lang"}


@pytest.mark.smoke
def test_private_question_in_english_is_answered_as_a_reply_with_sources_and_button(server, bot):
    question = server.message("Who sent troops to Kazakhstan?")
    server.push(question)
    sent = server.wait_for(lambda: replies(server))[0]
    assert sent["parse_mode"] == "HTML"
    assert int(sent["reply_parameters"]["message_id"]) == question["message_id"]
    assert "russisk-ledet" in sent["text"] and "ritzau, 2022-01" in sent["text"]
    button = sent["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Show quotes"
    assert server.calls_to("sendChatAction")[0]["action"] == "typing"
    # pressing the button shows the full quotes
    server.push(
        {
            "id": "cb1",
            "from": question["from"],
            "chat_instance": "1",
            "data": button["callback_data"],
            "message": {**server.messages[(1, max(k[1] for k in server.messages))]},
        },
        kind="callback_query",
    )
    server.wait_for(lambda: server.calls_to("answerCallbackQuery"))
    quotes = server.wait_for(lambda: [r for r in replies(server) if "<blockquote>" in r["text"]])
    assert "ritzau" in quotes[0]["text"]


def test_private_question_in_danish_and_a_decline(server, bot):
    server.push(server.message("Hvornår faldt regeringen?", language_code="da"))
    server.push(server.message("What is the capital of Denmark?", chat_id=2))
    danish = server.wait_for(lambda: replies(server, 1))[0]
    assert "Onsdag faldt regeringen" in danish["text"]
    decline = server.wait_for(lambda: replies(server, 2))[0]
    assert decline["text"].startswith("The article doesn't say") and "reply_markup" not in decline


def test_groups_answer_only_when_addressed(server, bot):
    group = dict(chat_id=-100, chat_type="supergroup")
    server.push(server.message("Who sent troops?", **group))  # not addressed: ignored
    server.push(server.message("/ask Hvem sendte tropper?", **group))
    server.wait_for(lambda: replies(server, -100))
    bot_message = server.messages[(-100, int(replies(server, -100)[0]["reply_parameters"]["message_id"]))]
    server.push(server.message("@newsbot_test_bot when did the government fall?", **group))
    server.wait_for(lambda: len(replies(server, -100)) >= 2)
    own = {**server.messages[max((k for k in server.messages if k[0] == -100), key=lambda k: k[1])], "from": server.bot}
    server.push(server.message("and how many were hurt?", reply_to=own, **group))
    texts = [r["text"] for r in server.wait_for(lambda: len(replies(server, -100)) >= 3 and replies(server, -100))]
    assert len(texts) == 3
    assert "russisk-ledet" in texts[0]  # each addressed message got its own reply, the first quoting the article
    assert bot_message["text"] == "/ask Hvem sendte tropper?"


def test_markup_in_a_question_never_breaks_the_reply(server, bot):
    server.push(server.message("<b>Who</b> sent & troops? *_[ ]"))
    sent = server.wait_for(lambda: replies(server))[0]
    assert html_error(sent["text"]) == ""


def test_non_text_gets_a_hint(server, bot):
    server.push(
        server.message(
            None,
            extra={
                "sticker": {
                    "file_id": "x",
                    "file_unique_id": "y",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
        )
    )
    assert "text" in server.wait_for(lambda: replies(server))[0]["text"]


def test_rate_limited_user_gets_one_slow_down(server, settings, answerer):
    process = start_bot(server, settings, NEWSBOT_RATE_LIMIT="2")
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        for _ in range(5):
            server.push(server.message("Hvornår faldt regeringen?"))
        server.wait_for(lambda: len(replies(server)) >= 3)
        server.push(server.message("Who sent troops?", chat_id=7, user_id=7))  # another user is unaffected
        server.wait_for(lambda: replies(server, 7))
        texts = [r["text"] for r in replies(server)]
        assert sum("Slow down" in t or "farten" in t for t in texts) == 1
        assert sum("Onsdag" in t for t in texts) == 2
    finally:
        process.terminate()
        process.wait(20)


def test_unknown_user_is_refused_with_their_id(server, settings, answerer):
    process = start_bot(server, settings, NEWSBOT_ALLOWED_USERS="1,2")
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        server.push(server.message("Who sent troops?", user_id=4242))
        assert "4242" in server.wait_for(lambda: replies(server))[0]["text"]
    finally:
        process.terminate()
        process.wait(20)


def test_a_429_delays_the_reply_instead_of_dropping_it(server, bot):
    server.fail_next["sendMessage"] = 1
    server.push(server.message("Hvornår faldt regeringen?"))
    server.wait_for(lambda: len(replies(server)) >= 2)  # the 429'd attempt, then the retry
    assert "Onsdag" in replies(server)[-1]["text"]


def test_a_long_answer_is_split_under_the_limit(server, bot):
    from bot.frontends.render import split_message, utf16_length

    text = ("Sætning med emoji 😀 og lidt mere tekst. " * 300).strip()
    pieces = split_message(text)
    assert len(pieces) > 1 and all(utf16_length(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_a_refused_question_does_not_stop_the_bot_and_sigterm_stops_it_cleanly(server, settings, answerer):
    process = start_bot(server, settings)
    server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
    server.push(server.message("x" * 2000))  # over the limit: a polite refusal
    refusal = server.wait_for(lambda: replies(server))[0]
    assert "too long" in refusal["text"] or "for langt" in refusal["text"]
    server.push(server.message("Who sent troops?"))
    server.wait_for(lambda: len(replies(server)) >= 2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


def test_webhook_mode_checks_the_secret(server, settings, answerer):
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_bot(
        server,
        settings,
        ["--webhook", "https://example.invalid/telegram", "--listen", "127.0.0.1", "--port", str(port)],
        TELEGRAM_WEBHOOK_SECRET="s3cret",
    )
    try:
        set_hook = server.wait_for(lambda: server.calls_to("setWebhook"), timeout=90)[0]
        assert set_hook["secret_token"] == "s3cret"
        update = server.push(server.message("Hvornår faldt regeringen?"))
        server.updates.clear()
        body = json.dumps(update).encode()

        def post(secret: str) -> int | None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/telegram",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
            )
            try:
                return urllib.request.urlopen(request, timeout=10).status
            except urllib.error.HTTPError as error:
                return error.code
            except OSError:  # not listening yet
                return None

        assert server.wait_for(lambda: post("wrong"), timeout=30) == 403
        assert post("s3cret") == 200
        assert "Onsdag" in server.wait_for(lambda: replies(server))[0]["text"]
    finally:
        process.terminate()
        process.wait(20)


def test_inline_mode_offers_the_answer_with_its_source(server, bot):
    server.push(
        {
            "id": "iq1",
            "from": {"id": 42, "is_bot": False, "first_name": "Rita", "language_code": "en"},
            "query": "Hvornår faldt regeringen?",
            "offset": "",
        },
        kind="inline_query",
    )
    answered = server.wait_for(lambda: server.calls_to("answerInlineQuery"))[0]
    assert answered["inline_query_id"] == "iq1"
    result = answered["results"][0]
    content = result["input_message_content"]
    assert "Onsdag faldt regeringen" in content["message_text"] and "ritzau, 2022-01" in content["message_text"]
    assert html_error(content["message_text"]) == ""


FLUENT = "A Russian-led military alliance sent troops to Kazakhstan [1]."
WRITING = "Writing a fuller answer"


def start_with_openai(server: FakeTelegram, settings, openai: FakeOpenAI) -> subprocess.Popen:
    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    process = start_bot(
        server, settings, NEWSBOT_LLM="openai", NEWSBOT_LLM_BASE_URL=openai.base_url, NEWSBOT_LLM_MODEL="fake"
    )
    server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
    return process


def edits(server: FakeTelegram, chat_id: int = 1) -> list[dict]:
    return [p for p in server.calls_to("editMessageText") if int(p["chat_id"]) == chat_id]


def test_a_streamed_answer_is_edited_in_once_a_second_and_ends_verified_with_its_quote_in_view(
    server, settings, answerer
):
    openai = FakeOpenAI([FLUENT, "yes"], word_delay=0.4)
    process = start_with_openai(server, settings, openai)
    try:
        server.push(server.message("Who sent troops to Kazakhstan?"))
        first = server.wait_for(lambda: replies(server))[0]
        assert "«" in first["text"] and WRITING in first["text"]  # the quotes at once, and what is coming
        final = server.wait_for(
            lambda: [
                e
                for e in edits(server)
                if FLUENT[:-1] in e["text"] and WRITING not in e["text"] and "checking" not in e["text"]
            ]
        )[0]
        drafts = edits(server)[: edits(server).index(final)]
        assert len(drafts) >= 1 and all("checking" in d["text"] for d in drafts)  # marked until verified
        assert "<blockquote expandable>[1] En russisk-ledet militæralliance" in final["text"]  # the proof in view
        assert final["reply_markup"]["inline_keyboard"][0][0]["text"] == "Show quotes"
        times = server.edit_times[1]
        assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times)), times
        assert server.refused == []  # no edit Telegram turned down, e.g. as unchanged
    finally:
        stop(process)
        openai.server.shutdown()


def test_a_streamed_answer_that_fails_verification_ends_as_the_quotes_with_a_note(server, settings, answerer):
    openai = FakeOpenAI(["Putin sent 5000 troops to Kazakhstan [1]."], word_delay=0.3)
    process = start_with_openai(server, settings, openai)
    try:
        server.push(server.message("Who sent troops to Kazakhstan?"))
        first = server.wait_for(lambda: replies(server))[0]
        last = server.wait_for(lambda: [e for e in edits(server) if "did not check out" in e["text"]])[0]
        assert last["text"].startswith(first["text"].split("\n\n<i>")[0])  # the quotes, as they came
        assert "Putin" not in last["text"] and WRITING not in last["text"]
        assert last["reply_markup"]["inline_keyboard"][0][0]["text"] == "Show quotes"
        shown_putin = [e for e in edits(server) if "Putin" in e["text"]]
        assert shown_putin and all("checking" in e["text"] for e in shown_putin)  # never as if final
        assert server.refused == []
    finally:
        stop(process)
        openai.server.shutdown()


def test_brief_sends_cited_bullets_in_the_chosen_language(server, bot):
    server.push(server.message("/brief en"))
    text = server.wait_for(lambda: replies(server))[0]["text"]
    assert text.startswith("<b>Briefing on the ritzau article (2022-01)")
    bullets = [line for line in text.splitlines() if line.startswith("• ")]
    assert 3 <= len(bullets) <= 5 and all("ritzau, 2022-01, ¶" in line for line in bullets)
    server.push(server.message("/brief da"))
    danish = server.wait_for(lambda: len(replies(server)) >= 2 and replies(server))[1]["text"]
    assert danish.startswith("<b>Overblik over artiklen fra ritzau")


@pytest.mark.slow
def test_pieces_of_an_answer_full_of_ampersands_stay_under_the_limit_once_escaped():
    from bot.frontends.render import utf16_length
    from bot.frontends.telegram import _pieces
    from bot.types import Answer

    text = "Tal: 1 & 2 & 3 < 4. " * 400  # escaping makes it longer than it is
    pieces = _pieces(Answer(question="q", language="da", answer=text, answerable=True))
    assert len(pieces) > 1 and all(utf16_length(p) <= 4096 for p in pieces)
    assert all(html_error(p) == "" for p in pieces)
    assert "".join(pieces).count("&amp;") == text.count("&")


def test_an_unreachable_bot_api_is_retried_then_one_line(settings):
    import socket

    from tests.conftest import run_newsbot

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = newsbot_env(settings, TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot")
    result = run_newsbot(["telegram"], env, timeout=120)
    log = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in log
    assert log.count("trying again") == 4 and "Can't reach the Telegram Bot API" in log


def test_a_huge_message_is_refused_and_the_next_question_is_answered(server, bot):
    huge = server.message("Who sent troops? " * 60_000, chat_id=5)  # about 1 MB
    server.push(huge)
    server.push(server.message("Please answer. " * 273, chat_id=7))  # Telegram's longest message, 4096 characters
    server.push(server.message("Who sent troops to Kazakhstan?", chat_id=6))
    refused = server.wait_for(lambda: replies(server, 5))[0]
    answered = server.wait_for(lambda: replies(server, 6))[0]
    assert "too long" in refused["text"] and "too long" in server.wait_for(lambda: replies(server, 7))[0]["text"]
    assert "russisk-ledet" in answered["text"]


def test_two_quotes_of_one_paragraph_are_one_source(server, bot):
    server.push(server.message("What happened in Almaty?"))  # two of its quotes are from ¶12
    sent = server.wait_for(lambda: replies(server))[0]["text"]
    sources = sent.rsplit("\n\n", 1)[-1]
    assert sources.count("¶12") == 1 and "[3]" not in sources, sources


def test_the_model_warms_up_at_start_up_before_any_question_and_the_bot_is_ready_after(server, settings, answerer):
    import socket
    import urllib.error
    import urllib.request

    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    openai = FakeOpenAI([FLUENT], delay=4.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def ready() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    process = start_bot(
        server,
        settings,
        NEWSBOT_LLM="openai",
        NEWSBOT_LLM_BASE_URL=openai.base_url,
        NEWSBOT_LLM_MODEL="fake",
        NEWSBOT_WARM_UP="1",
        NEWSBOT_METRICS_PORT=str(port),
    )
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        server.wait_for(lambda: openai.requests, timeout=30)  # nobody has asked anything yet
        assert "Warm-up?" in openai.requests[0]["messages"][-1]["content"]
        status, body = ready()
        assert status == 503 and "warming up" in body
        assert server.wait_for(lambda: ready()[0] == 200, timeout=30)
    finally:
        stop(process)
        openai.server.shutdown()
    assert b"The openai model is warm" in process.stdout.read()


def test_the_replies_bench_times_each_stage_of_a_streamed_reply(settings, answerer):
    pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed")
    from bot.bench.replies import replies_bench, replies_markdown

    openai = FakeOpenAI([FLUENT], word_delay=0.2)
    generator = settings.model_copy(update={"llm": "openai", "llm_base_url": openai.base_url, "llm_model": "fake"})
    try:
        run = replies_bench(generator, ["Who sent troops to Kazakhstan?", "Hvornår faldt regeringen?"], warm_up=True)
    finally:
        openai.server.shutdown()
    assert run["first_reply_ms"]["count"] == run["final_ms"]["count"] == 2
    assert run["first_words_ms"]["count"] >= 1
    assert run["first_reply_ms"]["p50"] < run["final_ms"]["p50"]
    assert "| on |" in replies_markdown([run])


@pytest.fixture
def archive_bot(server, small_archive):
    """A bot over the ten articles of tests/small_archive.py, with "today" 2023-03-15."""
    process = start_bot(
        server,
        small_archive,
        NEWSBOT_SEEDS_DIR=str(small_archive.seeds_dir),
        NEWSBOT_INDEX_DIR=str(small_archive.index_dir),
        NEWSBOT_TODAY="2023-03-15",
    )
    server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
    yield process
    stop(process)


def buttons(sent: dict) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for row in sent["reply_markup"]["inline_keyboard"] for b in row]


def test_sources_pages_through_the_archive_by_editing_its_message(server, archive_bot):
    server.push(server.message("/sources"))
    first = server.wait_for(lambda: replies(server))[0]
    lines = first["text"].splitlines()
    assert lines[0] == "<b>Articles 1–8 of 10, newest first:</b>" and lines[-1] == "<i>Page 1 of 2</i>"
    assert len(lines) == 10 and lines[1].startswith("2023-03-16 · <i>vejrbladet</i> · Stormen lukkede")
    assert (
        '2023-03-14 09:42 · <i>Dagbladet</i> (Mette Holm) · <a href="https://example.org/nyheder/vindloven">'
        "Folketinget vedtager ny lov om vindmøller</a>" in lines
    )
    assert first["link_preview_options"]["is_disabled"] is True
    (older_text, older), *more = buttons(first)
    assert older_text == "Older ›" and more == []
    pressed = server.press(first, older)
    edited = server.wait_for(lambda: edits(server))[0]
    assert int(edited["message_id"]) == max(k[1] for k in server.messages if k[0] == 1)  # the same message
    assert edited["text"].startswith("<b>Articles 9–10 of 10, newest first:</b>\n2022-02 · <i>testfixture</i>")
    assert [text for text, _ in buttons(edited)] == ["‹ Newer"]
    server.wait_for(lambda: [a for a in server.calls_to("answerCallbackQuery") if a["callback_query_id"] == pressed])
    server.press(edited, buttons(edited)[0][1])
    back = server.wait_for(lambda: len(edits(server)) >= 2 and edits(server))[1]
    assert back["text"] == first["text"] and buttons(back) == buttons(first)
    server.wait_for(lambda: not server.open_queries)  # every press answered
    assert server.refused == []


def test_sources_with_a_word_lists_the_articles_that_have_it(server, archive_bot):
    server.push(server.message("/sources lokalavisen", language_code="da"))
    found = server.wait_for(lambda: replies(server))[0]
    assert found["text"].startswith("<b>Artikler med «lokalavisen»: 1–3 af 3, nyeste først:</b>")
    assert found["text"].count("<i>lokalavisen</i>") == 3 and "reply_markup" not in found
    server.push(server.message("/sources cricket"))
    nothing = server.wait_for(lambda: len(replies(server)) >= 2 and replies(server))[1]["text"]
    assert "No article has «cricket»" in nothing and "the archive holds 10 articles" in nothing


def test_a_search_term_too_long_for_a_button_still_pages(server, archive_bot):
    term = " ".join(["t"] * 30)  # every word begins a word of 9 articles; 59 characters
    server.push(server.message(f"/sources {term}"))
    first = server.wait_for(lambda: replies(server))[0]
    assert first["text"].startswith(f"<b>Articles with «{term}»: 1–8 of 9")
    older = buttons(first)[0][1]
    assert len(older.encode()) <= 64  # Telegram refuses more (the local server too)
    server.press(first, older)
    edited = server.wait_for(lambda: edits(server))[0]
    assert edited["text"].startswith(f"<b>Articles with «{term}»: 9–9 of 9")
    assert server.refused == []


def test_brief_by_topic_or_period_says_what_it_covers(server, archive_bot):
    for n, text in enumerate(["/brief Kasakhstan", "/brief i går", "/brief cricket", "/brief"], start=1):
        server.push(server.message(text))
        server.wait_for(lambda n=n: len(replies(server)) >= n)
    about, yesterday, nothing, newest = (r["text"] for r in replies(server))
    assert about.startswith("<b>Briefing on 2 articles about «Kasakhstan» (quoted in Danish):</b>\n• ")
    assert "ritzau, 2022-01" in about and "testfixture, 2022-02" in about
    assert yesterday.startswith("<b>Briefing on 1 article, i går (2023-03-14) (quoted in Danish):</b>\n• Folketinget")
    assert nothing == (
        "<b>The archive has nothing about «cricket»; its articles are dated 2022-01 to 2023-03-16. "
        "Try another word.</b>"
    )
    assert newest.startswith("<b>Briefing on the 5 newest of the 10 articles I have")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_rejected_token_is_one_log_line_that_never_shows_it(server, settings, log_format):
    from tests.conftest import run_newsbot

    wrong = "123456:ABCdefWRONGtoken"
    env = newsbot_env(
        settings,
        TELEGRAM_BOT_TOKEN=wrong,
        TELEGRAM_API_BASE_URL=server.base_url,
        NEWSBOT_LOG_FORMAT=log_format,
    )
    result = run_newsbot(["telegram"], env, timeout=60)
    lines = [line for line in result.stderr.decode().splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in "\n".join(lines)
    assert any("rejects TELEGRAM_BOT_TOKEN" in line for line in lines)
    assert not any(wrong.lower() in line.lower() for line in lines)
    if log_format == "json":
        assert all(json.loads(line)["level"] for line in lines)


def test_a_webhook_on_a_busy_port_is_one_line_before_the_webhook_is_set(server, settings):
    import socket

    from tests.conftest import run_newsbot

    env = newsbot_env(settings, TELEGRAM_BOT_TOKEN=server.token, TELEGRAM_API_BASE_URL=server.base_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        webhook = ["--webhook", "https://example.invalid/telegram", "--listen", "127.0.0.1", "--port", str(port)]
        result = run_newsbot(["telegram", *webhook], env, timeout=60)
    log = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in log
    assert f"Can't listen on 127.0.0.1:{port} (Address already in use)" in log
    assert not server.calls_to("setWebhook")


def test_the_bot_api_url_may_be_given_with_or_without_its_bot_path(settings):
    from bot.frontends.telegram import _api_base

    for given in ("http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"):
        assert _api_base(settings.model_copy(update={"telegram_api_base_url": given})) == "http://127.0.0.1:8081/bot"


def test_sigterm_with_many_mentions_queued_exits_within_the_shutdown_budget_and_logs_what_it_dropped(
    server, settings, answerer
):
    import time

    process = start_bot(server, settings, NEWSBOT_SHUTDOWN_SECONDS="5", NEWSBOT_RATE_LIMIT="1000")
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        for n in range(60):
            server.push(
                server.message(
                    f"@newsbot_test_bot who sent troops to Kazakhstan, {n}?",
                    chat_id=-100,
                    chat_type="supergroup",
                    user_id=n,
                )
            )
        server.wait_for(lambda: server.calls_to("sendChatAction"), timeout=60)  # answering has begun
        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert process.wait(40) == 0
        took = time.monotonic() - stopping
    finally:
        process.kill()
    log = process.stdout.read().decode() if process.stdout else ""
    assert took < 5 + 10, log[-3000:]  # the budget, and the reply in progress
    dropped = re.search(r"dropped (\d+) question", log)
    assert dropped and int(dropped[1]) > 0 and "NEWSBOT_SHUTDOWN_SECONDS" in log, log[-3000:]
    assert len(replies(server, -100)) + int(dropped[1]) <= 60 and "Traceback" not in log


def test_a_question_that_fits_two_stories_gets_a_button_per_story_and_a_press_answers(server, races):
    process = start_bot(server, races, NEWSBOT_SEEDS_DIR=str(races.seeds_dir), NEWSBOT_INDEX_DIR=str(races.index_dir))
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=90)
        server.push(server.message("Hvem blev nummer tre?"))
        choice = server.wait_for(lambda: replies(server))[0]
        assert choice["text"].startswith("Hvilken historie mener du?")
        giro = next(data for text, data in buttons(choice) if "Marco Bellini" in text)
        assert [data.rsplit(":", 1)[1] for _, data in buttons(choice)] == ["1", "2"]
        pressed = server.press(choice, giro)
        answer = server.wait_for(lambda: replies(server)[1:])[0]
        assert "Iker Arrieta" in answer["text"] and "Ridder" not in answer["text"]
        server.wait_for(
            lambda: [a for a in server.calls_to("answerCallbackQuery") if a["callback_query_id"] == pressed]
        )
        server.push(server.message("Hvem vandt?"))  # a follow-up stays on the chosen story
        follow_up = server.wait_for(lambda: replies(server)[2:])[0]
        assert "Marco Bellini" in follow_up["text"]
        server.press(choice, giro)  # the choice was answered: its buttons have expired
        assert server.wait_for(lambda: replies(server)[3:])[0]["text"].startswith("That choice has expired")
    finally:
        stop(process)

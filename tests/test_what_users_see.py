"""What a reader of the bot would notice, end to end with the real processes: an article quoting
markup and emoji answered on Telegram and Slack, an answer longer than one Telegram message, the
citations of a real answer, an article corrected in place, and an index build killed while it
writes. The articles are invented (tests/fixtures/user_facing/README.md)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings
from bot.frontends.render import utf16_length
from bot.testing.fake_slack import FakeSlack, block_kit_error
from bot.testing.fake_telegram import FakeTelegram, html_error
from tests.conftest import ROOT, newsbot_env, run_killed_at_write, run_newsbot, stop
from tests.test_slack import mention, start_slack_bot
from tests.test_telegram import replies, start_bot

pytestmark = pytest.mark.filterwarnings("ignore")

FIXTURES = ROOT / "tests" / "fixtures" / "user_facing"
TELECOM = FIXTURES / "910_test_fixture_telecom.txt"
WAITING_TIMES = [FIXTURES / "920_test_fixture_waiting_times_a.txt", FIXTURES / "921_test_fixture_waiting_times_b.txt"]
FINED = "Teleselskabet AT<T & co har fået en bøde på 2 millioner kroner for skjulte gebyrer 📱."
BLOG = 'Direktøren skrev på sin blog: "Kunderne <3 os, og vi er > konkurrenterne & bedre end dem" 😀'
WHO_WAS_FINED = "Hvilket teleselskab har fået en bøde?"
WHAT_DID_THE_BOSS_WRITE = "Hvad skrev direktøren på sin blog?"
HOW_BIG_A_FINE = "Hvor stor en bøde fik teleselskabet?"
WAITING_TIMES_THIS_YEAR = "Hvor lange var ventetiderne i årets uger?"


# --- the articles, indexed once per module ---------------------------------------------
def indexed(tmp_path_factory, name: str, articles: list[Path]) -> Settings:
    from bot.service import load_answerer

    seeds = tmp_path_factory.mktemp(f"{name}-seeds")
    for article in articles:
        shutil.copy(article, seeds / article.name)
    settings = Settings(
        seeds_dir=seeds,
        index_dir=tmp_path_factory.mktemp(f"{name}-index"),
        data_dir=tmp_path_factory.mktemp(f"{name}-data"),
        llm="extractive",
        _env_file=None,
    )
    load_answerer(settings)  # builds the index, so the processes below only load it
    return settings


@pytest.fixture(scope="module")
def telecom(tmp_path_factory) -> Settings:
    return indexed(tmp_path_factory, "telecom", [TELECOM])


@pytest.fixture(scope="module")
def waiting_times(tmp_path_factory) -> Settings:
    return indexed(tmp_path_factory, "waiting-times", WAITING_TIMES)


def copy_of(settings: Settings, folder: Path) -> Settings:
    """The same seeds and index in `folder`, to change without touching the module's."""
    shutil.copytree(settings.seeds_dir, folder / "seeds")
    shutil.copytree(settings.index_dir, folder / "index")
    return settings.model_copy(
        update={"seeds_dir": folder / "seeds", "index_dir": folder / "index", "data_dir": folder / "data"}
    )


def paragraphs(article: Path) -> list[str]:
    """The article's paragraphs as a reader sees them (the date header and source footer left out)."""
    body = article.read_text(encoding="utf-8").split("\n\n")
    return [" ".join(p.split()) for p in [body[0].split(None, 2)[2], *body[1:-1]]]


def ask_json(settings: Settings, question: str) -> dict:
    result = run_newsbot(["ask", "--json", question], newsbot_env(settings))
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


# --- Telegram --------------------------------------------------------------------------
@pytest.fixture
def server():
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def started(server: FakeTelegram, settings: Settings, commands: int = 2) -> subprocess.Popen:
    """A `newsbot telegram` process on `settings`, once it is polling (its commands registered)."""
    process = start_bot(server, settings)
    try:
        server.wait_for(lambda: len(server.calls_to("setMyCommands")) >= commands, timeout=90)
    except AssertionError:
        stop(process)
        raise
    return process


def visible(message: str) -> str:
    """What a Telegram user reads of an HTML message: the text without its tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", message))


def accepted(call: dict) -> bool:
    """Whether Telegram takes a sendMessage call: at most 4096 UTF-16 units, and valid HTML when it says HTML."""
    return utf16_length(call["text"]) <= 4096 and (call.get("parse_mode") != "HTML" or html_error(call["text"]) == "")


def arrived(server: FakeTelegram, chat_id: int = 1) -> list[dict]:
    """The bot's messages that reached the chat, oldest first."""
    found = [(key[1], m) for key, m in list(server.messages.items()) if key[0] == chat_id and m["from"] == server.bot]
    return [m for _, m in sorted(found, key=lambda pair: pair[0])]


def press_show_quotes(server: FakeTelegram, message: dict, user_message: dict) -> list[dict]:
    """Press the "Show quotes" button under `message`; the messages that answer it, once they came."""
    before = len(replies(server, message["chat"]["id"]))
    button = message["reply_markup"]["inline_keyboard"][0][0]
    server.push(
        {
            "id": "cb1",
            "from": user_message["from"],
            "chat_instance": "1",
            "data": button["callback_data"],
            "message": message,
        },
        kind="callback_query",
    )
    server.wait_for(lambda: server.calls_to("answerCallbackQuery"))
    return server.wait_for(lambda: replies(server, message["chat"]["id"])[before:])


def test_telegram_answers_an_article_quoting_markup_and_emoji_in_messages_telegram_accepts(server, telecom):
    process = started(server, telecom)
    try:
        fined = server.message(WHO_WAS_FINED)
        server.push(fined)
        server.push(server.message(WHAT_DID_THE_BOSS_WRITE, chat_id=2, user_id=43))
        for chat, sentence in ((1, FINED), (2, BLOG)):
            sent = server.wait_for(lambda chat=chat: replies(server, chat))[0]
            assert html_error(sent["text"]) == "", sent["text"]
            assert sentence in visible(sent["text"])
            assert [m["text"] for m in arrived(server, chat)] == [sent["text"]]
        # the full quote, under the button
        quotes = press_show_quotes(server, arrived(server, 1)[0], fined)
        assert all(accepted(q) for q in quotes) and FINED in visible(quotes[0]["text"])
        # the same answer offered inline in another chat
        server.push(
            {
                "id": "iq1",
                "from": {"id": 42, "is_bot": False, "first_name": "Rita"},
                "query": WHAT_DID_THE_BOSS_WRITE,
                "offset": "",
            },
            kind="inline_query",
        )
        offered = server.wait_for(lambda: server.calls_to("answerInlineQuery"))[0]["results"][0][
            "input_message_content"
        ]
        assert html_error(offered["message_text"]) == "" and BLOG in visible(offered["message_text"])
    finally:
        stop(process)


def test_an_answer_longer_than_one_telegram_message_arrives_in_several_that_telegram_accepts(server, waiting_times):
    process = started(server, waiting_times)
    try:
        question = server.message(WAITING_TIMES_THIS_YEAR)
        server.push(question)
        # The last piece carries the "Show quotes" button; a piece Telegram refuses ends the answer too.
        server.wait_for(lambda: any(call.get("reply_markup") or not accepted(call) for call in replies(server)))
        calls = replies(server)
        assert all(accepted(call) for call in calls), [utf16_length(call["text"]) for call in calls]
        pieces = [m["text"] for m in arrived(server)]
        assert len(pieces) >= 2 and all(utf16_length(p) <= 4096 for p in pieces)
        assert int(calls[0]["reply_parameters"]["message_id"]) == question["message_id"]
        read = " ".join(" ".join(visible(p) for p in pieces).split())
        quoted = paragraphs(WAITING_TIMES[0])[1:4]  # the passage answering it: three long paragraphs
        assert utf16_length(" ".join(quoted)) > 4096 // 2
        assert any(paragraph in read for paragraph in quoted)  # as an answer or as the closest quote
        # and the quotes under the button, too long for one message as well
        quotes = press_show_quotes(server, arrived(server)[-1], question)
        assert all(accepted(q) for q in quotes)
        shown = " ".join(" ".join(visible(q["text"]) for q in quotes).split())
        assert any(paragraph in shown for paragraph in quoted)
    finally:
        stop(process)


# --- Slack -----------------------------------------------------------------------------
def slack_escaped(text: str) -> str:
    """Text as Slack's mrkdwn needs it: &, < and > as entities (anything else between < and > is a link or a mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_slack_answers_an_article_quoting_markup_and_emoji_with_every_character_escaped(telecom):
    slack = FakeSlack().start()
    process, url = start_slack_bot(telecom, slack)
    try:
        message = mention(slack, url, WHAT_DID_THE_BOSS_WRITE)
        blocks = slack.wait_for(lambda: slack.thread_replies("C0NEWS", message["ts"]))[0]["blocks"]
    finally:
        stop(process)
        slack.stop()
    assert block_kit_error(blocks) == ""
    assert f"«{slack_escaped(BLOG)}»" in blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"] == f"*[1]* > {slack_escaped(BLOG)}"
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"] + [
        e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]
    ]
    for text in texts:
        assert "<" not in text and not re.search(r"&(?!amp;|lt;|gt;)", text), text
        assert ">" not in re.sub(r"^\*\[\d\]\* > ", "", text), text  # only a quote's own marker


# --- the citations of a real answer, in the terminal ------------------------------------
def test_a_real_answer_cites_three_passages_and_the_terminal_shows_the_article_as_written(telecom):
    answer = ask_json(telecom, WHO_WAS_FINED)
    assert len(answer["citations"]) == 3
    assert answer["citations"][0]["quote"] == FINED
    assert all(c["quote"] in " ".join(paragraphs(TELECOM)) for c in answer["citations"])
    shown = run_newsbot(["ask", WHO_WAS_FINED], newsbot_env(telecom)).stdout.decode()
    assert FINED in shown
    assert [line[:4] for line in shown.splitlines() if re.match(r"\[\d\] ", line)] == ["[1] ", "[2] ", "[3] "]


# --- an article corrected in place --------------------------------------------------------
def correct_the_fine(seeds: Path) -> None:
    """The article corrected in place: the same file, one number changed (so the same size too)."""
    article = seeds / TELECOM.name
    article.write_text(
        article.read_text(encoding="utf-8").replace("2 millioner kroner", "3 millioner kroner"), encoding="utf-8"
    )


def test_an_article_corrected_in_place_is_quoted_in_its_new_wording_by_the_next_cli_question(telecom, tmp_path):
    local = copy_of(telecom, tmp_path)
    assert "bøde på 2 millioner kroner" in ask_json(local, HOW_BIG_A_FINE)["answer"]
    correct_the_fine(local.seeds_dir)
    answer = ask_json(local, HOW_BIG_A_FINE)
    assert "bøde på 3 millioner kroner" in answer["answer"] and "2 millioner" not in answer["answer"]
    assert all("2 millioner" not in c["quote"] for c in answer["citations"])


def test_a_telegram_bot_restarted_after_a_correction_quotes_the_new_wording(server, telecom, tmp_path):
    # A running bot keeps the index it loaded at start; the correction is read when it starts again.
    local = copy_of(telecom, tmp_path)
    process = started(server, local)
    try:
        server.push(server.message(HOW_BIG_A_FINE))
        assert "2 millioner kroner" in visible(server.wait_for(lambda: replies(server))[0]["text"])
    finally:
        stop(process)
    correct_the_fine(local.seeds_dir)
    process = started(server, local, commands=4)
    try:
        server.push(server.message(HOW_BIG_A_FINE, chat_id=2, user_id=43))
        text = visible(server.wait_for(lambda: replies(server, 2))[0]["text"])
        assert "3 millioner kroner" in text and "2 millioner" not in text
    finally:
        stop(process)


# --- an index build killed while it writes ----------------------------------------------
UPDATE_THE_INDEX = """
import runpy
sys.argv = ["newsbot", "index"]
runpy.run_module("bot", run_name="__main__")
"""
# An update writes chunks, sentences and terms (.faiss, then .jsonl, each) into a new generation, then the manifest.
WRITES = {
    1: "chunks.faiss",
    2: "chunks.jsonl",
    3: "sentences.faiss",
    4: "sentences.jsonl",
    5: "terms.faiss",
    6: "terms.jsonl",
    7: "manifest.json",
}


def test_an_index_update_killed_while_writing_leaves_the_old_index_answering_as_before(telecom, tmp_path):
    from bot.service import load_answerer

    local = copy_of(telecom, tmp_path)
    before = load_answerer(local)[0].ask(HOW_BIG_A_FINE)
    manifest = (local.index_dir / "manifest.json").read_text(encoding="utf-8")
    corrected = local.model_copy(update={"seeds_dir": tmp_path / "corrected"})
    shutil.copytree(local.seeds_dir, corrected.seeds_dir)
    correct_the_fine(corrected.seeds_dir)
    for write, name in WRITES.items():
        killed = run_killed_at_write(write, UPDATE_THE_INDEX, env=newsbot_env(corrected))
        assert killed.returncode == -9 and name in killed.stderr.decode(), killed.stderr.decode()
        notices: list[str] = []
        answerer, report = load_answerer(local, notify=notices.append)
        assert (report.action, notices) == ("loaded", []), f"killed writing {name}"
        assert (local.index_dir / "manifest.json").read_text(encoding="utf-8") == manifest
        after = answerer.ask(HOW_BIG_A_FINE)
        assert (after.answer, after.citations) == (before.answer, before.citations), f"killed writing {name}"
    # The next update finishes the job and clears what the killed ones left.
    assert "bøde på 3 millioner kroner" in ask_json(corrected, HOW_BIG_A_FINE)["answer"]
    assert len(list(local.index_dir.glob("gen-*"))) == 1

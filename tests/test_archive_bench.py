"""The synthetic archive and the archive benchmark (`newsbot bench --archive N`) in quick mode."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, newsbot_env, run_newsbot

CORPUS = ROOT / "tests" / "corpus"
SCRIPT = ROOT / "scripts" / "synthetic_archive.py"


def _script(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, env=env, cwd=ROOT, timeout=120)


def test_the_synthetic_archive_is_different_texts_the_same_for_a_seed_and_ingestible(settings, tmp_path):
    env = newsbot_env(settings)
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((first, "7"), (again, "7"), (other, "8")):
        result = _script([str(folder), "--count", "40", "--seed", seed], env)
        assert result.returncode == 0, result.stderr
    files = sorted(first.glob("*.json"))
    assert len(files) == 40
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in sorted(again.glob("*.json"))]
    assert [p.read_bytes() for p in files] != [p.read_bytes() for p in sorted(other.glob("*.json"))]
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    assert len({d["body_text"] for d in documents}) == 40 and len({d["uri"] for d in documents}) == 40
    assert len({d["versioncreated"][:4] for d in documents}) >= 3  # spread over years
    assert {d["language"] for d in documents} == {"da", "en"}
    assert all(d["headline"] and d["byline"] and d["copyrightholder"] == "synthetic" for d in documents)
    originals = {p.read_text(encoding="utf-8") for p in (CORPUS / "articles").glob("*.txt")}
    assert not any(d["body_text"] in text for d in documents for text in originals)

    from bot.archive import Archive

    seeds = tmp_path / "scratch-seeds"
    outcomes = list(Archive(seeds, settings.max_article_chars).ingest(str(first)))
    assert all(o.ok and o.message.startswith("Added") for o in outcomes) and len(outcomes) == 40


def test_the_synthetic_archive_is_never_written_into_the_seeds_folder(settings):
    seeds = Path(settings.seeds_dir)
    before = sorted(p.name for p in seeds.iterdir())
    for target in (seeds, seeds / "synthetic"):
        result = _script([str(target), "--count", "3"], newsbot_env(settings))
        assert result.returncode == 2 and "Traceback" not in result.stderr.decode()
        assert "is the seeds folder" in result.stderr.decode() and "Name another folder" in result.stderr.decode()
    assert sorted(p.name for p in seeds.iterdir()) == before


def test_the_archive_benchmark_refuses_to_work_in_the_seeds_folder(settings):
    seeds = Path(settings.seeds_dir)
    before = sorted(p.name for p in seeds.iterdir())
    result = run_newsbot(["bench", "--archive", "3", "--out", str(seeds)], newsbot_env(settings))
    assert result.returncode == 2 and "is the seeds folder" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode() and sorted(p.name for p in seeds.iterdir()) == before


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """The shortest corpus article and its questions: the quick mode's shape at a test's cost."""
    folder = tmp_path / "corpus"
    (folder / "articles").mkdir(parents=True)
    (folder / "questions").mkdir()
    shutil.copy(CORPUS / "articles" / "police_burglaries.txt", folder / "articles")
    shutil.copy(CORPUS / "questions" / "police_burglaries.jsonl", folder / "questions")
    return folder


def test_the_archive_benchmark_in_quick_mode_prints_every_row(settings, small_corpus, tmp_path):
    out = tmp_path / "results"
    seeds = small_corpus / "articles"
    before = sorted(p.name for p in seeds.iterdir())
    result = run_newsbot(
        ["bench", "--archive", "3", "--corpus", str(small_corpus), "--out", str(out)],
        newsbot_env(settings, NEWSBOT_SEEDS_DIR=str(seeds)),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode()
    table = result.stdout.decode()
    assert "3 newsroom stories" in table and "all embedded for real" in table
    for row in (
        "| articles | 3 newsroom + 0 synthetic + 1 corpus = 4;",
        "| ingest (`Archive.ingest`: parse, store) |",
        "| index build |",
        "| · read the seeds folder |",
        "| · chunking, terms, FAISS add |",
        "| · embedding (e5) |",
        "| · index write (generation, manifest) |",
        "| warm extractive answer p50 / p95 (22 corpus questions) |",
        "| peak RSS of the answering process |",
        "| evidence quoted, all stories: corpus alone → mixed |",
    ):
        assert row in table, row
    assert "| evidence quoted, questions that name" in table  # named, unnamed or both, as the questions are
    new_article = next(line for line in table.splitlines() if line.startswith("| one new article"))
    assert "not answered" not in new_article
    assert (out / "archive.md").read_text(encoding="utf-8").strip() == table.strip()
    saved = json.loads((out / "archive.json").read_text(encoding="utf-8"))
    assert saved["written"] == 3 and saved["synthetic"] == 0 and saved["passages_perturbed"] == 0
    assert saved["mixed"]["briefs"]["requests"] >= 2  # each story's topic asked about in Danish and English
    assert sorted(p.name for p in seeds.iterdir()) == before  # nothing written into the seeds folder


def test_beyond_the_real_budget_the_archive_gets_perturbed_embeddings(settings, embeddings):
    """Texts of articles past the budget get blends of the real vectors of two rewrites of the same
    source text, whichever order the build meets the articles in."""
    import numpy as np

    from bot.bench.archive_bench import BenchEmbeddings
    from bot.bench.synthetic import synthetic_articles
    from bot.documents import load_articles

    generated = synthetic_articles(load_articles(CORPUS / "articles")[:1], 4, seed=1)
    templates = {t: k for a in generated for t, k in a.templates.items()}
    real_texts = generated[0].texts + generated[1].texts
    bench = BenchEmbeddings(embeddings, templates, set(real_texts), seed=1)
    bench.embed_for_real(real_texts)
    embedded = bench.embedded
    copies = bench.embed_passages(generated[3].texts)  # the build may meet a later article first
    real = bench.embed_passages(real_texts)
    assert bench.embedded == embedded  # nothing embedded anew: real texts come from memory, the rest are blends
    assert bench.perturbed > 0 and np.allclose(np.linalg.norm(copies, axis=1), 1.0, atol=1e-4)
    paragraph = generated[3].texts[0]
    one, other = (
        real[real_texts.index(next(t for t, k in a.templates.items() if k == templates[paragraph]))]
        for a in generated[:2]
    )
    # a point between the two real rewrites: at least as close to each as they are to each other
    assert min(float(copies[0] @ one), float(copies[0] @ other)) >= float(one @ other) - 1e-4


def write_newsroom(folder: Path, documents: list[dict], topics: list[dict]) -> Path:
    folder.mkdir(parents=True)
    with gzip.open(folder / "articles.jsonl.gz", "wt", encoding="utf-8") as packed:
        packed.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in documents)
    (folder / "topics.json").write_text(json.dumps(topics), encoding="utf-8")
    return folder


FERRY = {
    "uri": "urn:test:ferry",
    "language": "da",
    "versioncreated": "2025-03-02T08:00:00Z",
    "headline": "Færgen til Fanø aflyser afgange",
    "body_text": "Færgen mellem Esbjerg og Fanø aflyser i dag fire afgange på grund af storm.\n\n"
    "Rederiet Fanølinjen venter normal drift fra fredag, siger direktør Ole Sand.",
    "subject": [{"name": "ferry routes", "scheme": "newsbot:topic"}],
}
CHESS = {
    "uri": "urn:test:chess",
    "language": "en",
    "versioncreated": "2025-05-09T18:00:00Z",
    "headline": "Kessler wins the Baltic chess open",
    "body_text": "Grandmaster Anna Kessler won the Baltic Open in Riga on Sunday with 7.5 points.\n\n"
    "She beat the top seed, Ivan Dorn, in the last round.",
    "subject": [{"name": "chess", "scheme": "newsbot:topic"}],
}


def test_beyond_the_newsrooms_stories_the_archive_gets_rewrites_of_them(settings, tmp_path):
    newsroom = write_newsroom(
        tmp_path / "newsroom",
        [FERRY, CHESS],
        [{"topic": "ferry routes", "queries": {"da": "færger", "en": "ferries"}}, {"topic": "chess", "queries": {}}],
    )
    corpus = tmp_path / "corpus"
    (corpus / "articles").mkdir(parents=True)
    (corpus / "questions").mkdir()
    shutil.copy(CORPUS / "articles" / "police_burglaries.txt", corpus / "articles")
    shutil.copy(CORPUS / "questions" / "police_burglaries.jsonl", corpus / "questions")
    out = tmp_path / "results"
    result = run_newsbot(
        ["bench", "--archive", "3", "--newsroom", str(newsroom), "--corpus", str(corpus), "--out", str(out)],
        newsbot_env(settings, NEWSBOT_SEEDS_DIR=str(corpus / "articles")),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "| articles | 2 newsroom + 1 synthetic + 1 corpus = 4;" in result.stdout.decode()
    bodies = [
        json.loads(p.read_text(encoding="utf-8"))["body_text"] for p in (out / "archive-3" / "synthetic").iterdir()
    ]
    assert len(bodies) == 1 and any(word in bodies[0] for word in ("afgange", "last round"))
    assert "indbrud" not in bodies[0].lower()  # rewrites of the newsroom's stories, never of the corpus
    saved = json.loads((out / "archive.json").read_text(encoding="utf-8"))
    assert saved["mixed"]["briefs"]["requests"] == 2  # the ferry topic in two languages; chess has no request


def test_a_missing_newsroom_is_one_line(settings, tmp_path):
    result = run_newsbot(
        ["bench", "--archive", "3", "--newsroom", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")],
        newsbot_env(settings),
    )
    assert result.returncode == 2 and "Can't read the newsroom archive" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_questions_about_a_ninjs_article_name_the_file_the_archive_stores_it_in(tmp_path):
    from bot.archive import Archive
    from bot.bench.archive_bench import archived

    ninjs = next(p for p in (CORPUS / "articles").glob("*.json"))
    stored = list(Archive(tmp_path / "seeds", 200_000).ingest(str(ninjs)))
    assert stored[0].ok
    (name,) = [p.name for p in (tmp_path / "seeds").iterdir()]
    items = [{"article": ninjs.name, "question": "?"}, {"article": "police_burglaries.txt", "question": "?"}]
    assert [i["article"] for i in archived(items, CORPUS / "articles")] == [name, "police_burglaries.txt"]

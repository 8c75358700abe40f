"""The Milvus backend (Milvus Lite, a local file) gives the same answers as FAISS."""

import pytest

from bot.answering.chain import Question
from bot.bench.evaluation import load_qa
from tests.conftest import DEV_QA

pytest.importorskip("langchain_milvus", reason="the [milvus] extra is not installed")
pytest.importorskip("milvus_lite", reason="the [milvus] extra is not installed")


@pytest.fixture(scope="module")
def milvus_answerer(settings, tmp_path_factory):
    from bot.service import load_answerer

    folder = tmp_path_factory.mktemp("milvus-index")
    config = settings.model_copy(
        update={"vector_store": "milvus", "index_dir": folder, "milvus_uri": str(folder / "milvus.db")}
    )
    answerer, report = load_answerer(config)
    assert report.action == "built"
    return answerer, config


def test_milvus_and_faiss_give_the_same_answers_on_the_dev_set(answerer, milvus_answerer):
    milvus, _ = milvus_answerer
    for item in load_qa(DEV_QA):
        ours, theirs = answerer.ask(Question(item["question"])), milvus.ask(Question(item["question"]))
        assert (theirs.answerable, theirs.answer) == (ours.answerable, ours.answer), item["question"]
        assert [c.quote for c in theirs.citations] == [c.quote for c in ours.citations]


def test_a_milvus_index_is_loaded_not_rebuilt_and_updates_in_place(milvus_answerer, seeds_dir, tmp_path):
    from bot.service import load_answerer

    _, config = milvus_answerer
    _, report = load_answerer(config)
    assert report.action == "loaded"
    extra = tmp_path / "seeds"
    extra.mkdir()
    for path in seeds_dir.iterdir():
        (extra / path.name).write_bytes(path.read_bytes())
    (extra / "999_test_fixture.txt").write_text(
        " date 2023-05 Testbyen fik en ny borgmester i maj.\n\nBorgmesteren hedder Testesen.\n/testkilde/\n",
        encoding="utf-8",
    )
    updated, report = load_answerer(config.model_copy(update={"seeds_dir": extra}))
    assert report.action == "updated" and report.added == ["999_test_fixture"]
    assert len(updated.index.articles) == 2


def test_documents_added_without_ids_are_all_kept_as_in_faiss(embeddings, tmp_path):
    from langchain_core.documents import Document

    from bot.store.faiss_store import FaissVectorStore
    from bot.store.milvus_store import MilvusStore

    milvus = MilvusStore(embeddings, str(tmp_path / "milvus.db"), "no_ids", create=True)
    faiss = FaissVectorStore(embeddings, embeddings.dimension)
    for store in (milvus, faiss):
        store.add_documents([Document(page_content="Det regner i hele landet.", metadata={"doc_id": "a"})])
        store.add_documents([Document(page_content="Solen skinner i morgen.", metadata={"doc_id": "a"})])
    assert len(milvus) == len(faiss) == 2
    assert sorted(d.page_content for d in milvus.documents_of("a")) == sorted(
        d.page_content for d in faiss.documents_of("a")
    )

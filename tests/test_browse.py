"""Browsing and briefing a larger archive: briefings by topic or period, capped at the newest
articles, and /sources pages of the archive narrowed by a search term (tests/small_archive.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.answering.brief import Briefer, select
from bot.answering.browse import Browser
from bot.answering.selection import BriefRequest, read_request, select_by_period
from bot.errors import InputError
from bot.types import ArticleRef
from tests.conftest import newsbot_env, run_newsbot

TODAY = date(2023, 3, 15)  # the small archive's today, a Wednesday; its newest article is from the next day


@pytest.fixture(scope="module")
def archive(small_archive):
    from bot.service import load_answerer

    return load_answerer(small_archive)[0]


def titles(answerer, doc_ids) -> list[str]:
    return [answerer.index.articles[d].title for d in doc_ids]


@pytest.mark.parametrize(
    ("text", "topic", "start", "end"),
    [
        ("Kasakhstan", "Kasakhstan", None, None),
        ("i dag", "", TODAY, TODAY),
        ("last week", "", date(2023, 3, 6), date(2023, 3, 12)),
        ("storm i januar 2022", "storm", date(2022, 1, 1), date(2022, 1, 31)),
        ("januar 2022", "", date(2022, 1, 1), date(2022, 1, 31)),
        ("2021", "", date(2021, 1, 1), date(2021, 12, 31)),
        ("the latest on Kasakhstan", "Kasakhstan", None, None),
        ("Folketinget i går", "Folketinget", date(2023, 3, 14), date(2023, 3, 14)),
    ],
)
def test_a_request_is_read_as_a_period_and_the_topic_that_remains(text, topic, start, end):
    request = read_request(text, TODAY)
    assert (request.topic, request.start, request.end) == (topic, start, end)


def test_a_topic_selects_the_articles_about_it_not_those_that_merely_come_close(archive):
    kazakhstan = select(archive, read_request("Kasakhstan", TODAY))
    assert titles(archive, kazakhstan.doc_ids) == [
        "Sundhedsministeriet i Kasakhstan har opjusteret antallet af sårede under urolighederne i januar.",
        "En russisk-ledet militæralliance har torsdag sendt tropper til Kasakhstan.",
    ]  # newest first
    assert select(archive, read_request("vindmøller", TODAY)).doc_ids == ("800_wind_law",)
    assert select(archive, read_request("fodbold", TODAY)).doc_ids == ("505_cup_final",)
    storm = select(archive, read_request("storm", TODAY)).doc_ids
    assert {"501_storm_bridge", "502_storm_ports"} <= set(storm) and "506_museum" not in storm
    assert select(archive, read_request("Kazakhstan", TODAY)).doc_ids == kazakhstan.doc_ids  # spelt otherwise
    # The closest article by a weak likeness alone ("golf" near words of no golf article) is not about it.
    assert select(archive, read_request("golf", TODAY)).doc_ids == ()


def test_a_period_selects_its_articles_and_a_topic_within_it(archive):
    assert select(archive, read_request("i går", TODAY)).doc_ids == ("800_wind_law",)
    assert select(archive, read_request("storm i januar 2022", TODAY)).doc_ids == ("000_630a647b04b832ad",)
    last_year = select(archive, read_request("last year", TODAY)).doc_ids
    assert last_year == ("507_christmas_market", "900_test_fixture_followup", "000_630a647b04b832ad")


def test_a_briefing_without_a_request_covers_the_five_newest_and_says_so(archive):
    briefing = Briefer(archive).brief("en")
    assert briefing.header == "Briefing on the 5 newest of the 10 articles I have (some quoted in Danish):"
    dates = [b.citation.date for b in briefing.bullets]
    assert len(briefing.bullets) == 5 and dates == sorted(dates, reverse=True) and dates[-1] == "2023-03-10"


def test_a_briefing_header_says_what_it_covers(archive):
    briefer = Briefer(archive)
    about = briefer.brief("en", read_request("Kasakhstan", TODAY))
    assert about.header == "Briefing on 2 articles about «Kasakhstan» (quoted in Danish):"
    assert {b.citation.source for b in about.bullets} == {"ritzau", "testfixture"}
    yesterday = briefer.brief("da", read_request("i går", TODAY))
    assert yesterday.header == "Overblik over 1 artikel, i går (2023-03-14):"
    assert all(b.citation.date == "2023-03-14 09:42" for b in yesterday.bullets)
    year = briefer.brief("en", read_request("2023", TODAY))
    assert year.header.startswith("Briefing on the 5 newest of 7 articles, 2023 (2023-01-01 – 2023-12-31)")


def test_a_briefing_that_finds_nothing_names_the_request_and_the_archives_dates(archive):
    briefer = Briefer(archive)
    nothing = briefer.brief("en", read_request("last week", date(2024, 6, 1)))
    assert nothing.bullets == [] and nothing.header == (
        "The archive has nothing from last week (2024-05-20 – 2024-05-26); "
        "its articles are dated 2022-01 to 2023-03-16."
    )
    off_topic = briefer.brief("da", read_request("cricket", TODAY))
    assert off_topic.bullets == [] and off_topic.header.startswith("Arkivet har intet om «cricket»; artiklerne er fra")
    dated = briefer.brief("en", BriefRequest(start=date(2020, 1, 1), end=date(2020, 12, 31)))
    assert dated.header.startswith("The archive has nothing from 2020-01-01 – 2020-12-31;")


def test_briefings_on_different_requests_are_cached_apart(archive):
    briefer = Briefer(archive)
    first = briefer.brief("en", read_request("i går", TODAY))
    other = briefer.brief("en", read_request("yesterday", TODAY))  # the same article, asked otherwise
    assert first.header != other.header and "yesterday" in other.header
    assert briefer.brief("en", read_request("i går", TODAY)).header == first.header


STORY = ArticleRef(
    doc_id="storm",
    source="Ritzau",
    date="2025-11-19 06:40",
    first_filed="2025-11-18 22:10",
    title="Stormen lukkede Storebæltsbroen",
)
SCHOOL = ArticleRef(doc_id="school", source="lokalavisen", date="2025-11-20", title="Kommunen bygger en ny skole")


def test_a_briefing_on_a_day_covers_the_story_first_filed_that_day_and_updated_the_next():
    today, articles = date(2025, 11, 20), {"storm": STORY, "school": SCHOOL}
    assert select_by_period(articles, read_request("i forgårs", today)).doc_ids == ("storm",)
    assert select_by_period(articles, read_request("yesterday", today)).doc_ids == ("storm",)
    assert select_by_period(articles, read_request("i dag", today)).doc_ids == ("school",)


def test_sources_show_the_day_a_story_was_first_filed_when_that_was_another_day():
    from bot.frontends.render import listing_plain, slack_sources_blocks, sources_telegram_html
    from bot.store.news_index import NewsIndex

    index = NewsIndex(None, None, None, None, articles={"storm": STORY, "school": SCHOOL}, generation="g")  # type: ignore[arg-type]
    page = Browser().page(index)
    assert [(entry.doc_id, entry.first_filed) for entry in page.listings] == [
        ("school", ""),
        ("storm", "2025-11-18 22:10"),
    ]
    assert listing_plain(page.listings[1], "en").startswith(
        "2025-11-19 06:40 (first filed 2025-11-18)  Ritzau       storm  Stormen lukkede Storebæltsbroen"
    )
    assert listing_plain(page.listings[0], "en").startswith("2025-11-20        lokalavisen  school")
    assert "2025-11-19 06:40 (først udsendt 2025-11-18) · <i>Ritzau</i>" in sources_telegram_html(page, "da")
    assert "*2025-11-19 06:40 (first filed 2025-11-18)* · _Ritzau_" in str(slack_sources_blocks(page, "en"))


def test_the_archive_is_paged_newest_first(archive):
    browser = Browser()
    first = browser.page(archive.index)
    assert (first.number, first.pages, first.matching, first.total) == (1, 2, 10, 10)
    assert len(first.listings) == 8 and first.older and not first.newer
    assert [entry.date for entry in first.listings][:3] == ["2023-03-16", "2023-03-15", "2023-03-14 09:42"]
    second = browser.page(archive.index, number=2)
    assert [entry.date for entry in second.listings] == ["2022-02", "2022-01"]
    assert (second.first, second.last, second.newer, second.older) == (9, 10, True, False)
    assert browser.page(archive.index, number=99).number == 2  # past the last page: the last


def test_a_search_term_matches_headline_byline_source_and_text_words(archive):
    browser = Browser()

    def found(term: str) -> list[str]:
        return [entry.doc_id for entry in browser.page(archive.index, term).listings]

    assert found("mette holm") == ["800_wind_law"]  # the byline
    wind = browser.page(archive.index, "VINDMØLLER").listings[0]  # any case, Danish letters
    assert wind.url == "https://example.org/nyheder/vindloven" and wind.byline == "Mette Holm"
    assert found("lokalavisen") == ["503_school_computers", "504_budget", "507_christmas_market"]  # the source
    assert found("kasakh") == ["900_test_fixture_followup", "000_630a647b04b832ad"]  # a word's beginning
    assert found("gløgg") == ["507_christmas_market"]  # the text
    assert found("storm") == ["501_storm_bridge", "502_storm_ports", "000_630a647b04b832ad"]  # "storme"
    assert found("byrådet budget") == ["504_budget"]  # every word
    nothing = browser.page(archive.index, "cricket")
    assert (nothing.listings, nothing.matching, nothing.total) == ((), 0, 10)


def test_an_overlong_search_term_is_refused_with_a_clear_message(archive):
    with pytest.raises(InputError, match="at most 200 characters"):
        Browser().page(archive.index, "storm " * 50)


def run(small_archive, *args: str, **env: str):
    result = run_newsbot(list(args), newsbot_env(small_archive, LC_ALL="en_US.UTF-8", **env))
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_newsbot_sources_prints_a_page_and_says_which(small_archive):
    code, out, err = run(small_archive, "sources", "--page", "2")
    assert code == 0 and err.splitlines() == ["Articles 9–10 of 10, newest first:", "Page 2 of 2"]
    assert out.splitlines() == [
        "2022-02           testfixture  900_test_fixture_followup  Sundhedsministeriet i Kasakhstan har opjusteret "
        "antallet af sårede under urolighederne i januar.",
        "2022-01           ritzau       000_630a647b04b832ad  En russisk-ledet militæralliance har torsdag sendt "
        "tropper til Kasakhstan.",
    ]
    code, out, err = run(small_archive, "sources", "VINDMØLLER")
    assert err.strip() == "Articles with «VINDMØLLER»: 1–1 of 1, newest first:"
    assert out.strip() == (
        "2023-03-14 09:42  Dagbladet    800_wind_law  Folketinget vedtager ny lov om vindmøller — Mette Holm"
        "  https://example.org/nyheder/vindloven"
    )
    code, out, err = run(small_archive, "sources", "cricket")
    assert code == 0 and out == "" and "No article has «cricket»" in err and "holds 10 articles" in err
    code, _, err = run(small_archive, "sources", "--page", "3")
    assert code == 2 and err.strip() == "newsbot: there is no page 3: 10 article(s) make 2 page(s) of 8."


def test_newsbot_brief_by_period_is_cached_and_by_topic_says_so(small_archive, tmp_path):
    data = str(tmp_path / "data")
    code, out, _ = run(
        small_archive, "brief", "--lang", "en", "--since", "2023-03-14", "--until", "2023-03-14", NEWSBOT_DATA_DIR=data
    )
    assert code == 0 and out.startswith("Briefing on 1 article, 2023-03-14 (quoted in Danish):\n• Folketinget")
    missing = str(tmp_path / "no-index")  # a cached briefing of a period is read without the index
    cached = run(
        small_archive,
        "brief",
        "--lang",
        "en",
        "--since",
        "2023-03-14",
        "--until",
        "2023-03-14",
        NEWSBOT_DATA_DIR=data,
        NEWSBOT_INDEX_DIR=missing,
    )
    assert cached[:2] == (0, out) and not (tmp_path / "no-index").exists()
    code, out, _ = run(small_archive, "brief", "--lang", "da", "--about", "vindmøller", NEWSBOT_DATA_DIR=data)
    assert code == 0 and out.startswith("Overblik over 1 artikel om «vindmøller»:\n• Folketinget vedtog")
    code, _, err = run(small_archive, "brief", "--since", "2023-03-15", "--until", "2023-03-14")
    assert code == 2 and "--since 2023-03-15 is after --until 2023-03-14" in err

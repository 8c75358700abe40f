"""Briefings: 3–5 central, non-repeating, cited bullets; cached; translated only when verified."""

import json
import shutil

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.answering.brief import Briefer
from bot.answering.chain import Answerer
from bot.answering.composers import GeneratorComposer
from tests.conftest import newsbot_env, run_newsbot


def test_an_extractive_brief_quotes_central_sentences_of_the_article(answerer, seeds_dir, settings, tmp_path):
    briefer = Briefer(Answerer(settings.model_copy(update={"data_dir": tmp_path}), answerer.index))
    briefing = briefer.brief("da")
    article = next(seeds_dir.iterdir()).read_text(encoding="utf-8")
    assert 3 <= len(briefing.bullets) <= 5
    assert briefing.header == "Overblik over artiklen fra ritzau (2022-01):"
    assert all(b.text in article and b.citation.source == "ritzau" for b in briefing.bullets)
    assert len({b.text for b in briefing.bullets}) == len(briefing.bullets)
    assert briefing.bullets[0].citation.paragraph == 1  # the lead
    paragraphs = [b.citation.paragraph for b in briefing.bullets]
    assert paragraphs == sorted(paragraphs)  # in article order
    assert not any(b.text.startswith(("Det ", "De ", "Den ")) for b in briefing.bullets)  # none leans on a neighbour


def test_an_english_extractive_brief_says_the_quotes_are_danish(answerer, settings, tmp_path):
    briefing = Briefer(Answerer(settings.model_copy(update={"data_dir": tmp_path}), answerer.index)).brief("en")
    assert briefing.header == "Briefing on the ritzau article (2022-01) (quoted in Danish):"


def test_a_generator_translates_bullets_and_a_failed_check_keeps_the_quote(answerer, settings, tmp_path):
    replies = ["A Russian-led military alliance sent troops to Kazakhstan on Thursday [1].", "yes"] + [
        "Putin ordered 9000 soldiers in [1]."
    ] * 50
    composer = GeneratorComposer(FakeListChatModel(responses=replies), "fake")
    briefing = Briefer(Answerer(settings.model_copy(update={"data_dir": tmp_path}), answerer.index, composer)).brief(
        "en"
    )
    first, rest = briefing.bullets[0], briefing.bullets[1:]
    assert first.text == "A Russian-led military alliance sent troops to Kazakhstan on Thursday." and first.verified
    assert all(not b.verified and "Putin" not in b.text for b in rest)
    assert briefing.backend == "fake"


def test_newsbot_brief_is_cached_and_the_cached_call_needs_no_index(settings, tmp_path):
    env = newsbot_env(settings.model_copy(update={"index_dir": tmp_path / "index", "data_dir": tmp_path / "data"}))
    first = run_newsbot(["brief", "--lang", "da", "--json"], env)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(tmp_path / "index")  # a cached briefing is read without the index or the model
    env["NEWSBOT_INDEX_DIR"] = str(tmp_path / "missing")
    second = run_newsbot(["brief", "--lang", "da", "--json"], env)
    assert second.returncode == 0 and json.loads(second.stdout) == json.loads(first.stdout)
    assert not (tmp_path / "missing").exists()
    plain = run_newsbot(["brief"], {**env, "LC_ALL": "", "LC_MESSAGES": "", "LANG": "da_DK.UTF-8"})
    assert plain.stdout.decode().startswith("Overblik over artiklen fra ritzau (2022-01):\n• ")


def test_a_briefing_header_says_some_bullets_are_quoted_in_danish_only_when_some_are():
    from bot.answering.brief import Bullet, briefing_header
    from bot.types import Citation

    def bullet(text: str) -> Bullet:
        return Bullet(text, Citation(1, text, "a", "wire", "2024-01", 1, 1.0))

    danish = bullet("Regeringen har indgået en aftale om finansloven for næste år.")
    english = bullet("The government agreed a budget for next year with two parties.")
    assert briefing_header("en", "2 articles", [english]) == "Briefing on 2 articles:"
    assert briefing_header("en", "2 articles", [danish]) == "Briefing on 2 articles (quoted in Danish):"
    assert briefing_header("en", "2 articles", [danish, english]) == "Briefing on 2 articles (some quoted in Danish):"
    assert (
        briefing_header("da", "2 artikler", [danish, english]) == "Overblik over 2 artikler (nogle citeret på engelsk):"
    )


def test_each_story_of_a_briefing_opens_with_its_lead_even_beside_a_livelier_quote():
    """A reaction full of names and numbers is more "informative" than a short lead; the lead still comes first."""
    import numpy as np

    from bot.answering.brief import central_sentences

    texts = [
        "Regeringen indgår aftale om ny bro.",
        "Borgmester Anne Holm, Venstre, kalder aftalen på 4,2 milliarder kroner for historisk for Vestjylland og Fanø.",
        "Broen skal stå færdig i 2031.",
    ]
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3, 8))
    vectors[1] = vectors.mean(axis=0) * 3  # the reaction is the most central, too
    assert central_sentences(vectors, texts, 1) == [0]
    assert central_sentences(vectors, texts, 2)[0] == 0

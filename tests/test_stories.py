"""Questions that name nothing ("Who came second?") over an archive of two bicycle races: a
standalone one gets a choice of story, a number answers from the story chosen, and a follow-up
is answered from the story of the previous answer."""

import asyncio
import json

import pytest

from bot.answering.chain import Question
from bot.frontends.conversation import open_conversations
from tests.conftest import BOTH_STORES, newsbot_env, run_newsbot

KOUTERS, GIRO = "01_kouters_classic", "02_giro_sardegna"


@pytest.fixture(scope="module")
def races_answerer(races):
    """The races' settings and an answerer over them."""
    from bot.service import load_answerer

    return races, load_answerer(races)[0]


def story_of(answer) -> str:
    return answer.citations[0].doc_id if answer.citations else ""


def test_a_question_that_fits_two_stories_asks_which(races_answerer):
    _, answerer = races_answerer
    answer = answerer.answer("Hvem blev nummer tre?")
    assert answer.verdict == "choose" and not answer.citations
    assert {s.doc_id for s in answer.stories} == {KOUTERS, GIRO}
    assert answer.answer.startswith("Hvilken historie mener du?")
    assert "1) " in answer.answer and "2) " in answer.answer and "Giro di Sardegna" in answer.answer
    shown = json.loads(json.dumps(answer.to_json()))
    assert shown["decision"] == "choose" and {s["doc_id"] for s in shown["stories"]} == {KOUTERS, GIRO}


def test_a_question_that_names_its_story_is_answered(races_answerer):
    _, answerer = races_answerer
    answer = answerer.answer("Hvem blev nummer tre i Giro di Sardegna?")
    assert answer.verdict == "answer" and story_of(answer) == GIRO
    assert "Arrieta" in answer.citations[0].quote


def test_a_chosen_story_answers_the_question(races_answerer):
    _, answerer = races_answerer
    answer = answerer.answer(Question("Hvem blev nummer tre?", story=KOUTERS, chosen=True))
    assert answer.verdict != "decline" and story_of(answer) == KOUTERS and "Ridder" in answer.citations[0].quote


def test_the_number_of_a_story_answers_from_it_and_the_conversation_stays_on_it(races_answerer):
    config, answerer = races_answerer

    async def conversation():
        conversations = open_conversations(config, answerer)
        choice = await conversations.answer("terminal", "Who came second in the race?")
        number = next(n for n, s in enumerate(choice.stories, start=1) if s.doc_id == GIRO)
        chosen = await conversations.answer("terminal", str(number))
        follow_up = await conversations.answer("terminal", "Hvem blev nummer tre?")
        return choice, chosen, follow_up

    choice, chosen, follow_up = asyncio.run(conversation())
    assert choice.verdict == "choose"
    assert chosen.question == "Who came second in the race?"
    assert story_of(chosen) == GIRO and "Lindqvist" in chosen.citations[0].quote
    assert follow_up.verdict != "choose" and story_of(follow_up) == GIRO and "Arrieta" in follow_up.citations[0].quote


def test_a_follow_up_that_names_nothing_stays_on_the_previous_story(races_answerer, tmp_path):
    config, answerer = races_answerer
    config = config.model_copy(update={"data_dir": tmp_path})

    async def ask(key: str, text: str):
        return await open_conversations(config, answerer).answer(key, text)  # a new process each time

    first = asyncio.run(ask("telegram:1", "Hvem vandt Kouters Classic?"))
    assert story_of(first) == KOUTERS
    second = asyncio.run(ask("telegram:1", "Hvem blev nummer tre?"))
    assert second.verdict != "choose" and "Ridder" in second.citations[0].quote
    assert asyncio.run(ask("telegram:2", "Hvem blev nummer tre?")).verdict == "choose"  # another chat: no story
    open_conversations(config, answerer).forget("telegram:1")
    assert asyncio.run(ask("telegram:1", "Hvem blev nummer tre?")).verdict == "choose"


def test_a_number_without_a_choice_is_an_ordinary_message(races_answerer):
    config, answerer = races_answerer

    async def ask():
        return await open_conversations(config, answerer).answer("terminal:numbers", "2")

    assert asyncio.run(ask()).verdict != "choose"


@pytest.mark.slow
@BOTH_STORES
def test_ask_lists_the_stories_ids_and_answers_from_the_one_chosen(races, tmp_path, vector_store):
    env = newsbot_env(races, NEWSBOT_INDEX_DIR=str(tmp_path / "index"), **vector_store)
    asked = run_newsbot(["ask", "--json", "Hvem blev nummer tre?"], env)
    shown = json.loads(asked.stdout)
    assert asked.returncode == 0 and shown["decision"] == "choose"
    giro = next(s["doc_id"] for s in shown["stories"] if "Marco Bellini" in s["title"])
    chosen = run_newsbot(["ask", "--story", giro, "Hvem blev nummer tre?"], env)
    assert chosen.returncode == 0 and "Iker Arrieta" in chosen.stdout.decode()
    unknown = run_newsbot(["ask", "--story", "no-such-story", "Hvem blev nummer tre?"], env)
    error = unknown.stderr.decode()
    assert unknown.returncode == 2 and "No article 'no-such-story'" in error and "Traceback" not in error


def test_new_forgets_a_pending_choice(races_answerer):
    config, answerer = races_answerer

    async def conversation():
        conversations = open_conversations(config, answerer)
        choice = await conversations.answer("terminal:new", "Hvem blev nummer tre?")
        conversations.forget("terminal:new")
        return choice, await conversations.answer("terminal:new", "1")

    choice, after = asyncio.run(conversation())
    assert choice.verdict == "choose" and after.question == "1"


def test_a_button_of_an_older_choice_says_it_expired(races_answerer):
    from bot.frontends.conversation import choice_token

    config, answerer = races_answerer

    async def conversation():
        conversations = open_conversations(config, answerer)
        first = await conversations.answer("slack:C1:1.0", "Hvem blev nummer tre?")
        stale = await conversations.answer("slack:C1:1.0", "1", choice="0123456789")
        pressed = await conversations.answer("slack:C1:1.0", "2", choice=choice_token(first))
        again = await conversations.answer("slack:C1:1.0", "2", choice=choice_token(first))
        return first, stale, pressed, again

    first, stale, pressed, again = asyncio.run(conversation())
    assert first.verdict == "choose" and stale.answer == "That choice has expired. Ask the question again."
    assert story_of(pressed) == first.stories[1].doc_id
    assert again.answer.startswith("That choice has expired")


def test_two_versions_of_a_story_that_names_nobody_are_one_story_and_two_races_are_two():
    from bot.answering.stories import _one_story

    assert _one_story("Ventetiden på sygehusene er steget markant i år.", "Ventetiden på sygehusene er steget i år.")
    assert not _one_story(
        "Belgieren Pieter Vandersloot vandt søndag cykelløbet Kouters Classic.",
        "Italieneren Marco Bellini vandt søndag cykelløbet Giro di Sardegna.",
    )

"""Follow-up questions: understood from the previous turn of the same conversation, which
survives a restart and is forgotten by /new. Fixture conversations in both languages, where the
second question alone finds the wrong sentence."""

import asyncio

import pytest

from bot.frontends.conversation import open_conversations

CONVERSATIONS = [
    # (first question, follow-up, a word of the right evidence the follow-up alone misses)
    ("How many people were injured?", "And who reported that?", "sundhedsministeriet"),
    ("Hvad skete der med regeringen?", "Hvornår?", "faldt regeringen"),
]


def quotes(answer) -> str:
    """The sentence the answer rests on (its first citation)."""
    return answer.citations[0].quote if answer.citations else ""


@pytest.mark.parametrize(("first", "follow_up", "evidence"), CONVERSATIONS)
def test_a_follow_up_is_answered_from_the_previous_turn(answerer, settings, tmp_path, first, follow_up, evidence):
    config = settings.model_copy(update={"data_dir": tmp_path})
    assert evidence not in quotes(answerer.answer(follow_up))  # alone, it can't be answered right

    async def scenario():
        conversations = open_conversations(config, answerer)
        await conversations.answer("telegram:1", first)
        return await conversations.answer("telegram:1", follow_up)

    answer = asyncio.run(scenario())
    assert answer.verdict != "decline" and evidence in quotes(answer)
    assert answer.language == ("da" if follow_up == "Hvornår?" else "en")


def test_history_survives_a_restart_and_new_starts_fresh(answerer, settings, tmp_path):
    config = settings.model_copy(update={"data_dir": tmp_path})
    first, follow_up, evidence = CONVERSATIONS[0]

    async def ask(text: str, key: str = "telegram:7"):
        return await open_conversations(config, answerer).answer(key, text)  # a new process each time

    asyncio.run(ask(first))
    assert evidence in quotes(asyncio.run(ask(follow_up)))
    assert evidence not in quotes(asyncio.run(ask(follow_up, key="telegram:8")))  # another chat has no history
    open_conversations(config, answerer).forget("telegram:7")
    asyncio.run(ask(first, key="telegram:9"))
    assert evidence not in quotes(asyncio.run(ask(follow_up)))


def test_history_is_bounded_per_conversation(tmp_path):
    from bot.frontends.history import History

    history = History(tmp_path / "h.sqlite3", turns=3)
    for n in range(300):
        history.add("slack:C1:1.0", f"question {n} " + "x" * 2000)
    history.close()
    # 300 questions of 2 kB would take 600 kB on disk; three of them take a few pages.
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 100_000
    assert History(tmp_path / "h.sqlite3", turns=3).previous("slack:C1:1.0") == "question 299 " + "x" * 2000


def test_questions_older_than_the_log_days_are_pruned_from_the_history(tmp_path):
    import sqlite3
    import time

    from bot.frontends.history import History

    History(tmp_path / "h.sqlite3").add("telegram:7", "a question from last month")
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:  # as if asked 31 days ago
        db.execute("UPDATE turns SET at = ?", (time.time() - 31 * 86_400,))
    history = History(tmp_path / "h.sqlite3", days=30)
    assert history.previous("telegram:7") == ""
    history.close()
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)


def test_quotes_keep_coming_while_a_slow_model_writes_and_a_backlog_is_shed(answerer, settings, tmp_path):
    import time

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from bot.answering.chain import Answerer
    from bot.answering.composers import GeneratorComposer
    from bot.frontends import conversation

    class SlowModel(FakeListChatModel):
        def _call(self, *args, **kwargs):
            time.sleep(0.4)
            return super()._call(*args, **kwargs)

    slow = Answerer(
        settings,
        answerer.index,
        GeneratorComposer(SlowModel(responses=["A Russian-led alliance sent troops [1].", "yes"]), "slow"),
    )
    conversations = open_conversations(settings.model_copy(update={"data_dir": tmp_path}), slow)

    async def scenario():
        first = await conversations.answer("k", "Who sent troops to Kazakhstan?")
        refinements = [
            asyncio.create_task(conversations.refined(first)) for _ in range(conversation.MAX_WAITING_REFINEMENTS + 3)
        ]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        quick = await conversations.answer("other", "Hvornår faldt regeringen?")  # not stuck behind the model
        waited = time.perf_counter() - started
        done = await asyncio.gather(*refinements)
        return quick, waited, done

    quick, waited, done = asyncio.run(scenario())
    assert quick.answerable and waited < 0.4 * 2
    assert sum(d is not None and d.backend == "slow" for d in done) == conversation.MAX_WAITING_REFINEMENTS
    assert sum(d is None for d in done) == 3  # shed: the quotes stand, nothing follows them

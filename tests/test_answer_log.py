"""The answer log, its statistics and the feedback export: what an operator reads, and that
writing it never holds up or breaks an answer."""

from __future__ import annotations

import json
import logging
import sqlite3
import time

import pytest

from bot.bench.evaluation import load_qa
from bot.operations.answer_log import LOG_FILE, AnswerLog, Cited, Entry, read_entries
from bot.operations.feedback import jsonl, qa_items
from bot.operations.stats import compute, day_chart, stats_text
from tests.conftest import newsbot_env, run_newsbot

QUOTE = Cited("ritzau-1", 1, "Onsdag faldt regeringen på grund af urolighederne.")


def entry(id: str, outcome: str = "answered", question: str = "Hvornår faldt regeringen?", **more) -> Entry:
    fields = dict(
        id=id,
        at=time.time(),
        frontend="telegram",
        chat_kind="private",
        user_hash="",
        question=question,
        language="da",
        outcome=outcome,
        reason="every question word is in the quotes",
        citations=(QUOTE,) if outcome == "answered" else (),
        timings_ms={"retrieve": 8.0, "gate": 1.0, "generate": 0.0, "total": 10.0, "reply": 40.0},
    )
    fields.update(more)
    return Entry(**fields)


def written(log: AnswerLog) -> list[Entry]:
    log.close()
    return list(read_entries(log.path))


def test_an_entry_keeps_the_question_and_a_salted_hash_never_the_user_id(tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE)
    log.record(entry("a1"), user_id="424242")
    log.record(entry("a2", "declined", "Hvad koster benzin?"), user_id="424242")
    log.record(entry("a3", frontend="slack"), user_id="424242")
    rows = written(log)
    assert [r.id for r in rows] == ["a1", "a2", "a3"]
    assert rows[0].question == "Hvornår faldt regeringen?" and rows[0].citations == (QUOTE,)
    assert rows[0].user_hash == rows[1].user_hash != rows[2].user_hash  # one user, per front end
    raw = (tmp_path / LOG_FILE).read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("*-wal"))
    assert b"424242" not in raw
    # another log (another salt) gives the same user another hash: the hash can't be looked up
    other = AnswerLog(tmp_path / "other" / LOG_FILE)
    other.record(entry("b1"), user_id="424242")
    assert written(other)[0].user_hash != rows[0].user_hash


def test_questions_are_left_out_when_the_newsroom_says_so(tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE, keep_questions=False)
    log.record(entry("a1"), user_id="1")
    row = written(log)[0]
    assert row.question is None and row.outcome == "answered" and row.citations == (QUOTE,)


def test_entries_older_than_the_retention_are_pruned_when_the_log_opens(tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE, days=30)
    log.record(entry("old", at=time.time() - 31 * 86_400), user_id="1")
    log.record(entry("new"), user_id="1")
    log.vote("old", "telegram", "1", -1)
    assert {r.id for r in written(log)} == {"old", "new"}
    assert [r.id for r in written(AnswerLog(tmp_path / LOG_FILE, days=30))] == ["new"]


def test_votes_on_answers_that_are_not_in_the_log_are_pruned_after_the_retention(tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE, days=30)
    log.vote("no-such-answer", "telegram", "1", +1)  # forged button data, or an answer never logged
    log.close()
    with sqlite3.connect(tmp_path / LOG_FILE) as db:  # as if pressed 31 days ago
        db.execute("UPDATE votes SET at = ?", (time.time() - 31 * 86_400,))
    AnswerLog(tmp_path / LOG_FILE, days=30).close()
    with sqlite3.connect(tmp_path / LOG_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM votes").fetchone() == (0,)


def test_a_second_press_changes_the_vote_and_each_user_counts_once(tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE)
    log.record(entry("a1"), user_id="1")
    log.vote("a1", "telegram", "1", -1)
    log.vote("a1", "telegram", "1", +1)  # changed their mind
    log.vote("a1", "telegram", "2", -1)
    row = written(log)[0]
    assert (row.up, row.down) == (1, 1)


def test_a_locked_log_neither_blocks_nor_fails_the_answer_and_is_reported(tmp_path, caplog):
    path = tmp_path / LOG_FILE
    AnswerLog(path).close()  # exists, with its tables
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    log = AnswerLog(path)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        log.record(entry("a1"), user_id="1")
        assert time.perf_counter() - started < 0.05  # the answer goes on at once
        log.close()
    assert "can't be written" in caplog.text and "locked" in caplog.text
    holder.execute("ROLLBACK")
    holder.close()
    assert list(read_entries(path)) == []  # dropped, not half-written


def test_an_unwritable_log_is_reported_and_later_entries_still_try(tmp_path, caplog):
    path = tmp_path / LOG_FILE
    path.mkdir()  # a folder where the database should be: it can't be opened (as a read-only disk)
    with caplog.at_level(logging.WARNING):
        log = AnswerLog(path)
        log.record(entry("a1"), user_id="1")
        log.close()
    assert "can't be written" in caplog.text


def test_stats_count_outcomes_votes_and_the_most_asked_and_declined(tmp_path):
    entries = [
        entry("a1"),
        entry("a2", question="hvornår faldt regeringen"),
        entry("a3", "declined", "Hvad koster benzin?"),
        entry("a4", backend="openai"),
        entry("a5", fallback="a number the sentences don't state", up=0, down=2),
        entry("a6", "refused", reason="too long"),
        entry("a7", up=1),
    ]
    stats = compute(entries)
    assert stats.questions == 6 and stats.outcomes["declined"] == 1 and stats.outcomes["refused"] == 1
    assert round(stats.decline_rate, 2) == 0.17
    assert (stats.generated, stats.fallbacks) == (2, 1)
    assert (stats.up, stats.down) == (1, 2)
    assert stats.asked.most_common(1) == [("hvornår faldt regeringen", 5)]
    assert stats.declined.most_common(1) == [("hvad koster benzin", 1)]
    assert stats.percentile(0.5) == 40.0
    text = stats_text(stats, "en")
    assert text.startswith("Today: 6 questions, 1 declined (17%)") and "👍 1 👎 2" in text


def test_the_chart_draws_a_bar_a_day_as_long_as_its_count():
    chart = day_chart({"2024-05-01": 10, "2024-05-02": 5}, width=20).plain.splitlines()
    assert chart[0] == "2024-05-01 " + "█" * 20 + " 10"
    assert chart[1] == "2024-05-02 " + "█" * 10 + " 5"


def test_the_feedback_export_is_a_qa_file_newsbot_eval_reads(tmp_path):
    entries = [
        entry("a1", down=1),  # thumbs-down
        entry("a2", up=1),  # liked: not exported
        entry("a3", "declined", "Hvad koster benzin?"),
        entry("a4", "declined", "hvad koster  benzin?"),  # the same question again: one item
        entry("a5", "refused", "x" * 2000),
    ]
    items = qa_items(entries)
    path = tmp_path / "review.jsonl"
    path.write_text(jsonl(items), encoding="utf-8")
    loaded = load_qa(path)
    assert [(i["question"], i["review"], i["answerable"]) for i in loaded] == [
        ("Hvornår faldt regeringen?", "thumbs-down", True),
        ("hvad koster  benzin?", "declined", False),
    ]
    assert loaded[0]["quotes"][0]["quote"] == QUOTE.quote and loaded[0]["lang"] == "da"
    assert loaded[0]["expect"] == [] and loaded[0]["evidence"] == [] and loaded[1]["asked"] == 2


@pytest.fixture
def kept_log(settings, tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE)
    for i in range(3):
        log.record(entry(f"a{i}"), user_id="1")
    log.record(entry("d1", "declined", "Hvad koster benzin?"), user_id="2")
    log.vote("a0", "telegram", "2", -1)
    log.close()
    return newsbot_env(settings, NEWSBOT_DATA_DIR=str(tmp_path), COLUMNS="120")


def test_newsbot_stats_prints_the_numbers_and_a_chart_of_questions_per_day(kept_log):
    result = run_newsbot(["stats"], kept_log)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "declined" in out and "1 (25%)" in out and "0 / 1" in out
    assert "Questions per day" in out and "█" * 40 + " 4" in out
    assert "hvornår faldt regeringen" in out and "hvad koster benzin" in out


def test_newsbot_log_lists_entries_filtered_by_outcome_as_json(kept_log):
    result = run_newsbot(["log", "--outcome", "declined", "--json"], kept_log)
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [(e["question"], e["outcome"]) for e in lines] == [("Hvad koster benzin?", "declined")]
    assert "user_hash" in lines[0] and lines[0]["user_hash"] != "2"
    future = run_newsbot(["log", "--since", "2999-01-01", "--json"], kept_log)
    assert future.returncode == 0 and future.stdout == b""
    bad = run_newsbot(["log", "--since", "yesterday"], kept_log)
    assert bad.returncode == 2 and b"%Y-%m-%d" in bad.stderr


HOSTILE = "Who is [/bold] the [link=https://evil.example]president[/link]?\x1b[2J\x1b]8;;https://evil.example\x07"


@pytest.fixture
def hostile_log(settings, tmp_path):
    """A log whose questions hold rich markup and terminal escapes, as a user may send them."""
    log = AnswerLog(tmp_path / LOG_FILE)
    log.record(entry("h1", "declined", HOSTILE), user_id="1")
    log.record(entry("h2", "declined", HOSTILE), user_id="2")
    log.close()
    return newsbot_env(settings, NEWSBOT_DATA_DIR=str(tmp_path), COLUMNS="200")


@pytest.mark.parametrize("command", [["log"], ["stats"]])
def test_markup_and_escapes_in_a_question_print_as_text(hostile_log, command):
    result = run_newsbot(command, hostile_log)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "[/bold] the [link=https://evil.example]president[/link]" in out
    assert "\x1b" not in out and "\x07" not in out


def test_a_question_holding_a_line_separator_is_exported_as_one_item_newsbot_eval_reads(settings, answerer, tmp_path):
    log = AnswerLog(tmp_path / LOG_FILE)
    log.record(entry("s1", "declined", "Who sent\u2028troops\u2029to Kazakhstan?\x85"), user_id="1")
    log.close()
    env = newsbot_env(settings, NEWSBOT_DATA_DIR=str(tmp_path))
    target = tmp_path / "review.jsonl"
    assert run_newsbot(["feedback", "export", str(target)], env).returncode == 0
    result = run_newsbot(["eval", str(target), "--json"], env)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["questions"] == 1


def test_newsbot_feedback_export_writes_the_file_to_review(kept_log, tmp_path):
    target = tmp_path / "review.jsonl"
    result = run_newsbot(["feedback", "export", str(target)], kept_log)
    assert result.returncode == 0 and b"2 question(s)" in result.stdout
    assert [i["review"] for i in load_qa(target)] == ["thumbs-down", "declined"]


def test_log_and_stats_without_the_bots_data_folder_say_where_to_look(settings, tmp_path):
    env = newsbot_env(settings, NEWSBOT_DATA_DIR=str(tmp_path / "elsewhere"))
    for command in (["log"], ["stats"]):
        result = run_newsbot(command, env)
        assert result.returncode == 2 and b"no answer log at" in result.stderr and b"NEWSBOT_DATA_DIR" in result.stderr


def test_a_closest_quote_is_logged_counted_and_exported_as_its_own_outcome(tmp_path):
    from bot.operations.recorder import Asked, Recorder
    from bot.types import Answer

    log = AnswerLog(tmp_path / LOG_FILE)
    closest = Answer("Hvem er polititalsmanden?", "da", "Jeg er ikke sikker …", False, verdict="closest")
    Recorder(log=log).answered(Asked("telegram", "private", "1", closest.question), closest)
    log.close()
    [logged] = read_entries(tmp_path / LOG_FILE, 0.0)
    assert logged.outcome == "closest"
    stats = compute([logged, entry("a2", "declined", "Hvad koster benzin?")])
    assert stats.questions == 2 and stats.outcomes["closest"] == 1 and stats.decline_rate == 0.5
    assert [(i["question"], i["review"], i["answerable"]) for i in qa_items([logged])] == [
        ("Hvem er polititalsmanden?", "closest", False)
    ]

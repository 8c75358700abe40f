"""`newsbot bench`: speed, memory and quality of the chain against simpler pipelines, in one run.

Production settings throughout (the same gate, index and composer a user runs). Prints a
Markdown table, writes it and a JSON file, and names the machine it ran on.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bot.answering.chain import Answerer, Question, citations_from
from bot.answering.retrieve import retrieve
from bot.config import Settings
from bot.evaluation import EvalReport, load_qa
from bot.lang import detect_language
from bot.types import Answer


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def _quality(name: str, items: list[dict[str, Any]], answer: Any) -> dict[str, Any]:
    report = EvalReport()
    for item in items:
        started = time.perf_counter()
        result: Answer = answer(item["question"])
        report.add(item, result, (time.perf_counter() - started) * 1000)
    return {"pipeline": name, **report.totals()}


def no_gate(answerer: Answerer):
    """Baseline: the same retrieval, but every question is answered (similarity only, no gate)."""

    def run(question: str) -> Answer:
        vector = answerer.index.embeddings.embed_questions([question])[0]
        retrieval = retrieve(answerer.index, vector)
        citations = citations_from(retrieval)
        language = detect_language(question)
        text = answerer.extractive.compose(question, language, citations).text
        return Answer(question, language, text, True, citations)

    return run


def cold_start(settings: Settings) -> float:
    env = {**os.environ, "NEWSBOT_LLM": "extractive", "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir), "NEWSBOT_INDEX_DIR": str(settings.index_dir)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "ask", "Who sent troops to Kazakhstan?"], env=env, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def run_bench(settings: Settings, qa_file: Path, quick: bool, out: Path) -> dict[str, Any]:
    from bot.embeddings import load_embeddings
    from bot.service import load_answerer
    from bot.store.news_index import open_index

    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    embeddings = load_embeddings(settings.embeddings)
    build_dir = out / "bench-index"
    started = time.perf_counter()
    open_index(settings.seeds_dir, build_dir, embeddings, rebuild=True)
    results["index_build_s"] = round(time.perf_counter() - started, 2)

    answerer, _ = load_answerer(settings.model_copy(update={"llm": "extractive"}))
    items = load_qa(qa_file)
    questions = [item["question"] for item in items]
    answerer.ask(questions[0])  # warm up
    warm = []
    for _ in range(1 if quick else 5):
        for question in questions:
            t = time.perf_counter()
            answerer.ask(Question(question))
            warm.append((time.perf_counter() - t) * 1000)
    retrieval = []
    for question in questions:
        t = time.perf_counter()
        retrieve(answerer.index, answerer.index.embeddings.embed_questions([question])[0])
        retrieval.append((time.perf_counter() - t) * 1000)
    results["latency_ms"] = {
        "warm_ask_p50": round(statistics.median(warm), 1),
        "warm_ask_p95": round(percentile(warm, 0.95), 1),
        "retrieve_p50": round(statistics.median(retrieval), 1),
        "cold_ask": round(cold_start(settings), 0),
    }
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["quality"] = [
        _quality("newsbot chain (extractive)", items, answerer.ask),
        _quality("same retrieval, no gate", items, no_gate(answerer)),
    ]
    if not quick:
        results["telegram"] = telegram_load(settings, questions)
        results["telegram_saturation"] = telegram_load(settings, questions, rate=1000.0, total=300)
    if not quick and settings.llm != "extractive":
        generator, _ = load_answerer(settings)
        if generator.composer.fluent:
            results["quality"].append(_quality(f"newsbot chain ({generator.composer.name})", items, generator.ask))
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [f"Machine: {results['machine']}", "", "| pipeline | evidence hits | answer hits | correct declines | false declines | language | p50 ms |", "|---|---|---|---|---|---|---|"]
    for q in results["quality"]:
        lines.append(
            f"| {q['pipeline']} | {q['evidence_hits']}/{q['answerable']} | {q['answer_hits']}/{q['answerable']} | "
            f"{q['correct_declines']}/{q['unanswerable']} | {q['false_declines']} | {q['language_matches']}/{q['questions']} | {q['p50_ms']} |"
        )
    lat = results["latency_ms"]
    lines += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| warm ask p50 / p95 (extractive) | {lat['warm_ask_p50']} / {lat['warm_ask_p95']} ms |",
        f"| retrieval alone p50 | {lat['retrieve_p50']} ms |",
        f"| cold `newsbot ask` (process start → answer) | {lat['cold_ask']:.0f} ms |",
        f"| index build (seeds, from scratch) | {results['index_build_s']} s |",
        f"| peak RSS of the bench process | {results['peak_rss_mib']} MiB |",
    ]
    for key, label in (("telegram", "Telegram message in → reply out"), ("telegram_saturation", "Telegram at saturation")):
        if key in results:
            t = results[key]
            lines.append(
                f"| {label} ({t['offered']} questions, {t['chats']} chats, offered {t['rate_per_s']}/s) | "
                f"answered {t['answered']}, p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms, {t['throughput_per_s']} answers/s |"
            )
    return "\n".join(lines)


def write_results(results: dict[str, Any], out: Path) -> str:
    from bot.store.atomic import write_json_atomically, write_text_atomically

    table = markdown(results)
    write_json_atomically(out / "bench.json", results)
    write_text_atomically(out / "bench.md", table + "\n")
    return table


def telegram_load(settings: Settings, questions: list[str], chats: int = 50, rate: float = 10.0, total: int = 500) -> dict[str, Any]:
    """The real `newsbot telegram` process against the local Bot API server: `total` questions
    from `chats` chats offered at `rate` per second; message in → first reply out."""
    import itertools

    from bot.frontends.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    env = {**os.environ, "NEWSBOT_LLM": "extractive", "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
           "NEWSBOT_INDEX_DIR": str(settings.index_dir), "TELEGRAM_BOT_TOKEN": server.token,
           "TELEGRAM_API_BASE_URL": server.base_url, "NEWSBOT_RATE_LIMIT": "1000", "NEWSBOT_ALLOWED_USERS": "*"}
    process = subprocess.Popen([sys.executable, "-m", "bot", "telegram"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        sent_at: dict[tuple[int, int], float] = {}
        cycle = itertools.cycle(questions)
        started = time.perf_counter()
        for i in range(total):
            due = started + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            chat = 10_000 + i % chats
            message = server.message(next(cycle), chat_id=chat, user_id=chat)
            sent_at[(chat, message["message_id"])] = time.perf_counter()
            server.push(message)
        deadline = time.perf_counter() + 120
        latencies: list[float] = []
        while time.perf_counter() < deadline:
            with server._lock:
                replies = [(p, t) for (name, p), t in zip(server.calls, server.call_times) if name == "sendMessage"]
            if len(replies) >= total:
                break
            time.sleep(0.1)
        seen: set[tuple[int, int]] = set()
        for params, at in replies:
            key = (int(params["chat_id"]), int(params["reply_parameters"]["message_id"]))
            if key in sent_at and key not in seen:
                seen.add(key)
                latencies.append((at - sent_at[key]) * 1000)
        elapsed = time.perf_counter() - started
        return {"offered": total, "answered": len(seen), "rate_per_s": rate, "chats": chats,
                "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
                "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
                "throughput_per_s": round(len(seen) / elapsed, 1)}
    finally:
        process.terminate()
        process.wait(30)
        server.stop()

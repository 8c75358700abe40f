"""`newsbot bench`: speed, memory and quality of the chain against simpler pipelines, in one run.

Production settings throughout (the same gate, index and composer a user runs). Prints a
Markdown table, writes it and a JSON file, and names the machine it ran on.
"""

from __future__ import annotations

import json
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
        from bot.lang import detect_language

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
    return "\n".join(lines)


def write_results(results: dict[str, Any], out: Path) -> str:
    from bot.store.atomic import write_json_atomically, write_text_atomically

    table = markdown(results)
    write_json_atomically(out / "bench.json", results)
    write_text_atomically(out / "bench.md", table + "\n")
    return table

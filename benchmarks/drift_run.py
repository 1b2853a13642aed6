"""Benchmark one drift run: all six signals, 5,000-record window against a 50,000-record baseline.

Embeddings are ready (as after the embedding task), drawn with replacement from the test pool of
real English sentences, so texts repeat as in real traffic. Prints one JSON object: wall time of
`run_signals` (median of repeated runs after a warm-up), peak Python allocation during a run
(tracemalloc) and the peak resident memory of a process that only loads the frozen inputs and
runs (VmHWM, or ru_maxrss without /proc), with the machine described.

    python benchmarks/drift_run.py [--repeats 5] [--seed 0]

Two traffic shapes are measured: "repeating" (records drawn from ~2,150 pool sentences, so the
tests work on ~1,700 distinct texts per side) and "unique" (each record's embedding jittered so no
two records are the same text: the worst case, 5,000 distinct texts per side).

Targets: at most 1 s and 500 MB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scipy  # noqa: E402
import sklearn  # noqa: E402

from monitoring.drift import (  # noqa: E402
    BaselineData,
    ClusterModel,
    Policy,
    WindowData,
    fit_clusters,
    fit_tfidf,
    run_signals,
)
from tests.textpool import load_pool  # noqa: E402

BASELINE_ROWS = 50_000
WINDOW_ROWS = 5_000
NEW_TOPIC = "debugger"
NEW_SHARE = 0.10


def machine() -> dict:
    """Describe the machine the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit_learn": sklearn.__version__,
        "load_average_1min": os.getloadavg()[0],
    }


def _jittered(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make every row a distinct unit vector near the original (a paraphrase, geometrically)."""
    noisy = vectors + rng.normal(0.0, 0.02, vectors.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def build_inputs(seed: int, *, unique: bool = False) -> tuple[BaselineData, WindowData, dict]:
    """Draw a baseline and a window from the pool and freeze the baseline's models."""
    texts, topics, embeddings = load_pool()
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(topics != NEW_TOPIC)
    new = np.flatnonzero(topics == NEW_TOPIC)
    popularity = rng.lognormal(0.0, 1.0, len(known))
    popularity /= popularity.sum()
    # Each prompt has "its" response: another pool sentence, so responses repeat with prompts.
    response_of = rng.permutation(len(texts))

    baseline_rows = known[rng.choice(len(known), BASELINE_ROWS, p=popularity)]
    window_rows = known[rng.choice(len(known), WINDOW_ROWS, p=popularity)]
    window_rows[: int(NEW_SHARE * WINDOW_ROWS)] = rng.choice(new, int(NEW_SHARE * WINDOW_ROWS))

    base_prompts, base_responses = embeddings[baseline_rows], embeddings[response_of[baseline_rows]]
    win_prompts, win_responses = embeddings[window_rows], embeddings[response_of[window_rows]]
    base_prompt_groups, base_response_groups = baseline_rows, response_of[baseline_rows]
    win_prompt_groups, win_response_groups = window_rows, response_of[window_rows]
    if unique:
        base_prompts, base_responses = _jittered(base_prompts, rng), _jittered(base_responses, rng)
        win_prompts, win_responses = _jittered(win_prompts, rng), _jittered(win_responses, rng)
        base_prompt_groups = base_response_groups = np.arange(BASELINE_ROWS)
        win_prompt_groups = win_response_groups = np.arange(BASELINE_ROWS, BASELINE_ROWS + WINDOW_ROWS)

    started = time.perf_counter()
    prompt_clusters = fit_clusters(base_prompts, groups=base_prompt_groups, seed=seed)
    response_clusters = fit_clusters(base_responses, groups=base_response_groups, seed=seed)
    tfidf = fit_tfidf([texts[i] for i in baseline_rows])
    freeze_seconds = time.perf_counter() - started

    baseline = BaselineData(
        prompt_embeddings=base_prompts,
        prompt_groups=base_prompt_groups.astype(np.int64),
        prompt_clusters=prompt_clusters,
        response_embeddings=base_responses,
        response_groups=base_response_groups.astype(np.int64),
        response_clusters=response_clusters,
        scores=rng.beta(7.0, 3.0, BASELINE_ROWS),
        feedback=np.where(rng.random(BASELINE_ROWS) < 0.8, 1.0, -1.0),
        tfidf=tfidf,
    )
    before = rng.integers(1, 6, 200).astype(np.float64)
    window = WindowData(
        prompt_embeddings=win_prompts,
        prompt_groups=win_prompt_groups.astype(np.int64),
        prompt_texts=[texts[i] for i in window_rows],
        response_embeddings=win_responses,
        response_groups=win_response_groups.astype(np.int64),
        scores=rng.beta(7.0, 3.0, WINDOW_ROWS) * 0.95,
        feedback=np.where(rng.random(WINDOW_ROWS) < 0.78, 1.0, -1.0),
        label_pairs=(before, np.clip(before - (rng.random(200) < 0.2), 1, 5)),
    )
    return baseline, window, {"freeze_seconds": round(freeze_seconds, 3)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process: libraries, baseline arrays and the runs included.

    Linux keeps ru_maxrss across execve, so a child started by a large parent would report the
    parent's size; the kernel's VmHWM belongs to the new program only. ru_maxrss (KiB on Linux)
    is the fallback where /proc is missing.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(baseline: BaselineData, window: WindowData, *, repeats: int, seed: int) -> dict:
    """Time repeated runs after a warm-up and trace one run's peak allocation."""
    policy = Policy()
    run_signals(baseline, window, policy, seed=seed)  # warm-up: imports, first-call costs
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        signals, severity = run_signals(baseline, window, policy, seed=seed + i)
        times.append(time.perf_counter() - started)
    # Read before tracing: tracemalloc's own bookkeeping would inflate the resident size.
    max_rss_mb = peak_rss_mb()
    tracemalloc.start()
    run_signals(baseline, window, policy, seed=seed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    prompt = next(s for s in signals if s.name == "prompt_drift")
    return {
        "signals": [s.name for s in signals],
        "severity": severity,
        "distinct_prompts_per_side": [prompt.details["distinct_baseline"], prompt.details["distinct_window"]],
        "seconds_median": round(statistics.median(times), 3),
        "seconds_min": round(min(times), 3),
        "seconds_max": round(max(times), 3),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "max_rss_mb": max_rss_mb,
    }


def save_inputs(baseline: BaselineData, window: WindowData, folder: Path) -> None:
    """Store frozen inputs as a baseline artifact is stored: arrays in .npz, models in JSON."""
    np.savez(
        folder / "baseline.npz",
        embeddings=baseline.prompt_embeddings,
        groups=baseline.prompt_groups,
        response_embeddings=baseline.response_embeddings,
        response_groups=baseline.response_groups,
        scores=baseline.scores,
        feedback=baseline.feedback,
    )
    np.savez(
        folder / "window.npz",
        embeddings=window.prompt_embeddings,
        groups=window.prompt_groups,
        response_embeddings=window.response_embeddings,
        response_groups=window.response_groups,
        scores=window.scores,
        feedback=window.feedback,
        before=window.label_pairs[0],
        after=window.label_pairs[1],
    )
    models = {
        "prompt_clusters": baseline.prompt_clusters.to_dict(),
        "response_clusters": baseline.response_clusters.to_dict(),
        "tfidf": baseline.tfidf,
        "window_texts": window.prompt_texts,
    }
    (folder / "models.json").write_text(json.dumps(models))


def load_inputs(folder: Path) -> tuple[BaselineData, WindowData]:
    """Load what `save_inputs` stored."""
    models = json.loads((folder / "models.json").read_text())
    with np.load(folder / "baseline.npz") as b, np.load(folder / "window.npz") as w:
        baseline = BaselineData(
            prompt_embeddings=b["embeddings"],
            prompt_groups=b["groups"],
            prompt_clusters=ClusterModel.from_dict(models["prompt_clusters"]),
            response_embeddings=b["response_embeddings"],
            response_groups=b["response_groups"],
            response_clusters=ClusterModel.from_dict(models["response_clusters"]),
            scores=b["scores"],
            feedback=b["feedback"],
            tfidf=models["tfidf"],
        )
        window = WindowData(
            prompt_embeddings=w["embeddings"],
            prompt_groups=w["groups"],
            prompt_texts=models["window_texts"],
            response_embeddings=w["response_embeddings"],
            response_groups=w["response_groups"],
            scores=w["scores"],
            feedback=w["feedback"],
            label_pairs=(w["before"], w["after"]),
        )
    return baseline, window


def measure_in_fresh_process(baseline: BaselineData, window: WindowData, *, repeats: int, seed: int) -> dict:
    """Run `measure` in a child process that only loads the frozen inputs, as a drift worker does.

    The child's ru_maxrss is then the memory a drift run needs (interpreter, libraries, the
    baseline's arrays and the run itself), not the freeze's K-means or the other traffic shape.
    """
    with tempfile.TemporaryDirectory() as tmp:
        save_inputs(baseline, window, Path(tmp))
        out = subprocess.run(
            [sys.executable, __file__, "--measure", tmp, "--repeats", str(repeats), "--seed", str(seed)],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout)


def main() -> None:
    """Run the benchmark and print its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        baseline, window = load_inputs(Path(args.measure))
        print(json.dumps(measure(baseline, window, repeats=args.repeats, seed=args.seed)))
        return

    shapes = {}
    for shape in ("repeating", "unique"):
        baseline, window, extra = build_inputs(args.seed, unique=shape == "unique")
        shapes[shape] = {**measure_in_fresh_process(baseline, window, repeats=args.repeats, seed=args.seed), **extra}
        del baseline, window
    result = {
        "benchmark": "drift_run",
        "baseline_records": BASELINE_ROWS,
        "window_records": WINDOW_ROWS,
        "embedding_dim": 384,
        "repeats": args.repeats,
        "traffic": shapes,
        "targets": {"seconds": 1.0, "memory_mb": 500},
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

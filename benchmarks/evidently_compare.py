"""Compare Driftgate's embedding drift test with Evidently's default embedding drift on the same arrays.

The arrays: a 10,000-record baseline and 2,000-record windows of real sentence embeddings drawn
with replacement from the test pool (texts repeat), with 0%, 5% and 10% of each window from a
topic the baseline never saw. For each window three detectors say "drift" or not, and each is timed:
Driftgate's prompt signals (prompt drift and topic novelty, Holm-combined), Evidently's default, and a
plain held-out classifier (logistic regression fitted on half of each side, Mann-Whitney test of its
scores on the other half, no handling of repeated texts).

Evidently runs in its own virtual environment (benchmarks/evidently-venv, git-ignored) so its
dependencies never touch the project's. This script plays two roles:
- run with the project's Python, it draws the arrays, runs Driftgate, writes the arrays to a
  temporary .npz, and runs itself with the Evidently venv's Python in worker mode;
- in worker mode (--worker) it imports only numpy, pandas and Evidently, never project code.

    python benchmarks/evidently_compare.py --setup     # create the Evidently venv (needs PyPI)
    python benchmarks/evidently_compare.py [--windows 5]

Prints one JSON object with per-scenario detections, times and memory for both tools.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / "evidently-venv"
VENV_PYTHON = VENV / "bin" / "python"
SCENARIOS = {"no_drift": 0.0, "new_topic_5pct": 0.05, "new_topic_10pct": 0.10}
# The sizes the issue measured from outside: 10,000-record baselines, 2,000-record windows.
BASELINE_ROWS = 10_000
WINDOW_ROWS = 2_000
NEW_TOPICS = ("debugger", "string-methods", "formatstrings", "execmodel")
ALPHA = 0.01


def setup_venv() -> None:
    """Create the Evidently venv and install Evidently from PyPI into it."""
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # Evidently 0.7 imports pandas internals that pandas 3 removed.
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "evidently", "pandas<3"], check=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this program (VmHWM; ru_maxrss survives exec, so not that)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(arrays_path: str, out_path: str) -> None:
    """Worker mode: run Evidently's default embedding drift on every window in the .npz."""
    # Imported here because this branch runs in the Evidently venv, which has neither the project
    # nor its dependencies, and the project's venv has no Evidently.
    from importlib.metadata import version

    import pandas as pd
    from evidently.legacy.metrics import EmbeddingsDriftMetric
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    data = np.load(arrays_path)
    baseline = data["baseline"]
    columns = [f"e{i}" for i in range(baseline.shape[1])]
    mapping = ColumnMapping(embeddings={"prompt": columns})
    reference = pd.DataFrame(baseline, columns=columns)
    results = []
    names = sorted(name for name in data.files if name.startswith("window_"))
    rss_before_tracing = None
    for index, name in enumerate(names):
        current = pd.DataFrame(data[name], columns=columns)
        # Trace only the last window, after reading the resident peak: tracemalloc's bookkeeping
        # slows the run and would inflate the resident size.
        traced = index == len(names) - 1
        if traced:
            rss_before_tracing = peak_rss_mb()
            tracemalloc.start()
        started = time.perf_counter()
        # Evidently's default: no drift_method given, so a domain classifier (SGD, 50/50 split)
        # whose ROC AUC above 0.55 means drift (bootstrap only below 1,000 reference rows).
        report = Report(metrics=[EmbeddingsDriftMetric("prompt")])
        report.run(reference_data=reference, current_data=current, column_mapping=mapping)
        metric = report.as_dict()["metrics"][0]["result"]
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else None
        if traced:
            tracemalloc.stop()
        results.append(
            {
                "window": name,
                "seconds": seconds,
                "drift_score": float(metric["drift_score"]),
                "detected": bool(metric["drift_detected"]),
                "method": metric["method_name"],
                "tracemalloc_peak_mb": None if peak is None else peak / 2**20,
            }
        )
    Path(out_path).write_text(
        json.dumps(
            {
                "evidently": version("evidently"),
                "pandas": pd.__version__,
                "numpy": np.__version__,
                "scikit_learn": version("scikit-learn"),
                "max_rss_mb": rss_before_tracing,
                "windows": results,
            }
        )
    )


def plain_classifier(baseline: np.ndarray, window: np.ndarray, seed: int) -> float:
    """p-value of a held-out classifier test with no care for repeats: fit on half, Mann-Whitney on the rest."""
    from scipy import stats
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    b = baseline[rng.choice(len(baseline), len(window), replace=False)]
    x = np.concatenate([b, window])
    y = np.concatenate([np.zeros(len(b)), np.ones(len(window))])
    half = rng.random(len(x)) < 0.5
    model = LogisticRegression(C=1.0, max_iter=500).fit(x[half], y[half])
    scores = model.decision_function(x[~half])
    held = y[~half]
    return float(stats.mannwhitneyu(scores[held == 1], scores[held == 0], alternative="greater").pvalue)


def run_compare(windows_per_scenario: int, seed: int) -> dict:
    """Draw the arrays, run Driftgate on them, hand them to the Evidently worker, merge results."""
    sys.path.insert(0, str(ROOT))
    # Project imports live here so worker mode can run without the project's dependencies.
    from monitoring.drift import embedding_drift, fit_clusters, holm, topic_novelty
    from tests.textpool import load_pool

    texts, topics, embeddings = load_pool()
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(~np.isin(topics, NEW_TOPICS))
    popularity = rng.lognormal(0.0, 1.0, len(known))
    popularity /= popularity.sum()
    baseline_rows = known[rng.choice(len(known), BASELINE_ROWS, p=popularity)]
    clusters = fit_clusters(embeddings[baseline_rows], groups=baseline_rows, seed=seed)
    baseline = embeddings[baseline_rows]

    arrays = {"baseline": baseline}
    ours = []
    for scenario, share in SCENARIOS.items():
        for i in range(windows_per_scenario):
            rows = known[rng.choice(len(known), WINDOW_ROWS, p=popularity)]
            m = int(round(share * WINDOW_ROWS))
            if m:
                topic = NEW_TOPICS[i % len(NEW_TOPICS)]
                rows[:m] = rng.choice(np.flatnonzero(topics == topic), m)
            name = f"window_{scenario}_{i:02d}"
            arrays[name] = embeddings[rows]
            tracemalloc.start()
            started = time.perf_counter()
            signal = embedding_drift("prompt_drift", baseline, baseline_rows, clusters, embeddings[rows], rows, seed=i)
            novelty = topic_novelty(clusters, embeddings[rows], window_groups=rows, baseline=baseline,
                                    baseline_groups=baseline_rows, seed=i)
            p_value = min(holm([signal.p_value, novelty.p_value]))
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            started = time.perf_counter()
            plain_p = plain_classifier(baseline, embeddings[rows], seed=i)
            plain_seconds = time.perf_counter() - started
            ours.append(
                {
                    "window": name,
                    "scenario": scenario,
                    "seconds": seconds,
                    "p_value": p_value,
                    "drifted_share": signal.effect_size,
                    "detected": p_value < ALPHA,
                    "plain_classifier_p": plain_p,
                    "plain_classifier_detected": plain_p < ALPHA,
                    "plain_classifier_seconds": plain_seconds,
                    "tracemalloc_peak_mb": peak / 2**20,
                }
            )

    with tempfile.TemporaryDirectory() as tmp:
        arrays_path = os.path.join(tmp, "arrays.npz")
        out_path = os.path.join(tmp, "evidently.json")
        np.savez(arrays_path, **arrays)
        subprocess.run([str(VENV_PYTHON), __file__, "--worker", arrays_path, out_path], check=True)
        theirs = json.loads(Path(out_path).read_text())

    by_window = {r["window"]: r for r in theirs["windows"]}
    summary = {}
    for scenario in SCENARIOS:
        mine = [r for r in ours if r["scenario"] == scenario]
        other = [by_window[r["window"]] for r in mine]
        summary[scenario] = {
            "windows": len(mine),
            "driftgate_detected": sum(r["detected"] for r in mine),
            "evidently_detected": sum(r["detected"] for r in other),
            "plain_classifier_detected": sum(r["plain_classifier_detected"] for r in mine),
            "driftgate_median_p": statistics.median(r["p_value"] for r in mine),
            "evidently_median_auc": statistics.median(r["drift_score"] for r in other),
        }
    return {
        "benchmark": "evidently_compare",
        "baseline_records": BASELINE_ROWS,
        "window_records": WINDOW_ROWS,
        "alpha": ALPHA,
        "summary": summary,
        "driftgate": {
            "test": "prompt drift (classifier test + permutation chi-square) and topic novelty (local kNN), Holm",
            "seconds_median": statistics.median(r["seconds"] for r in ours),
            "seconds_max": max(r["seconds"] for r in ours),
            "tracemalloc_peak_mb": max(r["tracemalloc_peak_mb"] for r in ours),
        },
        "plain_classifier": {
            "test": "logistic regression, fitted on half, Mann-Whitney on held-out scores, repeats ignored",
            "seconds_median": statistics.median(r["plain_classifier_seconds"] for r in ours),
        },
        "evidently": {
            "version": theirs["evidently"],
            "test": "EmbeddingsDriftMetric default (domain classifier, ROC AUC > 0.55)",
            "seconds_median": statistics.median(r["seconds"] for r in theirs["windows"][:-1]),
            "seconds_max": max(r["seconds"] for r in theirs["windows"][:-1]),
            "tracemalloc_peak_mb_last_window": theirs["windows"][-1]["tracemalloc_peak_mb"],
            "max_rss_mb": theirs["max_rss_mb"],
            "pandas": theirs["pandas"],
            "numpy": theirs["numpy"],
            "scikit_learn": theirs["scikit_learn"],
        },
        "windows": {"driftgate": ours, "evidently": theirs["windows"]},
    }


def main() -> None:
    """Parse arguments and run the requested role."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create the Evidently venv and exit")
    parser.add_argument("--worker", nargs=2, metavar=("ARRAYS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--windows", type=int, default=5, help="windows per scenario")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.setup:
        setup_venv()
        return
    if args.worker:
        run_worker(*args.worker)
        return
    if not VENV_PYTHON.exists():
        sys.exit(f"no Evidently venv at {VENV.relative_to(ROOT)}; run: python benchmarks/evidently_compare.py --setup")
    print(json.dumps(run_compare(args.windows, args.seed), indent=2))


if __name__ == "__main__":
    main()

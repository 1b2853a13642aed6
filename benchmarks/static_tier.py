"""The static embedding tier against the default model: prompts/s, and drift error rates on the same scenarios.

Run from the repository root, after `manage.py embeddings_distill_static`:

    .venv/bin/python benchmarks/static_tier.py [--no-drift-windows 200] [--drift-windows 100] > var/static.json

1. Throughput (prompts/s) of the default encoder (`monitoring.embeddings.get_encoder`, ONNX fp32 by default) and
   of the static encoder (`monitoring.static_embeddings.get_static_encoder`), interleaved in one run on the same
   sentences, plus cosine agreement of the two tiers' neighbourhoods (they live in different spaces).
2. The scenarios of the error-rate suite (tests/monitoring/drift/test_drift_error_rates.py), run on the same
   sentence pool and the same seeds with each tier's vectors: 10,000-record baselines drawn with replacement,
   2,000-record windows, alpha 0.01; no-drift false-alarm rates of prompt drift, topic novelty and the run's
   prompt alarm (weighted Holm) in five repeat scenarios; detection of a 5% and a 10% new topic.
   The windows' rows are the same for both tiers: only the vectors differ.

Decision rule (docs/benchmarks-embeddings.md): the tier may be selected for drift only if both detection rates
are within 2 points of the default model's and every false-alarm rate stays at or below 1.5%.
Prints one JSON document.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")

import django  # noqa: E402

django.setup()

from monitoring.embeddings import get_encoder  # noqa: E402
from monitoring.static_embeddings import get_static_encoder, static_model_info  # noqa: E402
from tests.monitoring.drift.traffic import ALPHA, NO_DRIFT, TrafficPool, run_windows  # noqa: E402

BOUND_FALSE_ALARM = 0.015
MAX_DETECTION_LOSS = 0.02
SIGNALS = ("prompt_drift", "novelty", "alarm")
# The suite's new-topic scenarios and seeds (test_drift_error_rates.py); its no-drift ones are traffic.NO_DRIFT.
DRIFT = {"new_topic_5pct": (606, 0.05), "new_topic_10pct": (808, 0.10)}
def rates(results: list[dict]) -> dict[str, float]:
    return {key: round(float(np.mean([r[key] < ALPHA for r in results])), 4) for key in SIGNALS}


def throughput(encoders: dict, texts: list[str], repeats: int, batch_size: int = 32) -> dict[str, float]:
    """Median texts/s of each encoder, runs interleaved so both see the same load."""
    timings: dict[str, list[float]] = {name: [] for name in encoders}
    for encoder in encoders.values():
        encoder.encode(texts[:batch_size], batch_size=batch_size)
    for _ in range(repeats):
        for name, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode(texts, batch_size=batch_size)
            timings[name].append(time.perf_counter() - started)
    return {name: round(len(texts) / statistics.median(values), 1) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=1024, help="Pool sentences timed per repeat")
    parser.add_argument("--no-drift-windows", type=int, default=200, help="Windows per no-drift scenario")
    parser.add_argument("--drift-windows", type=int, default=100, help="Windows per new-topic scenario")
    parser.add_argument("--skip-rates", action="store_true", help="Throughput only")
    args = parser.parse_args()

    info = static_model_info()
    if info is None:
        raise SystemExit("No static model: run `manage.py embeddings_distill_static` first.")
    default, static = get_encoder(), get_static_encoder()
    pools = {"default": TrafficPool(), "static": TrafficPool()}
    texts = pools["default"].texts
    started = time.perf_counter()
    pools["static"].embeddings = static.encode(texts)
    report: dict = {"load_average": os.getloadavg(), "static_model": info,
                    "models": {"default": f"{default.model_key} ({default.backend})", "static": static.model_key},
                    "pool": {"texts": len(texts), "static_embed_seconds": round(time.perf_counter() - started, 2)}}

    prompts = (texts * (-(-args.prompts // len(texts))))[: args.prompts]
    report["prompts_per_s_batch_32"] = throughput({"default": default, "static": static}, prompts, args.repeats)
    report["prompt_words_mean"] = round(statistics.mean(len(p.split()) for p in prompts), 1)

    if not args.skip_rates:
        scenarios: dict[str, dict] = {}
        for tier, pool in pools.items():
            tier_started = time.perf_counter()
            out: dict[str, dict] = {}
            for name, (seed, share) in DRIFT.items():
                out[name] = rates(run_windows(pool, scenario="lognormal", seed=seed, windows=args.drift_windows,
                                              share=share))
                print(f"{tier} {name}: {out[name]}", file=sys.stderr, flush=True)
            for name, (seed, population, kwargs) in NO_DRIFT.items():
                out[name] = rates(run_windows(pool, scenario=population, seed=seed,
                                              windows=args.no_drift_windows, **kwargs))
                print(f"{tier} {name}: {out[name]}", file=sys.stderr, flush=True)
            scenarios[tier] = {"rates": out, "seconds": round(time.perf_counter() - tier_started, 1)}
        report["scenarios"] = scenarios
        base, fast = scenarios["default"]["rates"], scenarios["static"]["rates"]
        detection_loss = {name: round(base[name]["alarm"] - fast[name]["alarm"], 4) for name in DRIFT}
        worst_false_alarm = max(fast[name][key] for name in NO_DRIFT for key in SIGNALS)
        report["decision"] = {
            "detection_loss_points": {name: round(100 * loss, 1) for name, loss in detection_loss.items()},
            "static_worst_false_alarm": worst_false_alarm,
            "offer_for_drift": all(loss <= MAX_DETECTION_LOSS for loss in detection_loss.values())
            and worst_false_alarm <= BOUND_FALSE_ALARM}
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Run every benchmark one after another on this machine and collect their JSON results.

    .venv/bin/python -m benchmarks.run_all [--skip evidently] > var/bench-all.json

Each benchmark runs in its own process (so one's memory high-water mark does not colour the next) and prints
JSON on stdout; this script gathers them into one document. Benchmarks run one at a time because the
machine has two cores and they compete for both.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "audit": [sys.executable, "-m", "benchmarks.audit"],
    "drift_run": [sys.executable, "benchmarks/drift_run.py", "--repeats", "5"],
    "evidently": [sys.executable, "benchmarks/evidently_compare.py", "--windows", "5"],
    "embeddings": [sys.executable, "benchmarks/embeddings.py", "--repeats", "3"],
    # Needs `manage.py embeddings_distill_static` first; exits non-zero without the distilled model.
    "static_tier": [sys.executable, "benchmarks/static_tier.py", "--no-drift-windows", "100"],
    "ingest": [sys.executable, "benchmarks/ingest.py", "--batches", "5"],
    "sizing": [sys.executable, "benchmarks/sizing.py"],
    "otlp_ingest": [sys.executable, "benchmarks/otlp_ingest.py", "--batches", "3"],
    "report_render": [sys.executable, "-m", "benchmarks.report_render"],
    "monitoring_pages": [sys.executable, "-m", "benchmarks.monitoring_pages"],
    "pages": [sys.executable, "-m", "benchmarks.pages", "--repeats", "20"],
    "probe_run": [sys.executable, "-m", "benchmarks.probe_run"],
    "metrics": [sys.executable, "-m", "benchmarks.metrics", "--runs", "720", "--sizes", "50,200"],
}


def _last_json(stdout: str):
    """Return the JSON document a benchmark printed (the last line or block that parses)."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        for line in reversed(stdout.strip().splitlines()):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {"unparsed_output": stdout[-2000:]}


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; exit non-zero if any of them failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", action="append", default=[], choices=sorted(BENCHMARKS),
                        help="Leave a benchmark out (repeatable).")
    args = parser.parse_args(argv)
    results, failed = {}, []
    for name, command in BENCHMARKS.items():
        if name in args.skip:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        results[name] = {"exit_code": done.returncode, "wall_seconds": round(time.perf_counter() - started, 1),
                         "result": _last_json(done.stdout)}
        if done.returncode != 0:
            failed.append(name)
            results[name]["stderr_tail"] = done.stderr[-2000:]
    print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

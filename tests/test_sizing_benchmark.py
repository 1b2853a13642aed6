"""`benchmarks/sizing.py`'s options and its baseline records, checked without starting any service.

The benchmark points DATABASE_URL at its own database when imported, so it is imported in a child process,
never into the test session.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_defaults_are_the_products_window_against_a_10000_record_baseline():
    result = run_python("import json, benchmarks.sizing as s; print(json.dumps(vars(s.parse_args([]))))")
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)
    assert options["sample_size"] == 2000
    assert options["baseline_size"] == 10_000
    assert options["baseline_texts"] == 1500
    assert options["windows"] == 1


def test_baseline_size_is_parsed_and_bounded_by_what_the_product_accepts():
    result = run_python("import benchmarks.sizing as s; "
                        "print(s.parse_args(['--baseline-size', '20000', '--baseline-texts', '0']).baseline_size)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "20000"
    for size in ("50", "50001"):
        refused = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sizing.py"), "--baseline-size", size],
                                 cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                                 text=True, timeout=120)
        assert refused.returncode == 2
        assert "--baseline-size must lie between 100 and 50,000" in refused.stderr


def test_baseline_records_repeat_their_texts_as_traffic_does():
    result = run_python(
        "import json, random\n"
        "from datetime import UTC, datetime\n"
        "import benchmarks.sizing as s\n"
        "pool = s.sentences()\n"
        "start = datetime(2026, 1, 1, tzinfo=UTC)\n"
        "repeated = s.baseline_records(random.Random(7), pool, n=2000, distinct=100, start=start)\n"
        "fresh = s.baseline_records(random.Random(7), pool, n=2000, distinct=0, start=start)\n"
        "print(json.dumps({name: {'n': len(rows), 'prompts': len({r['prompt'] for r in rows}),\n"
        "                         'responses': len({r['response'] for r in rows}),\n"
        "                         'pairs': len({(r['prompt'], r['response']) for r in rows}),\n"
        "                         'ids': len({r['external_id'] for r in rows}),\n"
        "                         'first': rows[0]['timestamp'], 'last': rows[-1]['timestamp']}\n"
        "                  for name, rows in (('repeated', repeated), ('fresh', fresh))}))\n")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    repeated, fresh = counts["repeated"], counts["fresh"]
    assert repeated["n"] == repeated["ids"] == 2000
    # At most the 100 drawn texts each (a few of the drawn prompts are the same FAQ prompt), nearly all used.
    assert 80 <= repeated["prompts"] <= 100
    assert 95 <= repeated["responses"] <= 100
    # Prompts and responses are drawn independently: a prompt gets different answers. 2,000 draws of ~10,000
    # possible pairs give ~1,810 distinct ones; prompts tied to their responses would give at most 100.
    assert repeated["pairs"] > 1700
    # Without repeats every response is fresh, and a fifth of prompts are FAQ prompts.
    assert fresh["responses"] == 2000
    assert 1500 < fresh["prompts"] < 1800
    assert repeated["first"].startswith("2026-01-01T00:00") and repeated["last"].startswith("2026-01-01T23:")

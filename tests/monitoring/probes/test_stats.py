"""Probe statistics: Wilson intervals and McNemar's exact test against independent oracles, and error rates.

The error rates are measured on simulated paired runs of a temperature-0 model: each of 150 items has a fixed
verdict (80% pass), except 10% flaky items that pass or fail on a fair coin every run, as items whose answer
changes between identical runs do. A regression makes 15 of the passing items fail (a 10-point drop). Both
behaviour signals (against the previous run and against the base model) go through the drift policy's Holm
correction and tiers, so what is counted is what would raise an alert.
"""
from fractions import Fraction
from math import comb

import numpy as np
import pytest

from monitoring.drift import Policy, assign_severity
from monitoring.probes.stats import (
    BASE_SIGNAL,
    BEHAVIOUR_SIGNAL,
    Verdict,
    behaviour_signal,
    compare_paired,
    flaky_items,
    mcnemar_exact,
    summarise,
    wilson_interval,
)

ITEMS = 150


def _exact_tail(lost: int, gained: int) -> float:
    """P(X >= lost) for X ~ Binomial(lost + gained, 1/2), by exact enumeration in rational arithmetic."""
    n = lost + gained
    return float(sum(Fraction(comb(n, k), 2 ** n) for k in range(lost, n + 1))) if n else 1.0


@pytest.mark.parametrize(("passed", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_intervals_match_the_published_values(passed, n, low, high):
    interval = wilson_interval(passed, n)
    assert interval == pytest.approx((low, high), abs=1e-4)


def test_a_rate_of_nothing_graded_has_no_interval():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(("lost", "gained", "expected"), [
    (8, 0, 1 / 256), (9, 1, 11 / 1024), (0, 5, 1.0), (0, 0, 1.0), (3, 3, 0.65625), (1, 0, 0.5)])
def test_mcnemar_exact_has_the_known_answers(lost, gained, expected):
    assert mcnemar_exact(lost, gained) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_exact_agrees_with_exact_enumeration_on_every_small_table():
    for lost in range(0, 41):
        for gained in range(0, 41):
            assert mcnemar_exact(lost, gained) == pytest.approx(_exact_tail(lost, gained), rel=1e-9, abs=1e-300)


def test_paired_comparison_leaves_out_items_whose_call_failed():
    reference = {"a": True, "b": True, "c": False, "d": None, "e": True}
    candidate = {"a": False, "b": True, "c": True, "d": False, "e": None, "f": True}
    compared = compare_paired(reference, candidate)
    assert (compared.paired, compared.lost, compared.gained) == (3, 1, 1)
    assert compared.drop == 0.0 and compared.reference_rate == pytest.approx(2 / 3)


def test_summary_counts_failed_calls_apart_from_failed_answers():
    verdicts = [Verdict("s", "math", "1", True), Verdict("s", "math", "2", False), Verdict("s", "math", "3", None),
                Verdict("t", "tone", "4", True)]
    summary = summarise(verdicts)
    assert summary["overall"]["graded"] == 3 and summary["overall"]["errors"] == 1
    assert summary["sets"]["s"]["categories"]["math"]["pass_rate"] == 0.5
    assert summary["sets"]["t"]["pass_rate"] == 1.0


def test_an_item_is_flaky_when_its_answer_changes_between_runs():
    history = [{"a": "22", "b": "Oslo", "c": "x"}, {"a": "22", "b": "Oslo.", "c": "x"}, {"a": "22 ", "b": "Oslo"}]
    assert flaky_items(history) == ["b"]


def _run(rng: np.random.Generator, fixed: np.ndarray, flaky: np.ndarray) -> np.ndarray:
    verdicts = fixed.copy()
    verdicts[flaky] = rng.random(flaky.sum()) < 0.5
    return verdicts


def _population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    fixed = rng.random(ITEMS) < 0.8
    flaky = np.zeros(ITEMS, dtype=bool)
    flaky[rng.choice(ITEMS, size=ITEMS // 10, replace=False)] = True
    return fixed, flaky


def _as_map(verdicts: np.ndarray) -> dict[str, bool]:
    return {str(i): bool(v) for i, v in enumerate(verdicts)}


def _severity(history: list[np.ndarray], base: np.ndarray, now: np.ndarray) -> dict:
    """Grade `now` as a probe run does: flaky items known from `history` left out against the previous run."""
    known_flaky = set(flaky_items([{key: str(v) for key, v in _as_map(run).items()} for run in history]))
    signals = [behaviour_signal(BEHAVIOUR_SIGNAL, compare_paired(_as_map(history[-1]), _as_map(now),
                                                                 exclude=known_flaky)),
               behaviour_signal(BASE_SIGNAL, compare_paired(_as_map(base), _as_map(now)))]
    graded, overall = assign_severity(signals, Policy())
    return {"overall": overall, **{signal.name: signal.severity for signal in graded}}


def _history(rng, fixed, flaky, runs: int) -> list[np.ndarray]:
    return [_run(rng, fixed, flaky) for _ in range(runs)]


@pytest.mark.parametrize("history_runs", [1, 4])
def test_no_regression_alarms_in_at_most_one_percent_of_200_runs(history_runs):
    alarms = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        fixed, flaky = _population(rng)
        outcome = _severity(_history(rng, fixed, flaky, history_runs), _run(rng, fixed, flaky),
                            _run(rng, fixed, flaky))
        alarms += outcome["overall"] != "ok"
    assert alarms <= 2, f"{alarms} of 200 runs without regression alarmed"


def _detections(history_runs: int) -> int:
    detected = 0
    for seed in range(200):
        rng = np.random.default_rng(10_000 + seed)
        fixed, flaky = _population(rng)
        history, base = _history(rng, fixed, flaky, history_runs), _run(rng, fixed, flaky)
        regressed = fixed.copy()
        passing = np.flatnonzero(fixed & ~flaky)
        regressed[rng.choice(passing, size=ITEMS // 10, replace=False)] = False
        outcome = _severity(history, base, _run(rng, regressed, flaky))
        detected += outcome[BEHAVIOUR_SIGNAL] != "ok"
    return detected


def test_a_ten_point_drop_on_150_items_is_detected_in_at_least_90_percent_of_200_runs():
    # Four earlier runs of the endpoint name most coin-flip items, which then add no noise to the test.
    detected = _detections(history_runs=4)
    assert detected >= 180, f"a 10-point drop was detected in {detected} of 200 runs"


def test_without_a_history_the_coin_flip_items_cost_power():
    # One earlier run cannot show an item changing: every flaky item stays in, and fewer drops are caught.
    assert 120 <= _detections(history_runs=1) < _detections(history_runs=4)

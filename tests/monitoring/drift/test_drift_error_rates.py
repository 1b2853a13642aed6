"""Error rates of the prompt signals on real sentence embeddings, with texts repeating as in traffic.

Acceptance (issue 11), at alpha = 0.01 with 10,000-record baselines and 2,000-record windows:
- on 200 no-drift windows per repeat scenario, each signal's p-values (prompt drift, topic novelty)
  and the combined alarm fall below 0.01 in at most 1.5% of windows, before any effect tier, and a
  one-sided KS test finds them no smaller than uniform at 0.001 (the tests inside prompt drift get
  the bound an exact 1% test meets, 2.5%);
- a 5% new topic is detected in at least 90% of 2,000-record windows and 99% of 5,000-record ones;
- a 10% new topic is detected in at least 99% of 2,000-record windows, whether the baseline
  repeats itself or holds each text once; topic novelty alone fires on it as often.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import stats

from tests.monitoring.drift.traffic import ALPHA, BURSTS, NEW_TOPICS, NO_DRIFT, TrafficPool, run_windows

pytestmark = pytest.mark.slow

NO_DRIFT_WINDOWS = 200
TESTS = ("classifier", "chi2", "prompt_drift", "novelty", "alarm")


def _rate(results: list[dict], key: str) -> float:
    """Share of windows where the test `key` is significant at alpha."""
    return float(np.mean([r[key] < ALPHA for r in results]))


def _summary(results: list[dict]) -> str:
    """All tests' rejection rates, for assertion messages."""
    return ", ".join(f"{key} {_rate(results, key):.1%}" for key in TESTS)


@cache
def _no_drift(name: str) -> tuple[dict, ...]:
    """The 200 no-drift windows of a scenario, computed once per session."""
    seed, population, kwargs = NO_DRIFT[name]
    pool = TrafficPool()
    return tuple(run_windows(pool, scenario=population, seed=seed, windows=NO_DRIFT_WINDOWS, **kwargs))


# The bound is for signals and the alarm; the two tests inside prompt drift get a bound that a test
# with exactly a 1% error rate meets in 98% of 200-window runs (binomial: at most 5 of 200).
BOUNDS = {"prompt_drift": 0.015, "novelty": 0.015, "alarm": 0.015, "classifier": 0.025, "chi2": 0.025}
# Where the baseline holds each text once, the tests compare the two sides as sets of texts on the same
# footing (monitoring/drift/sampling.py, _sets_sample). Before that, the window's one-side texts leaned to the
# rare ones and seed 404 measured chi-square 3.0%, novelty 2.5%, alarm 3.0% of 200 windows below 0.01; now
# 0.5-1.0% on seeds 404 and 4040 alike.


def _no_drift_cases():
    """Every (scenario, test) pair."""
    for scenario in sorted(NO_DRIFT):
        for test in TESTS:
            yield pytest.param(scenario, test, id=f"{scenario}-{test}")


@pytest.mark.parametrize(("scenario", "test"), list(_no_drift_cases()))
def test_no_drift_p_values_stay_below_one_and_a_half_percent_at_alpha(traffic_pool, scenario, test):
    results = _no_drift(scenario)
    measured = _rate(results, test)
    assert measured <= BOUNDS[test], f"{scenario} / {test}: {measured:.1%} below {ALPHA} ({_summary(results)})"


@pytest.mark.parametrize("test", ("classifier", "chi2", "prompt_drift", "novelty"))
@pytest.mark.parametrize("scenario", sorted(NO_DRIFT))
def test_no_drift_p_values_are_not_smaller_than_uniform(traffic_pool, scenario, test):
    # One-sided: the KS test rejects when p-values are stochastically smaller than uniform, the
    # direction that makes false alarms. A Holm minimum piles up at one by design, and where the
    # baseline holds each text once most window texts are shared and carry no evidence, so those
    # p-values are conservative (larger than uniform), which a two-sided KS would call a failure.
    p_values = [r[test] for r in _no_drift(scenario)]
    ks = stats.kstest(p_values, "uniform", alternative="greater")
    assert ks.pvalue >= 0.001, f"{scenario} / {test}: KS p = {ks.pvalue:.2g}, statistic {ks.statistic:.3f}"


def test_a_five_percent_new_topic_is_detected_in_ninety_percent_of_2000_record_windows(traffic_pool):
    results = run_windows(traffic_pool, scenario="lognormal", seed=606, windows=100, share=0.05)
    measured = _rate(results, "alarm")
    per_topic = {t: f"{np.mean([r['alarm'] < ALPHA for r in results if r['topic'] == t]):.0%}" for t in NEW_TOPICS}
    assert measured >= 0.90, f"detected {measured:.1%} of {len(results)} windows; per topic {per_topic}; {_summary(results)}"


def test_a_five_percent_new_topic_is_detected_in_ninety_nine_percent_of_5000_record_windows(traffic_pool):
    results = run_windows(traffic_pool, scenario="lognormal", seed=707, windows=100, n=5000, share=0.05)
    measured = _rate(results, "alarm")
    assert measured >= 0.99, f"detected {measured:.1%} of {len(results)} windows; {_summary(results)}"


@pytest.mark.parametrize("scenario", [
    # With plain Holm 98 of 100 (novelty alone 100 at 0.01, but Holm halved its alpha); weighted, 99.
    "lognormal",
    # A baseline of distinct texts (monitoring/drift/sampling.py, _balanced_sets): every window text the baseline
    # lacks is kept and texts on both sides are dealt to one side by the balance, so the new topic loses none of
    # its texts. Novelty and alarm 100% on seeds 808 and 40401. Before, the window's texts were thinned by their
    # counts (a new text seen twice kept with probability 1/2) and the baseline's by 1/1.5: 86% (novelty 87%).
    # Tried before and not kept: one shared uniform draw per text for both sides' thinning (94%); shared texts
    # as unlabelled points of the neighbour graph (91-99%, with 2.0% no-drift alarms elsewhere); no thinning at
    # all (100%, but 2.5% of the seed-404 no-drift windows below 0.01: a one-side text's side then depends on
    # its popularity, so the labels are not exchangeable).
    "baseline_without_repeats",
])
def test_a_ten_percent_new_topic_is_detected_in_ninety_nine_percent_of_2000_record_windows(traffic_pool, scenario):
    results = run_windows(traffic_pool, scenario=scenario, seed=808, windows=100, share=0.10)
    assert _rate(results, "alarm") >= 0.99, f"{scenario}: {_summary(results)}"
    # Topic novelty fires on a same-language new topic by itself.
    assert _rate(results, "novelty") >= 0.99, f"{scenario}: {_summary(results)}"


def test_retry_bursts_do_not_mask_a_five_percent_new_topic(traffic_pool):
    results = run_windows(traffic_pool, scenario="lognormal", seed=909, windows=60, share=0.05, **BURSTS)
    measured = _rate(results, "alarm")
    assert measured >= 0.90, f"detected {measured:.1%} of {len(results)} windows; {_summary(results)}"


def test_a_ten_percent_new_topic_names_itself(traffic_pool):
    results = run_windows(traffic_pool, scenario="lognormal", seed=1010, windows=12, share=0.10, baselines=3)
    pool = traffic_pool
    for result in results:
        topic = result["emerging"][0]
        new_texts = {pool.texts[i] for i in pool.new[result["topic"]]}
        # The largest emerging group is the new topic: its examples come from it, it holds most of
        # the new topic's share, it has a name and the baseline held almost nothing like it.
        assert len(topic["examples"]) == 3 and set(topic["examples"]) <= new_texts, (result["topic"], topic)
        # A new topic may come out as two neighbouring groups; the largest holds a good part of it.
        assert 0.02 <= topic["share"] <= 0.15, topic
        assert len(topic["terms"]) >= 3, topic
        if result["topic"] != "execmodel":
            # The execution model (scopes, blocks, binding of names) is explained again in the baseline's
            # own "global", "nonlocal" and "import" topics, so its members have baseline texts close by
            # and it may fairly come out as a known kind that grew; the other three are new.
            assert topic["kind"] == "new", topic

"""The material-degradation determination: relative drop with its interval, judged against the threshold."""
import pytest

from reports.selectors.degradation import ScoreStats, determination, relative_drop

BASELINE = ScoreStats(n=10_000, mean=0.80, sd=0.10)


def test_a_known_drop_has_the_right_estimate_and_an_interval_around_it():
    drop = relative_drop(baseline=BASELINE, window=ScoreStats(n=10_000, mean=0.60, sd=0.10))

    assert drop["drop"] == pytest.approx(0.25)
    # Delta method: sd of the ratio = sqrt(0.1²/1e4 + 0.75² · 0.1²/1e4) / 0.8 ≈ 0.0015625; ± 1.96 of it.
    assert drop["ci_high"] - drop["drop"] == pytest.approx(1.959964 * 0.0015625, rel=1e-3)
    assert drop["ci_low"] < drop["drop"] < drop["ci_high"]


def test_an_interval_wholly_above_the_threshold_is_material():
    drop = relative_drop(baseline=BASELINE, window=ScoreStats(n=5_000, mean=0.68, sd=0.10))  # 15% drop

    assert determination(drop=drop, threshold=0.10)["outcome"] == "material"


def test_an_interval_wholly_at_or_below_the_threshold_is_not_material():
    drop = relative_drop(baseline=BASELINE, window=ScoreStats(n=5_000, mean=0.78, sd=0.10))  # 2.5% drop

    assert determination(drop=drop, threshold=0.10)["outcome"] == "not_material"


def test_an_interval_that_contains_the_threshold_is_inconclusive():
    drop = relative_drop(baseline=BASELINE, window=ScoreStats(n=20, mean=0.72, sd=0.10))  # 10% drop, few records

    outcome = determination(drop=drop, threshold=0.10)

    assert drop["ci_low"] < 0.10 < drop["ci_high"]
    assert outcome["outcome"] == "inconclusive"
    assert "10%" in outcome["explanation"]


def test_a_configured_threshold_is_applied_instead_of_ten_percent():
    drop = relative_drop(baseline=BASELINE, window=ScoreStats(n=5_000, mean=0.68, sd=0.10))  # 15% drop

    assert determination(drop=drop, threshold=0.20)["outcome"] == "not_material"


@pytest.mark.parametrize("baseline, window", [
    (ScoreStats(n=0, mean=None, sd=None), ScoreStats(n=100, mean=0.5, sd=0.1)),
    (BASELINE, ScoreStats(n=1, mean=0.5, sd=None)),
    (ScoreStats(n=100, mean=0.0, sd=0.1), ScoreStats(n=100, mean=0.5, sd=0.1)),
])
def test_without_enough_data_or_a_positive_baseline_no_determination_is_made(baseline, window):
    drop = relative_drop(baseline=baseline, window=window)

    assert drop["computable"] is False and drop["drop"] is None
    assert determination(drop=drop, threshold=0.10)["outcome"] == "insufficient_data"

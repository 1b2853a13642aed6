"""Reading the measured power curves: the smallest share detected 90% of the time, by window size."""
import pytest

from monitoring.drift.power import share_for_window, smallest_detected_share
from monitoring.selectors.power import detectable_share


def test_the_crossing_is_interpolated_between_the_shares_around_it():
    # 60% at 3%, 100% at 5%: 90% is reached three quarters of the way, at 4.5%.
    assert smallest_detected_share([0.02, 0.03, 0.05], [0.1, 0.6, 1.0]) == pytest.approx(0.045)


def test_a_dip_after_the_first_crossing_moves_the_answer_to_the_last_one():
    assert smallest_detected_share([0.02, 0.05, 0.07, 0.10], [0.95, 0.8, 0.9, 1.0]) == pytest.approx(0.07)


def test_a_curve_that_never_reaches_the_level_has_no_answer_and_one_always_above_it_the_smallest_share():
    assert smallest_detected_share([0.05, 0.1], [0.2, 0.5]) is None
    assert smallest_detected_share([0.02, 0.1], [0.95, 1.0]) == 0.02


def test_window_sizes_interpolate_in_log_size_and_larger_windows_keep_the_largest_measured_share():
    sizes, shares = [1000, 4000], [0.10, 0.04]
    assert share_for_window(sizes, shares, 2000) == pytest.approx(0.07)  # halfway in log(size)
    assert share_for_window(sizes, shares, 50_000) == 0.04
    assert share_for_window(sizes, shares, 500) is None


def test_the_policy_selector_reads_the_measured_table():
    small, large = detectable_share(sample_size=500), detectable_share(sample_size=5000)
    assert set(small) >= {"new_topic", "style", "language", "quality_drop", "window_records"}
    # More records never need a larger share to be seen.
    for kind in ("new_topic", "language", "quality_drop"):
        assert large[kind] is not None and (small[kind] is None or large[kind] <= small[kind])

"""Known-answer tests of the individual drift statistics, and determinism under a seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from monitoring.drift import (
    BaselineData,
    ClusterModel,
    Policy,
    WindowData,
    assign_severity,
    classifier_two_sample_test,
    cluster_occupancy_test,
    feedback_drop,
    fit_clusters,
    fit_tfidf,
    js_divergence,
    label_drift,
    quality_drop,
    run_signals,
    top_terms,
    topic_novelty,
)
from monitoring.drift.classifier import weighted_auc
from monitoring.drift.sampling import as_groups, both_sides_balance, paired_sample, records_ratio


def _unit(rng: np.random.Generator, n: int, d: int = 16, shift: float = 0.0) -> np.ndarray:
    """Random unit vectors, optionally shifted along the first axis before normalising."""
    x = rng.standard_normal((n, d))
    x[:, 0] += shift
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _blobs(rng: np.random.Generator, centres: np.ndarray, n: int, spread: float = 0.15) -> np.ndarray:
    """Unit vectors scattered around the given unit centres, equally many per centre."""
    x = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, centres.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# Eight baseline topics along the first eight axes; a new topic along the twelfth.
KNOWN = np.eye(16)[:8]
NEW = np.eye(16)[11:12]


# --- clusters ---------------------------------------------------------------------------------


def test_cluster_model_round_trips_through_json():
    rng = np.random.default_rng(0)
    model = fit_clusters(_unit(rng, 2000), k=8, seed=3)
    again = ClusterModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_allclose(again.centroids, model.centroids)
    np.testing.assert_allclose(again.radii, model.radii)
    np.testing.assert_array_equal(again.counts, model.counts)
    assert (again.holdout_size, again.holdout_outside) == (model.holdout_size, model.holdout_outside)
    assert again.centroids.dtype == np.float32


def test_cluster_model_from_dict_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes disagree"):
        ClusterModel.from_dict({"centroids": [[1.0, 0.0]], "radii": [0.1, 0.2], "counts": [3]})


def test_fitted_clusters_have_unit_centroids_and_count_every_record():
    rng = np.random.default_rng(1)
    x = _unit(rng, 3000)
    model = fit_clusters(x, k=10, seed=0)
    assert model.centroids.shape == (10, 16)
    np.testing.assert_allclose(np.linalg.norm(model.centroids, axis=1), 1.0, rtol=1e-5)
    assert model.counts.sum() == 3000
    assert np.all(model.radii > 0)
    assert model.holdout_size == 600


def test_held_out_texts_leave_about_one_percent_outside_the_radii():
    rng = np.random.default_rng(2)
    model = fit_clusters(_unit(rng, 20_000), k=16, seed=0)
    fresh = _unit(rng, 20_000)
    result = topic_novelty(model, fresh)
    # Split conformal: a fresh text from the same distribution lies outside with probability
    # about 1%; 20,000 fresh texts pin the realised rate down to +-0.2%.
    assert 0.004 <= result.effect_size <= 0.02, result.details
    assert result.p_value > 0.01


def test_fit_clusters_collapses_duplicates_before_fitting():
    rng = np.random.default_rng(3)
    x = _unit(rng, 500)
    repeated = np.concatenate([x, np.repeat(x[:5], 400, axis=0)])
    model = fit_clusters(repeated, k=4, seed=0)
    # 500 distinct texts: 100 held out whatever the 2,000 repeats of five of them.
    assert model.holdout_size == 100
    assert model.counts.sum() == len(repeated)


def test_fit_clusters_refuses_a_tiny_baseline():
    with pytest.raises(ValueError, match="baseline too small"):
        fit_clusters(_unit(np.random.default_rng(4), 30), k=8)


def test_js_divergence_known_values():
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_divergence([3, 1], [3, 1]) == pytest.approx(0.0)
    # 1/2 (KL(p||m) + KL(q||m)) in bits for p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4).
    expected = 0.5 * np.log2(4 / 3) + 0.5 * (0.5 * np.log2(0.5 / 0.75) + 0.5 * np.log2(0.5 / 0.25))
    assert js_divergence([2, 0], [1, 1]) == pytest.approx(expected)


def test_occupancy_test_without_baseline_rows_compares_raw_counts():
    rng = np.random.default_rng(5)
    model = fit_clusters(_unit(rng, 4000), k=6, seed=0)
    same = cluster_occupancy_test(model, _unit(rng, 2000))
    shifted = cluster_occupancy_test(model, _unit(rng, 2000, shift=1.5))
    assert same["p_value"] > 0.01
    assert shifted["p_value"] < 1e-6
    assert shifted["js_divergence"] > same["js_divergence"]
    assert shifted["repeat_robust"] is False


# --- classifier test ---------------------------------------------------------------------------


def test_weighted_auc_known_values():
    assert weighted_auc(np.array([0.0, 1.0]), np.array([1, 1]), np.array([2.0, 3.0]), np.array([1, 1])) == 1.0
    assert weighted_auc(np.array([1.0]), np.array([1]), np.array([1.0]), np.array([1])) == 0.5
    # Positive 0.5 beats negative 0 (weight 3) and loses to negative 1 (weight 1): 3/4.
    assert weighted_auc(np.array([0.0, 1.0]), np.array([3, 1]), np.array([0.5]), np.array([2])) == 0.75


def test_paired_sample_balances_records_then_collapses_duplicates():
    rng = np.random.default_rng(6)
    baseline_groups = np.repeat(np.arange(100), 100)  # 10,000 records of 100 texts
    window_groups = np.concatenate([np.arange(50), np.full(950, 7)])
    sample = paired_sample(baseline_groups, window_groups, max_per_side=5000, rng=rng)
    assert sample.n_records == 1000
    assert sample.baseline.counts.sum() == 1000 == sample.window.counts.sum()
    assert len(sample.window.groups) == 50
    assert sample.window.counts[sample.window.groups == 7][0] == 951


def _distinct_baseline_and_window(rng: np.random.Generator, popularity: np.ndarray, source: int, window: int):
    """A baseline of the distinct texts of `source` records and a window of `window` records."""
    baseline = np.unique(rng.choice(len(popularity), source, p=popularity))
    return baseline, rng.choice(len(popularity), window, p=popularity)


def test_the_records_behind_a_baseline_of_distinct_texts_are_estimated_from_the_window():
    # Known answer: the baseline is the distinct texts of 3,000 records, the window 2,000 records, so 1.5.
    rng = np.random.default_rng(30)
    popularity = rng.lognormal(0.0, 1.0, 4000)
    popularity /= popularity.sum()
    estimates = []
    for _ in range(20):
        baseline, window = _distinct_baseline_and_window(rng, popularity, 3000, 2000)
        _, counts = np.unique(window, return_counts=True)
        estimates.append(records_ratio(counts, len(baseline)))
    assert np.mean(estimates) == pytest.approx(1.5, abs=0.05)
    assert max(estimates) - min(estimates) < 0.3


def test_a_baseline_of_distinct_texts_is_compared_with_the_window_as_sets_whatever_the_popularity():
    # Under "no drift" a text seen on one side only must be on either side with probability one half, for
    # rare and popular texts alike. Balancing records (the general path) leaves it near a quarter for rare texts.
    rng = np.random.default_rng(31)
    popularity = rng.lognormal(0.0, 1.0, 3000)
    popularity /= popularity.sum()
    popular = popularity > np.median(popularity)
    on_window = {True: [0, 0], False: [0, 0]}
    for _ in range(200):
        baseline, window = _distinct_baseline_and_window(rng, popularity, 3000, 2000)
        sample = paired_sample(baseline, window, max_per_side=5000, rng=rng)
        assert sample.texts_once and np.all(sample.window.counts == 1)
        shared = np.intersect1d(sample.baseline.groups, sample.window.groups)
        for side, groups in ((1, sample.window.groups), (0, sample.baseline.groups)):
            one_side = groups[~np.isin(groups, shared)]
            for kind in (True, False):
                on_window[kind][side] += int(np.sum(popular[one_side] == kind))
    for kind, (baseline_only, window_only) in on_window.items():
        share = window_only / (window_only + baseline_only)
        assert share == pytest.approx(0.5, abs=0.03), (kind, share)


@pytest.mark.parametrize("rho", [1.05, 1.5, 1.9])
def test_the_balance_leaves_both_sides_the_same_one_side_texts_at_every_popularity(rho):
    # Known answer: at expected window count x, window-only texts the baseline lacks come with probability
    # e^(-rho x) (1 - e^-x); dealing texts on both sides by d_y must take that back at every x, and a text
    # the window lacks goes to the baseline's side with probability 1 / rho (the limit x -> 0).
    d = both_sides_balance(rho)
    assert np.all(np.abs(d) <= 1.0)
    assert d[0] == pytest.approx(-1 / rho, abs=2e-3)
    x = np.geomspace(0.001, 80.0, 3001)
    gap = np.exp(-rho * x) * (1 - np.exp(-x)) + (1 - np.exp(-rho * x)) * (
        stats.poisson.pmf(np.arange(len(d))[None, :], x[:, None]) @ d)
    assert np.abs(gap).max() < 1e-4


def test_every_window_text_the_baseline_lacks_is_kept_when_the_baseline_stands_for_more_traffic():
    # A new topic's texts are window-only: none of them may be thinned away (ratio about 1.5 here).
    rng = np.random.default_rng(33)
    popularity = rng.lognormal(0.0, 1.0, 3000)
    popularity /= popularity.sum()
    baseline, window = _distinct_baseline_and_window(rng, popularity, 3000, 2000)
    new_texts = np.arange(5000, 5060).repeat(3)
    window = np.concatenate([window[: len(window) - len(new_texts)], new_texts])
    sample = paired_sample(baseline, window, max_per_side=5000, rng=rng)
    assert 1.2 < sample.records_ratio < 1.8
    assert set(np.setdiff1d(window, baseline)) <= set(sample.window.groups)
    assert not np.isin(new_texts, sample.baseline.groups).any()


@pytest.mark.parametrize("max_per_side", [5000, 300])
def test_one_side_texts_are_on_either_side_with_probability_one_half_in_every_popularity_quartile(max_per_side):
    # The balance is exact up to its cut series; quartiles of popularity (and a cap that thins the sample)
    # must each stay at one half.
    rng = np.random.default_rng(34)
    popularity = rng.lognormal(0.0, 1.0, 3000)
    popularity /= popularity.sum()
    quartile = np.searchsorted(np.quantile(popularity, [0.25, 0.5, 0.75]), popularity)
    tallies = np.zeros((4, 2))
    for _ in range(200):
        baseline, window = _distinct_baseline_and_window(rng, popularity, 3000, 2000)
        sample = paired_sample(baseline, window, max_per_side=max_per_side, rng=rng)
        assert len(sample.window.groups) <= 1.2 * max_per_side
        shared = np.intersect1d(sample.baseline.groups, sample.window.groups)
        for side, groups in ((1, sample.window.groups), (0, sample.baseline.groups)):
            one_side = groups[~np.isin(groups, shared)]
            np.add.at(tallies[:, side], quartile[one_side], 1)
    shares = tallies[:, 1] / tallies.sum(axis=1)
    assert shares == pytest.approx([0.5] * 4, abs=0.03), shares


def test_a_baseline_with_repeats_keeps_the_record_balanced_sample():
    rng = np.random.default_rng(32)
    sample = paired_sample(np.repeat(np.arange(50), 3), np.arange(100), max_per_side=5000, rng=rng)
    assert not sample.texts_once
    assert sample.n_records == 100


def test_identical_rows_form_one_group_without_explicit_groups():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    groups = as_groups(None, x)
    assert groups[0] == groups[2] != groups[1]


def test_classifier_test_tells_shifted_vectors_apart():
    rng = np.random.default_rng(7)
    result = classifier_two_sample_test(_unit(rng, 3000), _unit(rng, 1500, shift=0.6), seed=0)
    assert result["p_value"] < 1e-6
    assert result["auc"] > 0.6
    assert result["drifted_share"] == pytest.approx(2 * result["auc"] - 1)


def test_classifier_test_is_quiet_without_shift():
    rng = np.random.default_rng(8)
    p_values = [classifier_two_sample_test(_unit(rng, 2000), _unit(rng, 1000), seed=s)["p_value"] for s in range(10)]
    assert min(p_values) > 0.001, p_values


def test_a_window_of_baseline_texts_only_carries_no_evidence():
    rng = np.random.default_rng(9)
    x = _unit(rng, 200)
    result = classifier_two_sample_test(np.tile(x, (5, 1)), np.tile(x, (3, 1)), seed=0)
    assert result["p_value"] == 1.0
    assert result["shared_texts"] >= 190  # the balanced baseline sample may miss a text or two


# --- novelty and topic naming ------------------------------------------------------------------


def test_topic_novelty_finds_and_describes_a_new_cluster():
    rng = np.random.default_rng(10)
    model = fit_clusters(_blobs(rng, KNOWN, 4000), k=8, seed=0)
    window = np.concatenate([_blobs(rng, KNOWN, 1700), _blobs(rng, NEW, 300)])
    texts = [f"ordinary question {i}" for i in range(1700)] + [f"refund invoice for order {i}" for i in range(300)]
    result = topic_novelty(model, window, texts, tfidf=fit_tfidf(["ordinary question about the order"] * 3), seed=0)
    assert result.p_value < 1e-10
    assert result.effect_size >= 0.12
    topic = result.details["emerging_topics"][0]
    assert topic["texts"] >= 250
    assert topic["terms"][:2] == ["invoice", "refund"]
    assert len(topic["examples"]) == 3 and all(e.startswith("refund") for e in topic["examples"])
    json.dumps(result.to_dict())


def test_top_terms_prefer_words_the_baseline_did_not_use():
    tfidf = fit_tfidf(["how do I reset my password", "where is my password reset link", "change my email"])
    terms = top_terms(["password for the new wallet", "wallet password lost", "my wallet is empty"], tfidf)
    assert terms[0] == "wallet"
    assert "password" in terms


def test_repeats_of_one_text_count_once_for_novelty():
    rng = np.random.default_rng(11)
    model = fit_clusters(_blobs(rng, KNOWN, 4000), k=8, seed=0)
    odd = _blobs(rng, NEW, 1)
    window = np.concatenate([_blobs(rng, KNOWN, 1000), np.repeat(odd, 500, axis=0)])
    result = topic_novelty(model, window)
    assert result.details["novel_share_records"] > 0.3
    assert result.p_value > 0.01


# --- quality, feedback, labels -----------------------------------------------------------------


def _rewards(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """Beta(7, 3) rewards (mean 0.7, skewed), scaled to simulate a drop."""
    return rng.beta(7.0, 3.0, n) * scale


@pytest.mark.parametrize("seed", range(10))
def test_a_drop_well_past_the_stop_tier_reaches_stop(seed):
    rng = np.random.default_rng(seed)
    signal = quality_drop(_rewards(rng, 10_000), _rewards(rng, 5000, 0.82), seed=seed)
    (result,), overall = run_signals_quality(signal)
    assert overall == "stop", result.details


@pytest.mark.parametrize("seed", range(10))
def test_a_fifteen_percent_drop_shows_the_measured_drop_inside_its_interval(seed):
    rng = np.random.default_rng(100 + seed)
    signal = quality_drop(_rewards(rng, 10_000), _rewards(rng, 5000, 0.85), seed=seed)
    (result,), overall = run_signals_quality(signal)
    assert result.effect_size == pytest.approx(0.15, abs=0.01)
    assert result.effect_size == pytest.approx(result.details["relative_drop"])
    assert result.details["ci_low"] < result.effect_size < result.details["tier_effect"]
    assert overall in ("review", "stop"), result.details


def test_quality_tiers_hold_their_error_rates_over_many_seeds():
    """True drops of 1%, 5% and 15% land in ok, review and stop respectively in at least 95 of 100 windows."""
    expected = {0.99: "ok", 0.95: "review", 0.85: "stop"}
    for scale, severity in expected.items():
        hits = 0
        for seed in range(100):
            rng = np.random.default_rng([300, seed])
            signal = quality_drop(_rewards(rng, 10_000), _rewards(rng, 5000, scale), seed=seed, n_boot=500)
            (_,), overall = run_signals_quality(signal)
            hits += overall == severity
        assert hits >= 95, f"a {1 - scale:.0%} drop reached {severity} in {hits} of 100 windows"


def test_a_ten_percent_drop_is_review_not_stop():
    rng = np.random.default_rng(7)
    signal = quality_drop(_rewards(rng, 10_000), _rewards(rng, 5000, 0.90), seed=7)
    (_,), overall = run_signals_quality(signal)
    assert overall == "review", signal.details


@pytest.mark.parametrize("seed", range(10))
def test_a_one_percent_drop_gives_no_alert(seed):
    rng = np.random.default_rng(200 + seed)
    signal = quality_drop(_rewards(rng, 10_000), _rewards(rng, 5000, 0.99), seed=seed)
    (_,), overall = run_signals_quality(signal)
    assert overall == "ok"


def run_signals_quality(signal):
    """Assign severity to one quality signal under the default policy."""
    return assign_severity([signal], Policy())


def test_quality_drop_matches_welch_and_a_hand_computed_drop():
    baseline = np.array([0.8, 0.9, 0.7, 0.8, 0.85, 0.75])
    window = np.array([0.6, 0.7, 0.65, 0.7, 0.55, 0.6])
    signal = quality_drop(baseline, window, seed=0, n_boot=500)
    welch = stats.ttest_ind(baseline, window, equal_var=False, alternative="greater")
    assert signal.p_value == pytest.approx(welch.pvalue)
    assert signal.details["relative_drop"] == pytest.approx((0.8 - 0.633333) / 0.8, abs=1e-5)
    assert 0 < signal.details["ci_low"] < signal.details["relative_drop"] < signal.details["ci_high"]


def test_quality_drop_refuses_bad_scores():
    with pytest.raises(ValueError, match="NaN"):
        quality_drop(np.array([0.1, np.nan]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="positive baseline mean"):
        quality_drop(np.array([-1.0, -2.0]), np.array([0.1, 0.2]))


def test_feedback_drop_known_answer():
    baseline = np.array([1] * 800 + [-1] * 200)  # 80% positive
    window = np.array([1] * 700 + [-1] * 300)  # 70% positive
    signal = feedback_drop(baseline, window)
    pooled = 0.75
    z = 0.1 / np.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert signal.statistic == pytest.approx(z)
    assert signal.p_value == pytest.approx(stats.norm.sf(z))
    assert signal.effect_size == pytest.approx(0.125)
    assert signal.details["ci_low"] < 0.125 < signal.details["ci_high"]


def test_feedback_rise_is_not_a_drop():
    signal = feedback_drop(np.array([1, -1] * 100), np.array([1] * 150 + [-1] * 50))
    assert signal.effect_size == 0.0
    assert signal.p_value > 0.99


def test_feedback_refuses_values_other_than_plus_minus_one():
    with pytest.raises(ValueError, match=r"only \+1 and -1"):
        feedback_drop(np.array([1, 0, -1]), np.array([1, -1]))


def test_label_drift_known_answer():
    before = np.array([4, 4, 5, 3, 4, 5, 4, 3, 4, 5, 4, 4], dtype=float)
    after = before - np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1])
    signal = label_drift(before, after)
    expected = stats.wilcoxon(after, before, zero_method="pratt")
    assert signal.p_value == pytest.approx(expected.pvalue)
    assert signal.effect_size == pytest.approx(8 / before.sum())
    assert signal.details["direction"] == "stricter"
    assert signal.details["exact_agreement"] == pytest.approx(4 / 12)


def test_unchanged_ratings_are_no_label_drift():
    ratings = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 3.0])
    signal = label_drift(ratings, ratings.copy())
    assert signal.p_value == 1.0 and signal.effect_size == 0.0


def test_label_drift_needs_pairs():
    with pytest.raises(ValueError, match="pairwise"):
        label_drift(np.array([1.0, 2.0]), np.array([1.0]))


# --- the whole run -----------------------------------------------------------------------------


def _run_inputs(seed: int):
    """A baseline and a shifted window with every kind of data."""
    rng = np.random.default_rng(seed)
    prompts = _unit(rng, 3000)
    responses = _unit(rng, 3000)
    baseline = BaselineData(
        prompt_embeddings=prompts,
        prompt_groups=np.arange(3000),
        prompt_clusters=fit_clusters(prompts, k=8, seed=0),
        response_embeddings=responses,
        response_groups=np.arange(3000),
        response_clusters=fit_clusters(responses, k=8, seed=0),
        scores=_rewards(rng, 3000),
        feedback=np.where(rng.random(3000) < 0.8, 1, -1),
        tfidf=fit_tfidf([f"question {i}" for i in range(50)]),
    )
    window = WindowData(
        prompt_embeddings=_unit(rng, 1000, shift=0.3),
        prompt_groups=np.arange(10_000, 11_000),
        prompt_texts=[f"question {i}" for i in range(1000)],
        response_embeddings=_unit(rng, 1000),
        response_groups=np.arange(10_000, 11_000),
        scores=_rewards(rng, 1000, 0.8),
        feedback=np.where(rng.random(1000) < 0.78, 1, -1),
        label_pairs=(np.full(20, 4.0), np.full(20, 4.0) - (rng.random(20) < 0.5)),
    )
    return baseline, window


def test_run_signals_is_deterministic_under_a_seed():
    baseline, window = _run_inputs(12)
    first, severity_first = run_signals(baseline, window, Policy(), seed=5)
    second, severity_second = run_signals(baseline, window, Policy(), seed=5)
    assert [s.to_dict() for s in first] == [s.to_dict() for s in second]
    assert severity_first == severity_second
    json.dumps([s.to_dict() for s in first])


def test_run_signals_runs_every_signal_and_assigns_severities():
    baseline, window = _run_inputs(13)
    signals, overall = run_signals(baseline, window, Policy(), seed=0)
    by_name = {s.name: s for s in signals}
    assert set(by_name) == {"prompt_drift", "response_drift", "quality_drop", "feedback_drop", "topic_novelty", "label_drift"}
    assert all(s.p_adjusted is not None and s.p_adjusted >= s.p_value for s in signals)
    assert by_name["prompt_drift"].p_adjusted < 0.01
    assert by_name["prompt_drift"].severity == "review"  # input drift is capped at review
    assert by_name["quality_drop"].severity == "stop"
    assert overall == "stop"


def test_run_signals_skips_signals_without_data():
    baseline, window = _run_inputs(14)
    window.response_embeddings = None
    window.scores = None
    window.label_pairs = None
    baseline.feedback = None
    signals, _ = run_signals(baseline, window, Policy(), seed=0)
    assert {s.name for s in signals} == {"prompt_drift", "topic_novelty"}


# --- the local nearest-neighbour test ----------------------------------------------------------


def _local(baseline: np.ndarray, window: np.ndarray, seed: int = 0, groups=None):
    from monitoring.drift import local_two_sample_test

    b_groups = np.arange(len(baseline))
    w_groups = np.arange(10**6, 10**6 + len(window)) if groups is None else groups
    sample = paired_sample(b_groups, w_groups, max_per_side=5000, rng=np.random.default_rng(seed))
    return local_two_sample_test(baseline, window, sample, seed=seed)


def test_the_local_test_sees_a_small_tight_new_group_and_flags_its_texts():
    rng = np.random.default_rng(20)
    # Sizes below the test's cap of texts per side, so every text is looked at; 64 dimensions, as sentence
    # embeddings are spread over many (in 16 the known blobs' neighbourhoods clump and the null count varies more).
    known, new = np.eye(64)[:8], np.eye(64)[40:41]
    baseline = _blobs(rng, known, 1000)
    window = np.concatenate([_blobs(rng, known, 900), _blobs(rng, new, 100, spread=0.05)])
    result = _local(baseline, window)
    assert result.p_value < 1e-3
    # Every one of the 100 new texts (window positions 900 and up) is flagged.
    assert np.sum(result.heavy_rows >= 900) == 100
    assert 0.05 <= result.excess_share <= 0.1


def test_the_local_test_holds_its_level_without_a_shift():
    p_values = [_local(_blobs(np.random.default_rng([21, s]), KNOWN, 1500),
                       _blobs(np.random.default_rng([22, s]), KNOWN, 1500), seed=s).p_value for s in range(40)]
    assert np.mean(np.array(p_values) < 0.05) <= 0.1
    assert min(p_values) > 0.001


def test_a_retried_text_counts_once_in_the_local_test():
    rng = np.random.default_rng(23)
    baseline = _blobs(rng, KNOWN, 2000)
    odd = _blobs(rng, NEW, 1)
    window = np.concatenate([_blobs(rng, KNOWN, 1500), np.repeat(odd, 500, axis=0)])
    groups = np.concatenate([np.arange(10**6, 10**6 + 1500), np.full(500, 7)])
    assert _local(baseline, window, groups=groups).p_value > 0.01

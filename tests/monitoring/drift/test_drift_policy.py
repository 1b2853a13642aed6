"""Holm's correction, the monitoring policy and the mapping of signals to severities."""

from __future__ import annotations

import json

import pytest

from monitoring.drift import DEFAULT_TIERS, Policy, SignalResult, assign_severity, holm


def test_holm_matches_hand_computed_values():
    # Sorted p: 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, max(2*0.03, .), max(1*0.04, 0.06).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_is_monotone_and_capped_at_one():
    # Sorted 0.3, 0.4, 0.5 -> 0.9, max(0.8, 0.9), max(0.5, 0.9): a larger p never gets a smaller one.
    assert holm([0.5, 0.4, 0.3]) == pytest.approx([0.9, 0.9, 0.9])
    assert holm([0.7, 0.8]) == pytest.approx([1.0, 1.0])


def test_holm_of_one_p_value_is_that_p_value():
    assert holm([0.0123]) == pytest.approx([0.0123])


def test_holm_of_nothing_is_nothing():
    assert holm([]) == []


def test_holm_keeps_ties_in_input_order():
    assert holm([0.01, 0.01, 0.2]) == pytest.approx([0.03, 0.03, 0.2])


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [-0.1], [1.5]])
def test_holm_refuses_values_that_are_not_p_values(bad):
    with pytest.raises(ValueError, match="p-values must lie in"):
        holm(bad)


def test_weighted_holm_matches_hand_computed_values():
    # Weights 2, 1, 1 (sum 4). p / w: 0.003, 0.02, 0.03, so the order is a, b, c:
    # a: 0.006 * 4 / 2 = 0.012; b: 0.02 * 2 / 1 = 0.04; c: max(0.03 * 1 / 1, 0.04) = 0.04.
    assert holm([0.006, 0.02, 0.03], weights=[2, 1, 1]) == pytest.approx([0.012, 0.04, 0.04])


def test_weighted_holm_with_equal_weights_is_plain_holm():
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p, weights=[3, 3, 3, 3]) == pytest.approx(holm(p))


@pytest.mark.parametrize("weights", [[1.0], [1.0, 0.0], [1.0, -1.0], [1.0, float("inf")]])
def test_weighted_holm_refuses_weights_that_do_not_fit(weights):
    with pytest.raises(ValueError, match="weights must"):
        holm([0.1, 0.2], weights=weights)


def test_a_run_gives_topic_novelty_two_thirds_of_alpha_beside_prompt_drift():
    # Plain Holm would test novelty's 0.006 at alpha / 2 and let it pass; weighted (2 : 1) it is 0.009 < 0.01.
    signals = [_signal("prompt_drift", 0.5, 0.0), _signal("topic_novelty", 0.006, 0.05)]
    out, overall = assign_severity(signals, Policy())
    assert out[1].p_adjusted == pytest.approx(0.009)
    assert out[1].severity == "review" and overall == "review"


def test_default_policy_has_the_seed_tiers_and_caps():
    policy = Policy().validate()
    assert policy.alpha == 0.01
    assert policy.tiers["prompt_drift"] == (0.05, 0.15)
    assert policy.tiers["js_divergence"] == (0.15, 0.25)
    assert policy.tiers["quality_drop"] == (0.05, 0.15)
    assert policy.tiers["topic_novelty"] == (0.02, 0.10)
    assert policy.max_severity["prompt_drift"] == "review"
    assert policy.max_severity["topic_novelty"] == "review"
    assert policy.max_severity["quality_drop"] == "stop"


def test_policy_round_trips_through_json():
    policy = Policy(alpha=0.005, tiers={**DEFAULT_TIERS, "quality_drop": (0.03, 0.1)})
    again = Policy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy


def test_policy_from_a_partial_dict_takes_the_seed_defaults():
    policy = Policy.from_dict({"tiers": {"feedback_drop": [0.1, 0.2]}})
    assert policy.tiers["feedback_drop"] == (0.1, 0.2)
    assert policy.tiers["quality_drop"] == DEFAULT_TIERS["quality_drop"]
    assert policy.alpha == 0.01


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"alpha": 0}, r"alpha must be in \(0, 0.5\]"),
        ({"alpha": 0.9}, r"alpha must be in \(0, 0.5\]"),
        ({"alpha": "0.01"}, "alpha must be a number"),
        ({"tiers": {"quality_drop": [0.2, 0.1]}}, "review threshold 0.2 exceeds stop threshold 0.1"),
        ({"tiers": {"quality_drop": [0.1]}}, r"must be a pair \(review, stop\)"),
        ({"tiers": {"quality_drop": [-0.1, 0.1]}}, "must not be negative"),
        ({"tiers": {"quality_drop": [0.05, float("inf")]}}, "must hold finite numbers"),
        ({"tiers": {"latency": [0.1, 0.2]}}, "unknown tier 'latency'"),
        ({"max_severity": {"prompt_drift": "panic"}}, "must be one of ok, review, stop"),
        ({"max_severity": {"latency": "stop"}}, "unknown signal 'latency'"),
        ({"thresholds": {}}, "unknown policy fields: thresholds"),
    ],
)
def test_policy_validation_names_the_bad_value(data, message):
    with pytest.raises(ValueError, match=message):
        Policy.from_dict(data)


def _signal(name: str, p: float, effect: float, **details) -> SignalResult:
    """A signal with the given p-value and effect size."""
    return SignalResult(name=name, statistic=0.0, p_value=p, effect_size=effect, effect_unit="x", details=details)


def test_an_alert_needs_both_significance_and_effect():
    signals, overall = assign_severity(
        [
            _signal("quality_drop", 1e-6, 0.02),  # significant, effect below review
            _signal("feedback_drop", 0.2, 0.30),  # large effect, not significant
            _signal("label_drift", 1e-6, 0.08),  # both: review
        ],
        Policy(),
    )
    assert [s.severity for s in signals] == ["ok", "ok", "review"]
    assert overall == "review"


def test_significance_is_judged_after_holm_across_the_run():
    # 0.004 alone passes alpha = 0.01, but not after Holm over three signals (0.012).
    signals, overall = assign_severity(
        [_signal("quality_drop", 0.004, 0.5), _signal("feedback_drop", 0.5, 0.0), _signal("label_drift", 0.6, 0.0)],
        Policy(),
    )
    assert signals[0].p_adjusted == pytest.approx(0.012)
    assert signals[0].severity == "ok"
    assert overall == "ok"


def test_input_drift_is_capped_at_review_while_quality_can_stop():
    signals, overall = assign_severity(
        [_signal("prompt_drift", 1e-9, 0.5, js_divergence=0.3), _signal("quality_drop", 1e-9, 0.2)], Policy()
    )
    assert [s.severity for s in signals] == ["review", "stop"]
    assert overall == "stop"


def test_a_policy_may_let_input_drift_stop():
    policy = Policy.from_dict({"max_severity": {"prompt_drift": "stop"}})
    signals, overall = assign_severity([_signal("prompt_drift", 1e-9, 0.2)], policy)
    assert signals[0].severity == "stop"
    assert overall == "stop"


def test_js_divergence_is_a_second_tier_for_embedding_signals():
    signals, _ = assign_severity([_signal("response_drift", 1e-9, 0.0, js_divergence=0.16)], Policy())
    assert signals[0].severity == "review"


def test_tiers_are_reached_at_their_threshold():
    signals, _ = assign_severity([_signal("quality_drop", 1e-9, 0.15), _signal("feedback_drop", 1e-9, 0.05)], Policy())
    assert [s.severity for s in signals] == ["stop", "review"]


def test_a_run_without_signals_is_ok():
    assert assign_severity([], Policy()) == ([], "ok")

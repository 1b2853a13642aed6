"""Monitoring policy and the mapping from signals to ok / review / stop."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from monitoring.drift.multiple import holm
from monitoring.drift.types import SEVERITIES, SIGNAL_NAMES, SignalResult

EMBEDDING_SIGNALS = ("prompt_drift", "response_drift")
# The JS divergence of cluster occupancy is a second effect of the embedding signals, with its own
# tier; DESIGN.md shows real 10% shifts stay near 0.02-0.04, so it only fires on very large shifts.
JS_TIER = "js_divergence"
TIER_KEYS = SIGNAL_NAMES + (JS_TIER,)

# Seed defaults from DESIGN.md's table: review / stop thresholds in each signal's effect unit.
DEFAULT_TIERS: dict[str, tuple[float, float]] = {
    "prompt_drift": (0.05, 0.15),
    "response_drift": (0.05, 0.15),
    JS_TIER: (0.15, 0.25),
    "quality_drop": (0.05, 0.15),
    "feedback_drop": (0.05, 0.15),
    # Novelty's effect is the share of the window's distinct texts gathered in new groups beyond chance:
    # a new topic at 5% of a 2,000-record window measured 0.03-0.04, at 10% 0.05-0.08.
    "topic_novelty": (0.02, 0.10),
    "label_drift": (0.05, 0.15),
    # Drop in the golden sets' pass rate (points / 100): five points is worth a look, ten a stop.
    "model_behaviour": (0.05, 0.10),
    "model_behaviour_base": (0.05, 0.10),
}
# Input drift says "users changed", not "the model got worse", so by default it can only ask for
# a review; quality, feedback and label signals can stop a model.
DEFAULT_MAX_SEVERITY: dict[str, str] = {
    "prompt_drift": "review",
    "response_drift": "review",
    "topic_novelty": "review",
    "quality_drop": "stop",
    "feedback_drop": "stop",
    "label_drift": "stop",
    # The model itself answering worse is the harm a stop exists for; a gap to the base model is known at the
    # gate and judged there, so day to day it asks for a review.
    "model_behaviour": "stop",
    "model_behaviour_base": "review",
}


def _rank(severity: str) -> int:
    """Order of a severity: ok < review < stop."""
    return SEVERITIES.index(severity)


@dataclass
class Policy:
    """Per-use-case thresholds: significance level, effect tiers and a severity cap per signal."""

    alpha: float = 0.01
    tiers: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    max_severity: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MAX_SEVERITY))

    def validate(self) -> Policy:
        """Raise ValueError naming the first bad value; return the policy when it is sound."""
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)):
            raise ValueError(f"alpha must be a number, got {self.alpha!r}")
        if not 0.0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha must be in (0, 0.5], got {self.alpha}")
        for key, pair in self.tiers.items():
            if key not in TIER_KEYS:
                raise ValueError(f"unknown tier {key!r}; known: {', '.join(TIER_KEYS)}")
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"tier {key!r} must be a pair (review, stop), got {pair!r}")
            review, stop = pair
            for value in (review, stop):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ValueError(f"tier {key!r} must hold finite numbers, got {pair!r}")
            if review < 0 or stop < 0:
                raise ValueError(f"tier {key!r} must not be negative, got {pair!r}")
            if review > stop:
                raise ValueError(f"tier {key!r}: review threshold {review} exceeds stop threshold {stop}")
        for key in TIER_KEYS:
            if key not in self.tiers:
                raise ValueError(f"tier {key!r} is missing")
        for key, cap in self.max_severity.items():
            if key not in SIGNAL_NAMES:
                raise ValueError(f"unknown signal {key!r} in max_severity; known: {', '.join(SIGNAL_NAMES)}")
            if cap not in SEVERITIES:
                raise ValueError(f"max_severity for {key!r} must be one of {', '.join(SEVERITIES)}, got {cap!r}")
        return self

    def to_dict(self) -> dict:
        """Return the policy as JSON-able data."""
        return {
            "alpha": float(self.alpha),
            "tiers": {key: [float(r), float(s)] for key, (r, s) in self.tiers.items()},
            "max_severity": dict(self.max_severity),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Policy:
        """Build a validated policy from JSON data; missing entries take the seed defaults."""
        if not isinstance(data, dict):
            raise ValueError("a policy must be a JSON object")
        unknown = set(data) - {"alpha", "tiers", "max_severity"}
        if unknown:
            raise ValueError(f"unknown policy fields: {', '.join(sorted(unknown))}")
        tiers = data.get("tiers", {})
        caps = data.get("max_severity", {})
        if not isinstance(tiers, dict) or not isinstance(caps, dict):
            raise ValueError("tiers and max_severity must be JSON objects")
        merged_tiers = dict(DEFAULT_TIERS)
        for key, pair in tiers.items():
            merged_tiers[key] = tuple(pair) if isinstance(pair, (list, tuple)) else pair
        policy = cls(
            alpha=data.get("alpha", 0.01),
            tiers=merged_tiers,
            max_severity={**DEFAULT_MAX_SEVERITY, **caps},
        )
        return policy.validate()

    def tier_reached(self, key: str, effect: float) -> str:
        """Severity an effect size reaches on tier `key`, ignoring significance and caps."""
        review, stop = self.tiers[key]
        if effect >= stop:
            return "stop"
        if effect >= review:
            return "review"
        return "ok"


def assign_severity(signals: list[SignalResult], policy: Policy) -> tuple[list[SignalResult], str]:
    """Holm-adjust p-values across the run's signals and give each signal and the run a severity."""
    policy.validate()
    adjusted = holm([s.p_value for s in signals])
    out = []
    for signal, p_adjusted in zip(signals, adjusted, strict=True):
        # An alert needs both: a difference that is real (significant after Holm across the run)
        # and large enough to matter (effect at or past the tier). Either alone is noise or trivia.
        level = "ok"
        if p_adjusted < policy.alpha:
            # A signal may name the value its tiers read (the quality drop's interval end); else its effect.
            level = policy.tier_reached(signal.name, float(signal.details.get("tier_effect", signal.effect_size)))
            js = signal.details.get("js_divergence")
            if signal.name in EMBEDDING_SIGNALS and js is not None:
                level = max(level, policy.tier_reached(JS_TIER, float(js)), key=_rank)
            cap = policy.max_severity.get(signal.name, "stop")
            level = min(level, cap, key=_rank)
        out.append(replace(signal, p_adjusted=float(p_adjusted), severity=level))
    overall = max((s.severity for s in out), key=_rank, default="ok")
    return out, overall

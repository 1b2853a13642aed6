"""Data of the material-degradation report: the approved quality metric in the period against the baseline frozen
for gate 3, the determination at the configured threshold with its confidence interval, the trend, and the
actions taken (triage, halts, model versions, obligations).

The threshold is the platform's policy (MonitoringPolicy.material_degradation, default
settings.DRIFTGATE_MATERIAL_DEGRADATION); no rule text sets a number, and the report says so.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

from django.conf import settings
from django.db.models import Avg, Count, Max, Q, StdDev
from django.db.models.functions import TruncDay, TruncMonth
from django.utils import timezone

from governance.audit import audit_chain_head
from governance.models import (
    AuditEvent,
    Gate,
    GateNumber,
    GateStatus,
    ModelVersion,
    Obligation,
    ObligationStatus,
    UseCase,
)
from monitoring.models import Baseline, BaselineStatus, DriftSignal, MonitoringPolicy, Severity, TrafficRecord
from reports.selectors.common import Period, inventory_data, obligation_row, rule_texts
from reports.selectors.monitoring import alert_row, alerts_in_period, baseline_row, breakdown_unit, halts

CONFIDENCE = 0.95
DEFAULT_ALPHA = 0.01
# The drift engine's name for the hourly quality signal (measured relative mean drop of the score).
QUALITY_SIGNAL = "quality_drop"
# Audit codes of what was done about quality in operation: triage, stops, rebaselining, retraining and roll-back,
# halts, and obligations taken on or discharged.
ACTION_CODES = ("alert.triaged", "alert.stop_confirmed", "alert.resolved", "alert.incident_marked",
                "baseline.frozen", "baseline.replaced", "model_version.activated", "model_version.rolled_back",
                "use_case.halted", "use_case.resumed", "obligation.created", "obligation.fulfilled",
                "obligation.waived", "policy.configured")
METRIC = "mean quality score of the traffic (reward-model or evaluator score per response)"


@dataclass(frozen=True)
class ScoreStats:
    """Count, mean and sample standard deviation of scores."""

    n: int
    mean: float | None
    sd: float | None


def relative_drop(*, baseline: ScoreStats, window: ScoreStats, confidence: float = CONFIDENCE) -> dict:
    """Return the relative drop 1 − mean_window / mean_baseline with a normal-approximation (delta method) CI."""
    if baseline.n < 2 or window.n < 2 or baseline.mean is None or window.mean is None:
        return {"drop": None, "ci_low": None, "ci_high": None, "computable": False,
                "why_not": "fewer than two scored records in the baseline or the period"}
    if baseline.mean <= 0:
        return {"drop": None, "ci_low": None, "ci_high": None, "computable": False,
                "why_not": "the baseline mean score is not positive, so a relative drop is undefined"}
    ratio = window.mean / baseline.mean
    # Delta method for independent samples: Var(m_w / m_b) ≈ (s_w² / n_w + r² · s_b² / n_b) / m_b², r = m_w / m_b.
    # The baseline's own uncertainty counts: a small baseline makes every later drop less certain.
    window_sd, baseline_sd = window.sd or 0.0, baseline.sd or 0.0
    variance = (window_sd ** 2 / window.n + ratio ** 2 * baseline_sd ** 2 / baseline.n) / baseline.mean ** 2
    half_width = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(variance)
    drop = 1.0 - ratio
    return {"drop": drop, "ci_low": drop - half_width, "ci_high": drop + half_width, "computable": True, "why_not": ""}


def determination(*, drop: dict, threshold: float, windows_above: list[dict] | None = None) -> dict:
    """Say whether the drop is material: established above the threshold for the period or in hourly windows,
    established below it, or not decidable."""
    percent = f"{threshold:.0%}" if round(threshold * 100, 6).is_integer() else f"{threshold:.1%}"
    windows_above = windows_above or []
    if windows_above and not (drop["computable"] and drop["ci_low"] > threshold):
        # A pooled figure averages a short, deep drop away; the hourly runs that measured it say otherwise, and a
        # report must not call a period without material degradation while its own chart shows it.
        worst = max(windows_above, key=lambda window: window["drop"])
        count = len(windows_above)
        return {"outcome": "material_in_windows",
                "label": f"Material degradation in {count} hourly window{'s' if count != 1 else ''}",
                "explanation": f"{count} drift run{'s' if count != 1 else ''} measured a significant drop of the "
                               f"quality score above {percent} (largest {worst['drop']:.1%}, window starting "
                               f"{worst['window_start']:%Y-%m-%d %H:%M} UTC), although the period as a whole "
                               + (f"dropped {drop['drop']:.1%}." if drop["computable"] else "cannot be measured.")}
    if not drop["computable"]:
        return {"outcome": "insufficient_data", "label": "Cannot be determined", "explanation": drop["why_not"]}
    if drop["ci_low"] > threshold:
        return {"outcome": "material", "label": "Material degradation",
                "explanation": f"The whole {CONFIDENCE:.0%} interval of the drop lies above {percent}."}
    if drop["ci_high"] <= threshold:
        return {"outcome": "not_material", "label": "No material degradation",
                "explanation": f"The whole {CONFIDENCE:.0%} interval of the drop lies at or below {percent}."}
    return {"outcome": "inconclusive", "label": "Inconclusive: review required",
            "explanation": f"The {CONFIDENCE:.0%} interval of the drop contains {percent}; more data or a human "
                           f"review must decide."}


def degradation_report_data(*, use_case: UseCase, period: Period, generated_at: datetime) -> dict:
    """Return the material-degradation report's data for traffic timestamped inside the period."""
    chain_head = audit_chain_head()
    policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
    threshold = policy.material_degradation if policy else settings.DRIFTGATE_MATERIAL_DEGRADATION
    gate3 = (Gate.objects.filter(use_case=use_case, number=GateNumber.AFTER_ROLLOUT,
                                 status__in=[GateStatus.APPROVED, GateStatus.EXPIRED], decided_at__isnull=False)
             .order_by("-decided_at").first())
    baseline, baseline_source = _reference_baseline(use_case, gate3=gate3)
    baseline_stats = (_score_stats(use_case, start=baseline.start, end=baseline.end) if baseline
                      else ScoreStats(0, None, None))
    # The reference's own days are not evidence about the period: comparing them with themselves would pull
    # the period's figure towards no drop.
    excluded = (baseline.start, baseline.end) if baseline else None
    window_stats = _score_stats(use_case, start=period.start, end=period.end, exclude=excluded)
    drop = relative_drop(baseline=baseline_stats, window=window_stats)
    trend = _trend(use_case, period=period, baseline=baseline_stats, exclude=excluded)
    alpha = _alpha(policy)
    quality_signal = _quality_signal(use_case, period=period)
    windows_above = [
        {"window_start": start, "drop": effect, "p_adjusted": p_adjusted}
        for start, effect, p_adjusted in zip(quality_signal["series"]["window_start"],
                                             quality_signal["series"]["effect_size"],
                                             quality_signal["series"]["p_adjusted"], strict=True)
        if effect is not None and effect > threshold and p_adjusted is not None and p_adjusted < alpha]
    today = timezone.localdate(generated_at)
    alerts = alerts_in_period(use_case, period=period)
    obligations = (Obligation.objects.filter(use_case=use_case)
                   .filter(Q(created_at__gte=period.start, created_at__lt=period.end) | Q(status=ObligationStatus.OPEN))
                   .select_related("owner").order_by("due_date", "id"))
    data = {
        "report": "degradation",
        "generated_at": generated_at,
        "period": period.as_dict(),
        "chain_head": chain_head,
        "use_case": inventory_data(use_case),
        "metric": METRIC,
        "threshold": threshold,
        "threshold_source": ("the use case's monitoring policy (material_degradation)" if policy else
                             "the platform default (DRIFTGATE_MATERIAL_DEGRADATION); the use case has no policy"),
        "confidence": CONFIDENCE,
        "gate3": None if gate3 is None else {"id": gate3.pk, "status": gate3.status, "decided_at": gate3.decided_at},
        "baseline_source": baseline_source,
        "baseline": baseline_row(baseline) if baseline else None,
        "baseline_stats": vars(baseline_stats),
        "period_stats": vars(window_stats),
        "drop": drop,
        "excluded_baseline_days": None if excluded is None else {"start": excluded[0], "end": excluded[1]},
        "alpha": alpha,
        "windows_above_threshold": windows_above,
        "determination": determination(drop=drop, threshold=threshold, windows_above=windows_above),
        "trend_unit": breakdown_unit(period),
        "trend": trend,
        "trend_gaps": trend_gaps(trend, unit=breakdown_unit(period)),
        "quality_signal": quality_signal,
        "actions": {
            "alerts": [alert_row(alert, generated_at=generated_at) for alert in alerts],
            "halts": halts(use_case, period=period),
            "model_versions": [
                {"label": version.label, "status": version.status, "activated_at": version.activated_at,
                 "adapter_method": version.adapter_method}
                for version in ModelVersion.objects.filter(use_case=use_case, activated_at__gte=period.start,
                                                           activated_at__lt=period.end).order_by("activated_at")
            ],
            "obligations": [obligation_row(obligation, today=today) for obligation in obligations],
            "audit_events": list(
                AuditEvent.objects.filter(use_case=use_case, action__in=ACTION_CODES, created_at__gte=period.start,
                                          created_at__lt=period.end)
                .order_by("sequence").values("sequence", "created_at", "action", "actor_display", "reason")),
        },
        "rules": rule_texts(["eu_ai_act_art_72", "sr_11_7", "nydfs_cl7"], use_case=use_case),
        "threshold_note": (
            f"The {threshold:.0%} threshold is this platform's configurable policy, not a number taken from a "
            f"rule text: no NYDFS text (Circular Letter No. 7 (2024) or 23 NYCRR 500) sets a performance-loss "
            f"trigger, and neither SR 11-7 nor the EU AI Act does. \"NYDFS-style\" names the kind of ongoing "
            f"monitoring, not a regulatory threshold."
        ),
    }
    data["finding"] = degradation_finding(data)
    return data


def degradation_finding(data: dict) -> str:
    """Return the one-paragraph finding printed on page 1: the determination, its figures and what was done."""
    determined = data["determination"]
    drop, threshold = data["drop"], data["threshold"]
    sentences = [f"{determined['label']}: {determined['explanation']}"]
    if drop["computable"]:
        sentences.append(
            f"Over the period the mean quality score fell {drop['drop']:.1%} against the reference baseline "
            f"({data['confidence']:.0%} interval {drop['ci_low']:.1%} to {drop['ci_high']:.1%}; threshold "
            f"{threshold:.0%}; {data['period_stats']['n']:,} scored records"
            + (", the baseline's own days excluded)." if data["excluded_baseline_days"] else ")."))
    actions = data["actions"]
    stops = [alert for alert in actions["alerts"] if alert["severity"] == "stop"]
    reviews = [alert for alert in actions["alerts"] if alert["severity"] == "review"]
    sentences.append(f"Alerts of the period's runs: {len(stops)} stop, {len(reviews)} review; "
                     f"{sum(1 for alert in actions['alerts'] if alert['verdict'])} triaged.")
    # An automatic halt appears twice, as its alert and as its audit event: name the earliest.
    halted = [halt for halt in actions["halts"] if halt["what"] != "use_case.resumed"]
    if halted:
        first = min(halted, key=lambda halt: halt["at"])
        sentences.append(f"The use case was halted on {first['at']:%Y-%m-%d %H:%M} UTC by {first['by']}.")
    if data["use_case"]["halted"]:
        sentences.append("It is halted now.")
    return " ".join(sentences)


def _reference_baseline(use_case: UseCase, *, gate3: Gate | None) -> tuple[Baseline | None, str]:
    """Return the baseline frozen for the latest gate-3 approval, else the one frozen now, and how it was chosen."""
    if gate3 is not None:
        baseline = (Baseline.objects.filter(use_case=use_case, frozen_at__lte=gate3.decided_at,
                                            status__in=[BaselineStatus.FROZEN, BaselineStatus.REPLACED])
                    .select_related("model_version").order_by("-frozen_at").first())
        if baseline is not None:
            return baseline, f"the baseline frozen when gate 3 was decided ({gate3.decided_at:%Y-%m-%d})"
    baseline = (Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN)
                .select_related("model_version").first())
    if baseline is not None:
        return baseline, ("the currently frozen baseline: no gate-3 decision has one frozen before it"
                          if gate3 is not None else "the currently frozen baseline: gate 3 has not been approved")
    return None, "none: the use case has no frozen baseline"


def _alpha(policy: MonitoringPolicy | None) -> float:
    """Return the significance level the drift runs were judged at (the policy's alpha, default 0.01)."""
    config = policy.config if policy is not None and isinstance(policy.config, dict) else {}
    alpha = config.get("alpha", DEFAULT_ALPHA)
    return float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) else DEFAULT_ALPHA


def _scored(use_case: UseCase, *, start: datetime, end: datetime, exclude: tuple[datetime, datetime] | None):
    records = TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=start, timestamp__lt=end,
                                           score__isnull=False)
    if exclude is not None:
        records = records.exclude(timestamp__gte=exclude[0], timestamp__lt=exclude[1])
    return records


def _score_stats(use_case: UseCase, *, start: datetime, end: datetime,
                 exclude: tuple[datetime, datetime] | None = None) -> ScoreStats:
    row = (_scored(use_case, start=start, end=end, exclude=exclude)
           .aggregate(n=Count("id"), mean=Avg("score"), sd=StdDev("score", sample=True)))
    return ScoreStats(n=row["n"], mean=row["mean"], sd=row["sd"])


def _trend(use_case: UseCase, *, period: Period, baseline: ScoreStats,
           exclude: tuple[datetime, datetime] | None) -> list[dict]:
    trunc = TruncDay if breakdown_unit(period) == "day" else TruncMonth
    rows = (_scored(use_case, start=period.start, end=period.end, exclude=exclude)
            .annotate(bucket=trunc("timestamp")).values("bucket")
            .annotate(n=Count("id"), mean=Avg("score"), sd=StdDev("score", sample=True)).order_by("bucket"))
    return [{"bucket": row["bucket"], "n": row["n"], "mean": row["mean"],
             **relative_drop(baseline=baseline, window=ScoreStats(row["n"], row["mean"], row["sd"]))}
            for row in rows]


def trend_gaps(trend: list[dict], *, unit: str) -> list[dict]:
    """Return the runs of days (or months) without scored traffic between the trend's first and last bucket."""
    gaps = []
    for current, following in zip(trend, trend[1:], strict=False):
        start = _next_bucket(current["bucket"], unit=unit)
        if following["bucket"] > start:
            last = following["bucket"] - timedelta(days=1) if unit == "day" else \
                (following["bucket"] - timedelta(days=1)).replace(day=1)
            days = (following["bucket"] - start).days
            gaps.append({"start": start, "last": last, "days": days})
    return gaps


def _next_bucket(bucket: datetime, *, unit: str) -> datetime:
    return bucket + timedelta(days=1) if unit == "day" else (bucket + timedelta(days=32)).replace(day=1)


def _quality_signal(use_case: UseCase, *, period: Period) -> dict:
    signals = DriftSignal.objects.filter(run__use_case=use_case, name=QUALITY_SIGNAL,
                                         run__window_start__gte=period.start, run__window_start__lt=period.end)
    summary = signals.aggregate(runs=Count("id"), review=Count("id", filter=Q(severity=Severity.REVIEW)),
                                stop=Count("id", filter=Q(severity=Severity.STOP)), max_effect=Max("effect_size"))
    points = list(signals.order_by("run__window_start").values_list("run__window_start", "effect_size", "p_adjusted"))
    return {"name": QUALITY_SIGNAL, **summary,
            "series": {"window_start": [point[0] for point in points], "effect_size": [point[1] for point in points],
                       "p_adjusted": [point[2] for point in points]}}

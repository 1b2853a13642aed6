"""Data of the material-degradation report: the approved quality metric in the period against the baseline frozen
for gate 3, the determination at the configured threshold with its confidence interval, the trend, and the
actions taken (triage, halts, model versions, obligations).

The threshold is the platform's policy (MonitoringPolicy.material_degradation, default
settings.DRIFTGATE_MATERIAL_DEGRADATION); no rule text sets a number, and the report says so.
"""
import math
from dataclasses import dataclass
from datetime import datetime
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
from monitoring.models import Alert, Baseline, BaselineStatus, DriftSignal, MonitoringPolicy, Severity, TrafficRecord
from reports.selectors.common import Period, inventory_data, obligation_row, rule_texts
from reports.selectors.monitoring import alert_row, baseline_row, breakdown_unit, halts

CONFIDENCE = 0.95
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


def determination(*, drop: dict, threshold: float) -> dict:
    """Say whether the drop is material: established above the threshold, established below it, or not decidable."""
    if not drop["computable"]:
        return {"outcome": "insufficient_data", "label": "Cannot be determined", "explanation": drop["why_not"]}
    percent = f"{threshold:.0%}" if round(threshold * 100, 6).is_integer() else f"{threshold:.1%}"
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
    window_stats = _score_stats(use_case, start=period.start, end=period.end)
    drop = relative_drop(baseline=baseline_stats, window=window_stats)
    today = timezone.localdate(generated_at)
    alerts = (Alert.objects.filter(use_case=use_case, created_at__gte=period.start, created_at__lt=period.end)
              .select_related("run", "triaged_by", "stop_confirmed_by").order_by("created_at", "id"))
    obligations = (Obligation.objects.filter(use_case=use_case)
                   .filter(Q(created_at__gte=period.start, created_at__lt=period.end) | Q(status=ObligationStatus.OPEN))
                   .select_related("owner").order_by("due_date", "id"))
    return {
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
        "determination": determination(drop=drop, threshold=threshold),
        "trend_unit": breakdown_unit(period),
        "trend": _trend(use_case, period=period, baseline=baseline_stats),
        "quality_signal": _quality_signal(use_case, period=period),
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


def _score_stats(use_case: UseCase, *, start: datetime, end: datetime) -> ScoreStats:
    row = (TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=start, timestamp__lt=end,
                                        score__isnull=False)
           .aggregate(n=Count("id"), mean=Avg("score"), sd=StdDev("score", sample=True)))
    return ScoreStats(n=row["n"], mean=row["mean"], sd=row["sd"])


def _trend(use_case: UseCase, *, period: Period, baseline: ScoreStats) -> list[dict]:
    trunc = TruncDay if breakdown_unit(period) == "day" else TruncMonth
    rows = (TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=period.start, timestamp__lt=period.end,
                                         score__isnull=False)
            .annotate(bucket=trunc("timestamp")).values("bucket")
            .annotate(n=Count("id"), mean=Avg("score"), sd=StdDev("score", sample=True)).order_by("bucket"))
    return [{"bucket": row["bucket"], "n": row["n"], "mean": row["mean"],
             **relative_drop(baseline=baseline, window=ScoreStats(row["n"], row["mean"], row["sd"]))}
            for row in rows]


def _quality_signal(use_case: UseCase, *, period: Period) -> dict:
    signals = DriftSignal.objects.filter(run__use_case=use_case, name=QUALITY_SIGNAL,
                                         run__window_start__gte=period.start, run__window_start__lt=period.end)
    summary = signals.aggregate(runs=Count("id"), review=Count("id", filter=Q(severity=Severity.REVIEW)),
                                stop=Count("id", filter=Q(severity=Severity.STOP)), max_effect=Max("effect_size"))
    points = signals.order_by("run__window_start").values_list("run__window_start", "effect_size")
    return {"name": QUALITY_SIGNAL, **summary,
            "series": {"window_start": [point[0] for point in points], "effect_size": [point[1] for point in points]}}

"""Data of the post-market monitoring report (EU AI Act Art. 72) for a period: the plan, drift runs and their
signals, alerts with triage, serious incidents with their Art. 73 deadlines, halts and open obligations.

Runs and signals are aggregated in SQL: a year of hourly runs is 8,760 runs and about 52,000 signal rows, which
the report summarises per signal and per month and draws as one line per signal.
"""
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth
from django.utils import timezone

from driftgate.numbers import significant
from governance.audit import audit_chain_head
from governance.models import AuditEvent, UseCase
from monitoring.models import (
    ART73_DEADLINE_DAYS,
    Alert,
    Baseline,
    BaselineStatus,
    DriftRun,
    DriftSignal,
    IncidentClass,
    MonitoringPolicy,
    RunStatus,
    Severity,
)
from reports.selectors.common import Period, choice_label, inventory_data, open_obligations, person, rule_texts

# Up to two months a row per day stays readable; longer periods get a row per month.
DAILY_BREAKDOWN_MAX_DAYS = 62
# The audit codes of halting a use case and lifting the halt, whoever or whatever did it.
HALT_ACTIONS = ("use_case.halted", "use_case.resumed")


def monitoring_report_data(*, use_case: UseCase, period: Period, generated_at: datetime) -> dict:
    """Return the monitoring report's data for runs whose window starts inside the period."""
    chain_head = audit_chain_head()
    runs = DriftRun.objects.filter(use_case=use_case, window_start__gte=period.start, window_start__lt=period.end)
    signals = DriftSignal.objects.filter(run__in=runs)
    alerts = _alerts(use_case, period=period, generated_at=generated_at)
    data = {
        "report": "monitoring",
        "generated_at": generated_at,
        "period": period.as_dict(),
        "chain_head": chain_head,
        "use_case": inventory_data(use_case),
        "plan": monitoring_plan(use_case, period=period),
        "runs": _run_summary(runs),
        "failed_runs": [
            {"window_start": run["window_start"], "window_end": run["window_end"], "error": run["error"]}
            for run in runs.filter(status=RunStatus.FAILED).order_by("window_start")
            .values("window_start", "window_end", "error")
        ],
        "signals": _signal_summary(signals, period=period),
        "breakdown_unit": breakdown_unit(period),
        "breakdown": _breakdown(signals, period=period),
        "alerts": alerts,
        "serious_incidents": [alert for alert in alerts if alert["incident"] is not None],
        "halts": halts(use_case, period=period),
        "open_obligations": open_obligations(use_case, today=timezone.localdate(generated_at)),
        "rules": rule_texts(["eu_ai_act_art_72", "eu_ai_act_art_73"], use_case=use_case),
    }
    data["finding"] = monitoring_finding(data)
    return data


def monitoring_finding(data: dict) -> str:
    """Return the one-paragraph finding printed on page 1: runs and outcomes, alerts and their triage, halts."""
    runs = data["runs"]
    if not runs["total"]:
        return ("No drift run covers the period: the use case was not monitored in it"
                + (" (no monitoring policy is configured)." if data["plan"]["policy"] is None else "."))
    sentences = [f"{runs['total']:,} drift runs covered the period: {runs['ok']:,} ok, {runs['review']:,} at review "
                 f"and {runs['stop']:,} at stop; {runs['skipped']:,} skipped for too little data and "
                 f"{runs['failed']:,} failed."]
    alerts = data["alerts"]
    for severity in ("stop", "review"):
        chosen = [alert for alert in alerts if alert["severity"] == severity]
        if not chosen:
            continue
        verdicts: dict[str, int] = {}
        for alert in chosen:
            key = alert["verdict"].replace("_", " ") if alert["verdict"] else "not triaged"
            verdicts[key] = verdicts.get(key, 0) + 1
        raised_by = sorted({name for alert in chosen for name in alert["signals"].split(", ") if name})
        sentences.append(
            f"{len(chosen)} {severity} alert{'s' if len(chosen) != 1 else ''} ("
            + ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
            + (f"), raised by {', '.join(raised_by)}." if raised_by else ")."))
    if not alerts:
        sentences.append("No alert was raised.")
    # An automatic halt appears twice, as its alert and as its audit event: count the events when there are any.
    halted = [halt for halt in data["halts"] if halt["what"] == "use_case.halted"] or [
        halt for halt in data["halts"] if halt["what"] != "use_case.resumed"]
    if halted:
        first = min(halted, key=lambda halt: halt["at"])
        sentences.append(f"The use case was halted {len(halted)} time{'s' if len(halted) != 1 else ''}, first on "
                         f"{first['at']:%Y-%m-%d %H:%M} UTC by {first['by']}.")
    if data["use_case"]["halted"]:
        sentences.append("It is halted now.")
    incidents = data["serious_incidents"]
    sentences.append(f"{len(incidents)} serious incident{'s' if len(incidents) != 1 else ''} (Art. 73) recorded."
                     if incidents else "No serious incident (Art. 73) was recorded.")
    return " ".join(sentences)


def breakdown_unit(period: Period) -> str:
    """Return "day" or "month": the bucket of the report's tables for a period of this length."""
    return "day" if period.days <= DAILY_BREAKDOWN_MAX_DAYS else "month"


def monitoring_plan(use_case: UseCase, *, period: Period) -> dict:
    """Return the policy and the baselines runs of the period were compared with (and the one frozen now)."""
    policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
    used = DriftRun.objects.filter(use_case=use_case, window_start__gte=period.start,
                                   window_start__lt=period.end).values("baseline_id")
    baselines = (Baseline.objects.filter(use_case=use_case)
                 .filter(Q(pk__in=used) | Q(status=BaselineStatus.FROZEN))
                 .select_related("model_version", "created_by").order_by("created_at", "id"))
    return {
        "policy": None if policy is None else {
            "enabled": policy.enabled,
            "auto_halt": policy.auto_halt,
            "window_hours": policy.window_hours,
            "sample_size": policy.sample_size,
            "material_degradation": policy.material_degradation,
            "config": policy.config,
            "updated_at": policy.updated_at,
        },
        "baselines": [baseline_row(baseline) for baseline in baselines],
    }


def baseline_row(baseline: Baseline) -> dict:
    """Return a baseline's identity, window and the scalar facts of its summary (not its cluster model)."""
    summary = baseline.summary if isinstance(baseline.summary, dict) else {}
    return {
        "id": baseline.pk,
        "status": baseline.status,
        "start": baseline.start,
        "end": baseline.end,
        "frozen_at": baseline.frozen_at,
        "n_records": baseline.n_records,
        "embedding_model": baseline.embedding_model,
        "model_version": baseline.model_version.label if baseline.model_version else None,
        "artifact_sha256": baseline.artifact_sha256,
        # Centroids and vocabularies are megabytes of numbers that say nothing on paper.
        "summary": {key: value for key, value in sorted(summary.items())
                    if isinstance(value, (str, int, float, bool)) or value is None},
    }


def _run_summary(runs) -> dict:
    totals = runs.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=RunStatus.SUCCEEDED)),
        skipped=Count("id", filter=Q(status=RunStatus.SKIPPED)),
        failed=Count("id", filter=Q(status=RunStatus.FAILED)),
        running=Count("id", filter=Q(status=RunStatus.RUNNING)),
        ok=Count("id", filter=Q(severity=Severity.OK)),
        review=Count("id", filter=Q(severity=Severity.REVIEW)),
        stop=Count("id", filter=Q(severity=Severity.STOP)),
        records=Sum("n"),
        first_window=Min("window_start"),
        last_window=Max("window_end"),
        mean_duration_ms=Avg("duration_ms"),
    )
    totals["records"] = totals["records"] or 0
    return totals


def _signal_summary(signals, *, period: Period) -> list[dict]:
    rows = (signals.values("name").annotate(
        runs=Count("id"),
        review=Count("id", filter=Q(severity=Severity.REVIEW)),
        stop=Count("id", filter=Q(severity=Severity.STOP)),
        mean_effect=Avg("effect_size"),
        max_effect=Max("effect_size"),
        min_p_adjusted=Min("p_adjusted"),
        effect_unit=Max("effect_unit"),
    ).order_by("name"))
    series = _series(signals)
    empty: dict[str, list] = {"window_start": [], "effect_size": [], "p_adjusted": [], "severity": []}
    return [{**row, "series": series.get(row["name"], empty)} for row in rows]


def _series(signals) -> dict[str, dict]:
    """Return each signal's hourly effect sizes, Holm-adjusted p-values and tiers as parallel lists (compact in the
    embedded JSON)."""
    series: dict[str, dict] = {}
    points = signals.order_by("name", "run__window_start").values_list(
        "name", "run__window_start", "effect_size", "p_adjusted", "severity")
    for name, window_start, effect, p_adjusted, severity in points.iterator(chunk_size=10_000):
        entry = series.setdefault(name, {"window_start": [], "effect_size": [], "p_adjusted": [], "severity": []})
        entry["window_start"].append(window_start)
        entry["effect_size"].append(effect)
        entry["p_adjusted"].append(p_adjusted)
        entry["severity"].append(severity)
    return series


def _breakdown(signals, *, period: Period) -> list[dict]:
    trunc = TruncDay if breakdown_unit(period) == "day" else TruncMonth
    rows = (signals.annotate(bucket=trunc("run__window_start")).values("bucket", "name").annotate(
        runs=Count("id"),
        review=Count("id", filter=Q(severity=Severity.REVIEW)),
        stop=Count("id", filter=Q(severity=Severity.STOP)),
        mean_effect=Avg("effect_size"),
        max_effect=Max("effect_size"),
    ).order_by("bucket", "name"))
    return list(rows)


def alerts_in_period(use_case: UseCase, *, period: Period):
    """Return the alerts of runs whose window starts in the period (as runs are counted), plus serious incidents
    the provider became aware of in it; every period report selects alerts this way, so their counts agree."""
    # By the run's window, not the time the alert was raised: a run late in the period whose alert is raised
    # after the period ends must not be counted as a review run without its alert.
    of_runs_in_period = Q(run__window_start__gte=period.start, run__window_start__lt=period.end)
    # An incident the provider became aware of in the period belongs here even if its alert is older.
    aware_in_period = Q(incident_aware_at__gte=period.start, incident_aware_at__lt=period.end)
    return (Alert.objects.filter(use_case=use_case).filter(of_runs_in_period | aware_in_period)
            .select_related("run", "triaged_by", "stop_confirmed_by").order_by("run__window_start", "id"))


def _alerts(use_case: UseCase, *, period: Period, generated_at: datetime) -> list[dict]:
    alerts = list(alerts_in_period(use_case, period=period))
    rows = [alert_row(alert, generated_at=generated_at) for alert in alerts]
    evidence = _raising_signal_details([alert.run_id for alert in alerts])
    for alert, row in zip(alerts, rows, strict=True):
        row["evidence"] = [entry for entry in evidence.get(alert.run_id, []) if entry["severity"] == alert.severity]
    return rows


# A list longer than this (cluster occupancies, vocabularies) is summarised by its length: the embedded JSON of
# the drift run is the place for it, not a table cell.
MAX_LISTED_VALUES = 25
# Topics inside a signal's details hold lists of terms and examples: three levels; anything deeper is left out.
MAX_DETAIL_DEPTH = 3


def _raising_signal_details(run_ids: list[int]) -> dict[int, list[dict]]:
    """Return, per run, each signal's printable details: emerging terms, example prompts, means, intervals."""
    details: dict[int, list[dict]] = {}
    signals = (DriftSignal.objects.filter(run_id__in=run_ids).exclude(severity=Severity.OK)
               .order_by("run_id", "name").values("run_id", "name", "severity", "details"))
    for signal in signals:
        printable = {key: _printable(value) for key, value in sorted((signal["details"] or {}).items())}
        details.setdefault(signal["run_id"], []).append(
            {"signal": signal["name"], "severity": signal["severity"],
             "details": {key: value for key, value in printable.items() if value is not None}})
    return details


def _printable(value, *, depth: int = 0) -> str | None:
    """Return a detail as one line of text: scalars, short lists, and records such as emerging topics."""
    if isinstance(value, float):
        return significant(value)
    if isinstance(value, (str, int, bool)):
        return str(value)
    if depth >= MAX_DETAIL_DEPTH:
        return None
    if isinstance(value, dict):
        parts = [(key, _printable(item, depth=depth + 1)) for key, item in value.items()]
        return "; ".join(f"{key}: {text}" for key, text in parts if text is not None)
    if isinstance(value, list):
        if len(value) > MAX_LISTED_VALUES:
            return f"{len(value)} values (in the drift run's record)"
        items = [_printable(item, depth=depth + 1) for item in value]
        # Records (one emerging topic each) are set apart; plain values sit side by side.
        separator = " | " if any(isinstance(item, dict) for item in value) else ", "
        return separator.join(item for item in items if item is not None)
    return None


def alert_row(alert: Alert, *, generated_at: datetime) -> dict:
    """Return an alert with its triage outcome and, for a serious incident, its Art. 73 deadline."""
    return {
        "id": alert.pk,
        "severity": alert.severity,
        "status": alert.status,
        "created_at": alert.created_at,
        "window_start": alert.run.window_start,
        "window_end": alert.run.window_end,
        "signals": _alert_signals(alert.summary),
        "halt_applied": alert.halt_applied,
        "stop_confirmed_by": person(alert.stop_confirmed_by) if alert.stop_confirmed_by_id else None,
        "stop_confirmed_at": alert.stop_confirmed_at,
        "verdict": alert.verdict,
        "resolution": alert.resolution,
        "note": alert.note,
        "triaged_by": person(alert.triaged_by) if alert.triaged_by_id else None,
        "triaged_at": alert.triaged_at,
        "resolved_at": alert.resolved_at,
        "incident": incident(alert, generated_at=generated_at),
    }


def _alert_signals(summary) -> str:
    """Return the names of the signals that raised an alert, as stored in its summary."""
    if not isinstance(summary, dict):
        return ""
    if isinstance(summary.get("raised_by"), list):
        return ", ".join(str(name) for name in summary["raised_by"])
    signals = summary.get("signals")
    if isinstance(signals, dict):
        return ", ".join(sorted(str(name) for name in signals))
    if isinstance(signals, list):
        return ", ".join(str(entry.get("name", entry)) if isinstance(entry, dict) else str(entry) for entry in signals)
    return ""


def incident(alert: Alert, *, generated_at: datetime) -> dict | None:
    """Return the Art. 73 facts of a serious incident: class, awareness time, reporting deadline; None otherwise."""
    if not alert.incident_class:
        return None
    days = ART73_DEADLINE_DAYS.get(alert.incident_class)
    deadline = alert.incident_aware_at + timedelta(days=days) if alert.incident_aware_at and days else None
    return {
        "class": alert.incident_class,
        "class_label": choice_label(IncidentClass, alert.incident_class),
        "aware_at": alert.incident_aware_at,
        "deadline_days": days,
        "deadline": deadline,
        "deadline_passed": deadline is not None and deadline <= generated_at,
    }


def halts(use_case: UseCase, *, period: Period) -> list[dict]:
    """Return the period's halts: automatic ones on alerts, confirmed stops, and every halt event in the audit log."""
    rows = [
        {"at": alert.created_at, "source": f"alert {alert.pk} ({alert.severity})",
         "what": "halted automatically by the policy" if alert.halt_applied else "stop confirmed",
         "by": "policy" if alert.halt_applied else person(alert.stop_confirmed_by)}
        for alert in Alert.objects.filter(use_case=use_case).filter(
            Q(halt_applied=True, created_at__gte=period.start, created_at__lt=period.end)
            | Q(stop_confirmed_at__gte=period.start, stop_confirmed_at__lt=period.end))
        .select_related("stop_confirmed_by").order_by("created_at", "id")
    ]
    events = (AuditEvent.objects.filter(use_case=use_case, action__in=HALT_ACTIONS,
                                        created_at__gte=period.start, created_at__lt=period.end)
              .order_by("sequence").values("sequence", "created_at", "action", "actor_display", "reason"))
    rows += [{"at": event["created_at"], "source": f"audit event #{event['sequence']}", "what": event["action"],
              "by": event["actor_display"], "reason": event["reason"]} for event in events]
    for row in rows:
        row.setdefault("reason", "")
    return sorted(rows, key=lambda row: row["at"])

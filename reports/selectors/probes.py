"""Model probes in the gate audit trail: what the gate criterion saw and the recent runs behind it."""
from governance.models import UseCase
from monitoring.models import ProbeRun, ProbeRunStatus
from monitoring.selectors.probes import probe_facts

RECENT_RUNS = 20


def _rate_text(row: dict) -> str:
    if row.get("pass_rate") is None:
        return "—"
    low, high = row["wilson_95"]
    return f"{100 * row['pass_rate']:.1f}% ({100 * low:.1f}–{100 * high:.1f})"


def _comparison_text(comparison: dict | None) -> str:
    if not comparison:
        return "—"
    pooled = comparison["pooled"]
    return (f"run {comparison['run']}: {pooled['lost']} lost, {pooled['gained']} gained of {pooled['paired']}; "
            f"drop {100 * pooled['drop']:.1f} points, p = {pooled['p_value']:.2g}")


def model_probes_data(use_case: UseCase) -> dict:
    """The probe facts of the version under decision and the use case's recent finished runs, newest first."""
    runs = (ProbeRun.objects.filter(use_case=use_case, status__in=(ProbeRunStatus.SUCCEEDED, ProbeRunStatus.FAILED))
            .select_related("model_version", "signal_run").order_by("-finished_at", "-id")[:RECENT_RUNS])
    return {
        "facts": probe_facts(use_case),
        "runs": [{
            "id": run.pk, "finished_at": run.finished_at, "model_version": run.model_version.label,
            "target": run.target, "endpoint_model": run.endpoint_model, "status": run.status, "error": run.error,
            "sets": [{"key": key, "version": row.get("version"), "rate": _rate_text(row),
                      "graded": row.get("graded", 0), "errors": row.get("errors", 0)}
                     for key, row in sorted(run.summary.get("sets", {}).items())],
            "previous": _comparison_text(run.comparisons.get("previous")),
            "base": _comparison_text(run.comparisons.get("base")),
            "flaky": len(run.flaky_items), "severity": run.signal_run.severity if run.signal_run else None,
        } for run in runs],
    }

"""What each report kind is: its selector, template, title and running header, and the charts and tables built
from the selector's data before rendering."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from driftgate.numbers import p_text, percent, significant
from governance.models import UseCase
from reports.models import ReportKind
from reports.rendering import data_table, line_chart_svg, render_pdf
from reports.selectors.audit_proofs import audit_proofs
from reports.selectors.audit_trail import SignatureCheck, audit_trail_data
from reports.selectors.common import Period
from reports.selectors.degradation import degradation_report_data
from reports.selectors.monitoring import monitoring_report_data


@dataclass(frozen=True)
class BuiltReport:
    """A rendered report: the PDF bytes, the data embedded in it and the audit chain head it names."""

    pdf: bytes
    data: dict
    chain_head: str


@dataclass(frozen=True)
class ReportDefinition:
    """How one kind of report is gathered and laid out."""

    kind: str
    title: str
    template_name: str
    needs_period: bool
    presentation: Callable[[dict], dict]


def build_report(*, kind: str, use_case: UseCase, period: Period | None, generated_at: datetime,
                 parameters: dict, signature_check: SignatureCheck) -> BuiltReport:
    """Gather the data of a report and render it to PDF/A-3b; writes at most an audit checkpoint covering its events."""
    data = gather_report_data(kind=kind, use_case=use_case, period=period, generated_at=generated_at,
                              signature_check=signature_check)
    # Offline proof of the cited events (driftgate-verify): a signed checkpoint and an inclusion proof for each.
    data["audit_proofs"] = audit_proofs(data=data, use_case=use_case, period=period)
    pdf = render_report_pdf(kind=kind, use_case=use_case, period=period, data=data, parameters=parameters)
    return BuiltReport(pdf=pdf, data=data, chain_head=data["chain_head"])


def gather_report_data(*, kind: str, use_case: UseCase, period: Period | None, generated_at: datetime,
                       signature_check: SignatureCheck) -> dict:
    """Return the report's data from its selector."""
    if kind == ReportKind.AUDIT_TRAIL:
        return audit_trail_data(use_case=use_case, period=period, generated_at=generated_at,
                                signature_check=signature_check)
    assert period is not None  # the monitoring and degradation reports always cover a period (report_period)
    if kind == ReportKind.MONITORING:
        return monitoring_report_data(use_case=use_case, period=period, generated_at=generated_at)
    return degradation_report_data(use_case=use_case, period=period, generated_at=generated_at)


def render_report_pdf(*, kind: str, use_case: UseCase, period: Period | None, data: dict, parameters: dict) -> bytes:
    """Return the PDF/A-3b of a report: its template with the charts and tables built from data, data embedded."""
    definition = DEFINITIONS[kind]
    period_label = period.label if period else "Entire history"
    use_case_label = f"{use_case.name} ({use_case.slug})"
    context = {
        **data,
        **definition.presentation(data),
        "use_case": use_case_label,
        "inventory": data["use_case"],
        "period": period_label,
        "has_period": period is not None,
        "parameters": _parameter_labels(parameters),
    }
    return render_pdf(
        template_name=definition.template_name,
        context=context,
        data=data,
        title=definition.title,
        header=f"{definition.title} · {use_case_label} · {period_label}",
        attachment_name=f"{kind}-data.json",
        metadata={"author": "Driftgate", "subject": f"{definition.title} for {use_case_label}, {period_label}",
                  "keywords": [kind, use_case.slug]},
    )


def _parameter_labels(parameters: dict) -> dict:
    labels = {"Report kind": ReportKind(parameters["kind"]).label}
    if parameters.get("start"):
        labels["Requested start"] = parameters["start"]
        labels["Requested end"] = parameters["end"]
    labels["Requested by"] = parameters.get("requested_by", "—")
    return labels


def _toc(*entries: tuple[str, str]) -> list[dict]:
    return [{"id": anchor, "title": title, "level": 2} for anchor, title in entries]


def _dt(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if value else None


def _number(value: float | None) -> str | None:
    return None if value is None else significant(value)


def _percent(value: float | None) -> str | None:
    return None if value is None else percent(value)


def _with_gaps(points: list[tuple[datetime, float | None]], gaps: list[dict]) -> list[tuple[datetime, float | None]]:
    """Insert a None at the start of every gap, so the line breaks there instead of being drawn straight across
    days without data."""
    return sorted([*points, *((gap["start"], None) for gap in gaps)], key=lambda point: point[0])


def _evidence_label(evidence: dict) -> str:
    """Return the evidence's name with where it is: the URL a reader can open, or the stored file's name."""
    label = f"{evidence['name']} — {evidence['source']}" if evidence.get("source") else evidence["name"]
    return label + (" (removed)" if evidence["removed_at"] else "")


def _condition_text(condition: dict) -> str:
    """Return a decision's condition as a sentence: what, who owns it, by when, and its description."""
    text = condition["title"]
    parts = []
    if condition["owner"] != "—":
        parts.append(f"owner {condition['owner']}")
    if condition["due_date"]:
        parts.append(f"due {condition['due_date']}")
    if parts:
        text += f" ({', '.join(parts)})"
    if condition["description"]:
        text += f". {condition['description']}"
    return text


# Keyed by object: a stored `passed` may be anything, and only True and False (or 1 and 0) name a result.
_CRITERION_RESULTS: dict[object, str] = {True: "met", False: "NOT met"}


def _criterion_row(criterion) -> list:
    """Return [criterion, result, detail] of one stored criterion ({code, title, passed, reasons})."""
    if not isinstance(criterion, dict):
        return [str(criterion), "—", "—"]
    passed = criterion.get("passed")
    result = _CRITERION_RESULTS.get(passed, "could not be evaluated") if "passed" in criterion else "—"
    reasons = criterion.get("reasons") or []
    detail = "; ".join(str(reason) for reason in reasons) if isinstance(reasons, list) else str(reasons)
    return [str(criterion.get("title") or criterion.get("code") or "—"), result, detail or "—"]


def _gate_views(gates: list[dict]) -> list[dict]:
    """Return each gate with the tables of its checklists, evidence, criteria and signatures."""
    views = []
    for gate in gates:
        checklists = []
        for checklist in gate["checklists"]:
            items = checklist["items"]
            checklists.append({
                "title": checklist["title"],
                "ml_test_score": checklist.get("ml_test_score"),
                "items_table": data_table(
                    columns=[("Item", "long", "widest"), ("Status", "text", "narrow"), ("Owner role", "text", "narrow"),
                             ("Completed", "text"), ("Reason", "long")],
                    rows=[[f"{item['key']}: {item['text']}",
                           item["status"] + ("" if item["required"] else " (optional)"),
                           item["owner_role"],
                           f"{item['completed_by']}, {_dt(item['completed_at'])}" if item["completed_by"] else "—",
                           item["reason"] or "—"] for item in items],
                    caption=f"{checklist['title']} (template version {checklist['template_version']})",
                    empty="No items."),
                "evidence_table": data_table(
                    columns=[("Item", "text", "narrow"), ("Evidence", "long", "wide"), ("SHA-256", "hash"),
                             ("Bytes", "num", "narrow"), ("Uploaded", "text")],
                    rows=[[item["key"], _evidence_label(evidence), evidence["sha256"], evidence["size"],
                           f"{evidence['uploaded_by']}, {_dt(evidence['uploaded_at'])}"]
                          for item in items for evidence in item["evidence"]],
                    caption="Evidence", empty="No evidence attached."),
            })
        decisions = []
        for decision in gate["decisions"]:
            decisions.append({
                "decision": decision,
                "criteria_table": data_table(
                    columns=[("Criterion", "text"), ("Result", "text"), ("Detail", "long")],
                    rows=[_criterion_row(criterion) for criterion in decision["criteria"] or []],
                    caption="Automated criteria as they stood when the decision was proposed",
                    empty="No automated criteria were recorded."),
                "signatures_table": data_table(
                    columns=[("Printed name", "text"), ("Meaning", "long"), ("Signed (UTC)", "text"),
                             ("Content hash", "hash"), ("Signature", "long")],
                    rows=[[signature["printed_name"], f"{signature['meaning']} ({signature['role']})",
                           _dt(signature["signed_at"]), signature["content_hash"],
                           ("valid" if signature["valid"] else "BROKEN" if signature["valid"] is False else "unknown")
                           + f": {signature['validity']}"] for signature in decision["signatures"]],
                    caption="Electronic signatures (21 CFR Part 11 §11.50 manifestations)",
                    empty="No signatures."),
                "conditions_lines": [_condition_text(condition) for condition in decision["conditions_readable"]],
            })
        views.append({"anchor": f"gate-{gate['id']}", "gate": gate, "checklists": checklists, "decisions": decisions})
    return views


HASH_PREFIX = 12


def _short(hash_value: str) -> str:
    return hash_value[:HASH_PREFIX] + "…" if hash_value else "—"


def _cover_table(gates: list[dict]) -> dict:
    """Return the cover's summary of what each gate decided, who signed and with which ML Test Score."""
    rows = []
    for gate in gates:
        decisions = [decision for decision in gate["decisions"] if decision["status"] == "final"]
        decision = decisions[-1] if decisions else None
        scores = [checklist["ml_test_score"] for checklist in gate["checklists"] if "ml_test_score" in checklist]
        rows.append([
            gate["title"], gate["status"],
            f"{decision['outcome']}, {_dt(decision['finalized_at'] or decision['created_at'])}" if decision else "—",
            "; ".join(signature["printed_name"] + ("" if signature["valid"] else " (BROKEN)")
                      for signature in decision["signatures"]) if decision else "—",
            f"{scores[0]['score']:g} ({scores[0]['meaning']})" if scores else "—",
        ])
    return data_table(
        columns=[("Gate", "long", "wide"), ("Status", "code", "narrow"), ("Decision (UTC)", "text"),
                 ("Signed by", "long"), ("ML Test Score", "text")],
        rows=rows, caption="What was decided", empty="No gate has been opened.")


def _audit_trail_presentation(data: dict) -> dict:
    events = data["audit_events"]
    gate_views = _gate_views(data["gates"])
    toc = _toc(("inventory", "Inventory entry"), ("gates", "Gates, checklists, evidence and decisions"))
    toc += [{"id": view["anchor"], "title": f"{view['gate']['title']} ({view['gate']['status']}, opened "
             f"{view['gate']['opened_at']:%Y-%m-%d})", "level": 3} for view in gate_views]
    toc += _toc(("obligations", "Obligations"), ("audit-events", "Audit events"),
                ("chain", "Audit chain verification"), ("rules", "Rule texts followed"))
    return {
        "gate_views": gate_views,
        "toc": toc,
        "obligations_table": _obligations_table(data["obligations"], caption="All obligations of the use case"),
        "finding": data["finding"],
        "cover_table": _cover_table(data["gates"]),
        "hash_prefix": HASH_PREFIX,
        "events_table": data_table(
            columns=[("#", "num", "tiny"), ("Time (UTC)", "time"), ("Actor", "long"), ("Action", "code"),
                     ("Object", "long"), ("Reason", "long"), ("Previous hash", "code", "narrow"),
                     ("Hash", "code", "narrow")],
            rows=[[event["sequence"], _dt(event["created_at"]), event["actor_display"], event["action"],
                   f"{event['object_type']}:{event['object_id']}" if event["object_type"] else "—",
                   event["reason"] or "—", _short(event["prev_hash"]), _short(event["hash"])] for event in events],
            caption=f"{len(events)} events, oldest first", empty="No audit events recorded for this use case.",
        ),
    }


def _obligations_table(obligations: list[dict], *, caption: str) -> dict:
    return data_table(
        columns=[("Obligation", "long"), ("Owner", "text"), ("Due", "text"), ("Status", "text"),
                 ("Resolution", "long")],
        rows=[[obligation["title"], obligation["owner"], obligation["due_date"].isoformat(),
               obligation["status"] + (" (overdue)" if obligation["overdue"] else ""), obligation["resolution"] or "—"]
              for obligation in obligations],
        caption=caption, empty="No obligations.",
    )


def _alerts_table(alerts: list[dict]) -> dict:
    rows = []
    for alert in alerts:
        triage = alert["verdict"] or "not triaged"
        if alert["resolution"]:
            triage += f" → {alert['resolution']}"
        if alert["triaged_by"]:
            triage += f" ({alert['triaged_by']}, {_dt(alert['triaged_at'])})"
        rows.append([alert["id"], _dt(alert["created_at"]), f"{alert['severity']}: {alert['signals'] or '—'}",
                     triage, alert["note"] or "—"])
    return data_table(
        columns=[("Alert", "text"), ("Raised (UTC)", "text"), ("Severity: signals", "text"),
                 ("Triage → resolution", "long"), ("Note", "long")],
        rows=rows, caption="Alerts raised in the period", empty="No alerts in the period.",
    )


def _halts_table(halts: list[dict]) -> dict:
    return data_table(
        columns=[("Time (UTC)", "text"), ("Source", "text"), ("What", "text"), ("By", "text"), ("Reason", "long")],
        rows=[[_dt(halt["at"]), halt["source"], halt["what"], halt["by"], halt["reason"] or "—"] for halt in halts],
        caption="Halts and stops", empty="No halt in the period.",
    )


def _tiers(config, name: str) -> list[dict]:
    """Return the review and stop tiers the policy sets for a signal (config "tiers": {name: [review, stop]})."""
    tiers = config.get("tiers") if isinstance(config, dict) else None
    pair = tiers.get(name) if isinstance(tiers, dict) else None
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return []
    return [{"value": float(value), "label": f"{tier} tier"} for tier, value in zip(("review", "stop"), pair, strict=True)
            if isinstance(value, (int, float)) and not isinstance(value, bool)]


SIGNAL_LABELS = {
    "prompt_drift": "Prompt drift (drifted share)",
    "response_drift": "Response drift (drifted share)",
    "js_divergence": "Cluster occupancy of prompts and responses (JS divergence)",
    "quality_drop": "Quality score drop (relative drop)",
    "feedback_drop": "User feedback drop (relative drop)",
    "topic_novelty": "Topic novelty (novel share)",
    "label_drift": "Label drift (mean rating change)",
}


def policy_table(config: dict) -> dict:
    """Return the policy's signal configuration as one row per signal: its tiers and the highest outcome allowed."""
    raw_tiers, raw_caps = config.get("tiers"), config.get("max_severity")
    tiers = raw_tiers if isinstance(raw_tiers, dict) else {}
    caps = raw_caps if isinstance(raw_caps, dict) else {}
    rows = []
    for name in sorted(tiers, key=lambda key: (list(SIGNAL_LABELS).index(key) if key in SIGNAL_LABELS else 99, key)):
        pair = tiers[name] if isinstance(tiers[name], (list, tuple)) and len(tiers[name]) == 2 else (None, None)
        cap = caps.get(name)
        rows.append([SIGNAL_LABELS.get(name, name), _number(pair[0]), _number(pair[1]),
                     cap if cap else "as its embedding signal"])
    return data_table(
        columns=[("Signal (effect unit)", "long", "widest"), ("Review at", "num"), ("Stop at", "num"),
                 ("Highest outcome", "text")],
        rows=rows, caption="Signal tiers: an effect at or past a tier, significant after Holm, raises it",
        empty="The policy sets no tiers.")


def _significance_markers(series: dict, *, alpha: float) -> list[dict]:
    points = [(start, effect) for start, effect, p_adjusted in zip(
        series["window_start"], series["effect_size"], series.get("p_adjusted") or [None] * len(series["window_start"]),
        strict=True) if p_adjusted is not None and p_adjusted < alpha]
    return [{"name": f"significant after Holm (p < {alpha:g})", "shape": "diamond", "points": points}] if points else []


def _monitoring_presentation(data: dict) -> dict:
    config = (data["plan"]["policy"] or {}).get("config") or {}
    alpha = config.get("alpha", 0.01) if isinstance(config.get("alpha", 0.01), (int, float)) else 0.01
    charts = []
    for signal in data["signals"]:
        series = signal["series"]
        charts.append(line_chart_svg(
            [{"name": signal["name"], "points": list(zip(series["window_start"], series["effect_size"], strict=True))}],
            title=f"{signal['name']}: effect size per run", y_label=signal["effect_unit"] or "effect size",
            thresholds=_tiers(config, signal["name"]), markers=_significance_markers(series, alpha=alpha),
        ))
    unit = data["breakdown_unit"]
    return {
        "toc": _toc(("plan", "Monitoring plan"), ("runs", "Drift runs"), ("signals", "Signals over time"),
                    ("alerts", "Alerts and triage"), ("incidents", "Serious incidents (Art. 73)"),
                    ("halts", "Halts"), ("obligations", "Open obligations"), ("rules", "Rule texts followed")),
        "policy_table": policy_table(config) if config else None,
        "alpha": alpha,
        "finding": data["finding"],
        "signal_charts": charts,
        "signals_table": data_table(
            columns=[("Signal (unit)", "text"), ("Runs", "num"), ("Review / stop", "text"), ("Mean effect", "num"),
                     ("Max effect", "num"), ("Min adj. p", "num")],
            rows=[[f"{s['name']} ({s['effect_unit']})", s["runs"], f"{s['review']} / {s['stop']}",
                   _number(s["mean_effect"]), _number(s["max_effect"]), p_text(s["min_p_adjusted"])]
                  for s in data["signals"]],
            caption="Signals in the period", empty="No drift run in the period.",
        ),
        "breakdown_table": data_table(
            columns=[(unit.capitalize(), "text"), ("Signal", "text"), ("Runs", "num"), ("Review / stop", "text"),
                     ("Mean effect", "num"), ("Max effect", "num")],
            rows=[[row["bucket"].strftime("%Y-%m-%d" if unit == "day" else "%Y-%m"), row["name"], row["runs"],
                   f"{row['review']} / {row['stop']}", _number(row["mean_effect"]), _number(row["max_effect"])]
                  for row in data["breakdown"]],
            caption=f"Signals per {unit}", empty="No drift run in the period.",
        ),
        "alerts_table": _alerts_table(data["alerts"]),
        "alert_evidence_table": data_table(
            columns=[("Alert", "text"), ("Signal", "text"), ("Detail", "text"), ("Value", "long")],
            rows=[[alert["id"], entry["signal"], key, value] for alert in data["alerts"]
                  for entry in alert["evidence"] for key, value in entry["details"].items()],
            caption="What the signals that raised each alert reported (emerging topics, example prompts, ...)",
            empty="The signals that raised the alerts reported no further details."),
        "incidents_table": data_table(
            columns=[("Alert", "text"), ("Class", "long"), ("Aware since (UTC)", "text"), ("Deadline (days)", "num"),
                     ("Report by (UTC)", "text"), ("Deadline", "text")],
            rows=[[alert["id"], alert["incident"]["class_label"], _dt(alert["incident"]["aware_at"]) or "not recorded",
                   alert["incident"]["deadline_days"], _dt(alert["incident"]["deadline"]) or "—",
                   "passed" if alert["incident"]["deadline_passed"] else "open"]
                  for alert in data["serious_incidents"]],
            caption="Serious incidents and their Art. 73 reporting deadlines",
            empty="No alert was classified as a serious incident.",
        ),
        "halts_table": _halts_table(data["halts"]),
        "obligations_table": _obligations_table(data["open_obligations"], caption="Open obligations"),
    }


def _degradation_presentation(data: dict) -> dict:
    trend = data["trend"]
    threshold = data["threshold"]
    gaps = data["trend_gaps"]
    chart = line_chart_svg(
        [{"name": "relative drop", "points": _with_gaps([(row["bucket"], row["drop"]) for row in trend], gaps)},
         {"name": f"{data['confidence']:.0%} CI low",
          "points": _with_gaps([(row["bucket"], row["ci_low"]) for row in trend], gaps)},
         {"name": f"{data['confidence']:.0%} CI high",
          "points": _with_gaps([(row["bucket"], row["ci_high"]) for row in trend], gaps)}],
        title=f"Relative drop of the quality score per {data['trend_unit']} against the baseline",
        y_label="relative drop", thresholds=[{"value": threshold, "label": f"material ({threshold:.0%})"}],
    )
    signal = data["quality_signal"]["series"]
    above = data["windows_above_threshold"]
    signal_chart = line_chart_svg(
        [{"name": data["quality_signal"]["name"], "points": list(zip(signal["window_start"], signal["effect_size"], strict=True))}],
        title="Hourly quality signal (measured relative drop)", y_label="relative drop",
        thresholds=[{"value": threshold, "label": f"material ({threshold:.0%})"}],
        markers=[{"name": f"significant and above {threshold:.0%}", "shape": "diamond",
                  "points": [(window["window_start"], window["drop"]) for window in above]}] if above else (),
    )
    actions = data["actions"]
    return {
        "toc": _toc(("rules", "Rule texts and threshold"), ("metric", "Approved metric and baseline"),
                    ("determination", "Determination"), ("trend", "Trend"), ("actions", "Actions taken")),
        "trend_chart": chart,
        "signal_chart": signal_chart,
        "finding": data["finding"],
        "max_effect_text": _percent(data["quality_signal"]["max_effect"]),
        "gap_lines": [f"{gap['start']:%Y-%m-%d} to {gap['last']:%Y-%m-%d} ({gap['days']} "
                      f"{data['trend_unit']}{'s' if gap['days'] != 1 else ''} without scored traffic)"
                      if data["trend_unit"] == "day" else f"{gap['start']:%Y-%m} to {gap['last']:%Y-%m}"
                      for gap in gaps],
        "windows_table": data_table(
            columns=[("Window start (UTC)", "time"), ("Relative drop", "num"), ("Holm-adjusted p", "num")],
            rows=[[_dt(window["window_start"]), _percent(window["drop"]), p_text(window["p_adjusted"])]
                  for window in above],
            caption=f"Hourly windows with a significant quality drop above {threshold:.0%}",
            empty=f"No hourly window had a significant quality drop above {threshold:.0%}."),
        "drop_text": {key: _percent(data["drop"][key]) for key in ("drop", "ci_low", "ci_high")},
        "threshold_text": f"{threshold:.0%}",
        "confidence_text": f"{data['confidence']:.0%}",
        "trend_table": data_table(
            columns=[(data["trend_unit"].capitalize(), "text"), ("Scored records", "num"), ("Mean score", "num"),
                     ("Drop", "num"), ("CI low", "num"), ("CI high", "num")],
            rows=[[row["bucket"].strftime("%Y-%m-%d" if data["trend_unit"] == "day" else "%Y-%m"), row["n"],
                   _number(row["mean"]), _percent(row["drop"]), _percent(row["ci_low"]), _percent(row["ci_high"])]
                  for row in trend],
            caption=f"Quality score per {data['trend_unit']}", empty="No scored traffic in the period.",
        ),
        "alerts_table": _alerts_table(actions["alerts"]),
        "halts_table": _halts_table(actions["halts"]),
        "versions_table": data_table(
            columns=[("Model version", "text"), ("Adapter", "text"), ("Activated (UTC)", "text"), ("Status", "text")],
            rows=[[version["label"], version["adapter_method"], _dt(version["activated_at"]), version["status"]]
                  for version in actions["model_versions"]],
            caption="Model versions activated in the period (retraining, roll-back)",
            empty="No model version was activated in the period.",
        ),
        "obligations_table": _obligations_table(actions["obligations"],
                                                caption="Obligations created in the period or still open"),
        "action_events_table": data_table(
            columns=[("#", "num"), ("Time (UTC)", "text"), ("Action", "text"), ("By", "text"), ("Reason", "long")],
            rows=[[event["sequence"], _dt(event["created_at"]), event["action"], event["actor_display"],
                   event["reason"] or "—"] for event in actions["audit_events"]],
            caption="Actions recorded in the audit log during the period",
            empty="No triage, rebaseline, model change, halt or obligation was recorded in the period."),
    }


DEFINITIONS: dict[str, ReportDefinition] = {
    ReportKind.AUDIT_TRAIL: ReportDefinition(
        kind=ReportKind.AUDIT_TRAIL, title="Gate audit trail", template_name="reports/audit_trail.html",
        needs_period=False, presentation=_audit_trail_presentation),
    ReportKind.MONITORING: ReportDefinition(
        kind=ReportKind.MONITORING, title="Post-market monitoring report (EU AI Act Art. 72)",
        template_name="reports/monitoring.html", needs_period=True, presentation=_monitoring_presentation),
    ReportKind.DEGRADATION: ReportDefinition(
        kind=ReportKind.DEGRADATION, title="Material-degradation report", template_name="reports/degradation.html",
        needs_period=True, presentation=_degradation_presentation),
}

"""Each defect found by reading the reports as an auditor would, read back from the PDF: its text and its data."""
import io
import json
import random
import re
from datetime import timedelta

import pikepdf
import pytest

from governance.content import decision_content_hash
from governance.models import AuditEvent, Checklist, ChecklistItem, ChecklistTemplate, Decision, Signature
from monitoring.models import Alert, DriftRun, DriftSignal, MonitoringPolicy, TrafficRecord
from reports.services import report_render, report_request
from tests.reports.conftest import (
    BASELINE_END,
    BASELINE_START,
    PERIOD_END,
    PERIOD_START,
    _traffic,
    pdf_attachment,
    pdf_pages,
    squeezed,
)

pytestmark = pytest.mark.django_db


def _render(actor, use_case, kind, **period):
    report = report_render(report_id=report_request(actor=actor, use_case=use_case, kind=kind, enqueue=False,
                                                    **period).pk)
    assert report.status == "ready", report.error
    with report.file.open("rb") as handle:
        content = handle.read()
    return pdf_pages(content), json.loads(pdf_attachment(content)[1]), content


# --- Gate audit trail --------------------------------------------------------------------------------------------


@pytest.fixture
def audit_scenario(scenario, system_actor):
    """The report scenario with a condition on gate 1's decision and an ML Test Score checklist on gate 3."""
    decision = Decision.objects.filter(gate__use_case=scenario.use_case, gate__number=1).get()
    Decision.objects.filter(pk=decision.pk).update(conditions=[
        {"title": "Repeat the load test at 2x", "description": "With the production replica count.",
         "due_date": "2025-06-01", "owner_id": scenario.people.platform.pk}])
    template = ChecklistTemplate.objects.create(key="mlts-reports-test", title="ML Test Score", kind="ml_test_score",
                                                gate_numbers=[3])
    checklist = Checklist.objects.create(gate=scenario.gate3, template=template, title="ML Test Score",
                                         kind="ml_test_score", template_version=1)
    for position, (section, automation) in enumerate([("data", "automated"), ("model", "manual"),
                                                      ("infrastructure", "automated"), ("monitoring", "manual")]):
        ChecklistItem.objects.create(checklist=checklist, key=f"{section}-test", text=f"A {section} test",
                                     section=section, owner_role="platform_owner", status="done",
                                     automation=automation, position=position)
    # The content changed above; the governance owner's signatures are re-bound to it, the reviewer's stay broken.
    for gate_decision in Decision.objects.filter(gate__use_case=scenario.use_case):
        current = decision_content_hash(gate_decision)
        Decision.objects.filter(pk=gate_decision.pk).update(content_hash=current)
        Signature.objects.filter(decision=gate_decision, printed_name="Gwen Governance").update(content_hash=current)
    pages, data, content = _render(system_actor, scenario.use_case, "audit_trail")
    return pages, data, content


def test_conditions_print_as_sentences_with_the_owner_not_as_a_dict(audit_scenario):
    pages, data, _ = audit_scenario
    text = squeezed("".join(pages))

    assert squeezed("Repeat the load test at 2x (owner Pat Platform (pat), due 2025-06-01). "
                    "With the production replica count.") in text
    assert "owner_id" not in text
    condition = data["gates"][0]["decisions"][0]["conditions_readable"][0]
    assert condition["owner"] == "Pat Platform (pat)"


def test_url_evidence_shows_its_url(audit_scenario):
    pages, data, _ = audit_scenario
    text = squeezed("".join(pages))

    assert squeezed("Pilot results gate 3.pdf — https://wiki.example.com/claims/gate-3") in text
    evidence = data["gates"][1]["checklists"][0]["items"][0]["evidence"][0]
    assert evidence["kind"] == "url" and evidence["source"] == "https://wiki.example.com/claims/gate-3"


def test_the_ml_test_score_the_gate_was_decided_with_is_printed(audit_scenario):
    pages, data, _ = audit_scenario
    text = squeezed("".join(pages))

    # Sections: data 1, model 0.5, infrastructure 1, monitoring 0.5 -> the score is the weakest section, 0.5.
    score = data["gates"][1]["checklists"][1]["ml_test_score"]
    assert score["score"] == 0.5 and score["total"] == 3.0
    assert squeezed("ML Test Score: 0.5") in text
    assert squeezed("ML Test Score 0.5") in squeezed(pages[0])  # in the cover's finding


def test_event_times_and_action_codes_are_never_broken_inside(audit_scenario):
    pages, data, _ = audit_scenario
    lines = "\n".join(pages)

    for event in data["audit_events"]:
        moment = event["created_at"][:16].replace("T", " ")
        assert moment in lines, moment
        assert event["action"] in lines, event["action"]


def test_checklist_items_get_a_column_wide_enough_for_their_text(audit_scenario):
    pages, _, _ = audit_scenario
    lines = "\n".join(pages)

    # In a fifth of the page this text wrapped over three lines; now it fits on one.
    assert "effect-goals: Three measurable effect goals" in lines


def test_each_event_shows_its_previous_hash_and_the_chain_can_be_followed(audit_scenario):
    pages, data, _ = audit_scenario
    text = squeezed("".join(pages))

    assert squeezed("Previous hash") in text
    events = data["audit_events"]
    for event in events:
        assert event["prev_hash"][:12] in text and event["hash"][:12] in text
    stored = {event.sequence: event for event in AuditEvent.objects.filter(sequence__in=[e["sequence"] for e in events])}
    assert all(stored[event["sequence"]].prev_hash == event["prev_hash"] for event in events)


def test_the_cover_summarises_what_was_decided_with_a_finding(audit_scenario):
    pages, data, _ = audit_scenario
    cover = squeezed(pages[0])

    assert "Finding" in cover and squeezed("What was decided") in cover
    assert squeezed("Gate 1: after pilot: go on 2024-12-01") in cover
    assert squeezed("1 signature BROKEN") in cover
    assert squeezed(data["finding"]) in cover


# --- Post-market monitoring ------------------------------------------------------------------------------------------


@pytest.fixture
def monitoring_scenario(scenario, system_actor):
    """The scenario with a tiny p-value, a long float in the alert's details and a run at the period's last hour
    whose review alert was raised after the period ended."""
    use_case = scenario.use_case
    DriftSignal.objects.filter(run__use_case=use_case, name="quality_drop",
                               run__window_start=PERIOD_START + timedelta(hours=40)).update(p_adjusted=3e-12)
    DriftSignal.objects.filter(run__use_case=use_case, name="prompt_drift",
                               run__window_start=PERIOD_START + timedelta(hours=20)).update(
        details={"auc": 0.5453216789012345})
    last = DriftRun.objects.get(use_case=use_case, window_start=PERIOD_END - timedelta(hours=1))
    DriftRun.objects.filter(pk=last.pk).update(severity="review")
    DriftSignal.objects.filter(run=last, name="prompt_drift").update(severity="review", effect_size=0.08,
                                                                    p_adjusted=0.004)
    late = Alert.objects.create(use_case=use_case, run=last, severity="review", status="open",
                                summary={"raised_by": ["prompt_drift"]}, created_at=PERIOD_END + timedelta(minutes=4))
    pages, data, content = _render(system_actor, use_case, "monitoring", start=PERIOD_START, end=PERIOD_END)
    return pages, data, content, late


def test_the_policy_prints_as_a_table_of_tiers_not_dotted_keys(monitoring_scenario):
    pages, data, _, _ = monitoring_scenario
    text = squeezed("".join(pages))

    assert "max_severity" not in text and "tiers.prompt_drift" not in text
    assert squeezed("Prompt drift (drifted share)") in text
    assert squeezed("Review at") in text and squeezed("Stop at") in text
    assert data["plan"]["policy"]["config"]["tiers"]["prompt_drift"] == [0.05, 0.15]


def test_charts_mark_the_runs_significant_after_holm(monitoring_scenario):
    pages, data, _, _ = monitoring_scenario
    text = squeezed("".join(pages))

    # quality_drop (p 0.002) and topic_novelty (p 0.003) were significant in every run; prompt_drift (p 0.4)
    # only in the last run, which the fixture made so, so all three charts carry the marker's legend.
    assert text.count(squeezed("significant after Holm (p < 0.01)")) == 3
    series = {signal["name"]: signal["series"] for signal in data["signals"]}
    assert sum(p < 0.01 for p in series["prompt_drift"]["p_adjusted"]) == 1


def test_p_values_print_for_people(monitoring_scenario):
    pages, data, _, _ = monitoring_scenario
    text = "".join(pages)

    assert "0.000000" not in text
    assert "< 0.001" in text  # quality_drop's smallest adjusted p, 3e-12
    quality = next(signal for signal in data["signals"] if signal["name"] == "quality_drop")
    assert quality["min_p_adjusted"] == 3e-12  # the data keeps the exact value


def test_alert_details_print_three_significant_digits(monitoring_scenario):
    pages, data, _, _ = monitoring_scenario
    text = squeezed("".join(pages))

    assert "0.5453216789" not in text and squeezed("auc0.545") in squeezed(text.replace(":", ""))
    raw = [entry for alert in data["alerts"] for entry in alert["evidence"] if entry["signal"] == "prompt_drift"]
    assert raw and raw[0]["details"]["auc"] == "0.545"


def test_alerts_are_selected_by_their_runs_window_like_the_runs(monitoring_scenario):
    _, data, _, late = monitoring_scenario

    assert data["runs"]["review"] == 2
    reviews = [alert["id"] for alert in data["alerts"] if alert["severity"] == "review"]
    assert late.pk in reviews and len(reviews) == data["runs"]["review"]


def test_page_one_states_an_overall_finding(monitoring_scenario):
    pages, data, _, _ = monitoring_scenario
    cover = squeezed(pages[0])

    assert "Finding" in cover
    assert squeezed("72 drift runs covered the period: 69 ok, 2 at review and 1 at stop") in cover
    assert squeezed("1 serious incident (Art. 73) recorded.") in cover
    assert squeezed(data["finding"]) in cover


# --- Material degradation -----------------------------------------------------------------------------------------


@pytest.fixture
def windows_scenario(members, people, system_actor):
    """Scores barely moved over the period, but three hourly runs measured a significant 12-13% drop."""
    use_case = members
    MonitoringPolicy.objects.create(use_case=use_case, material_degradation=0.10, config={"alpha": 0.01})
    baseline_scenario(use_case)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, window_start=PERIOD_START + timedelta(hours=hour),
                 window_end=PERIOD_START + timedelta(hours=hour + 1), status="succeeded", n=400,
                 severity="review" if hour in (30, 31, 32) else "ok") for hour in range(72)])
    DriftSignal.objects.bulk_create([
        DriftSignal(run=run, name="quality_drop", statistic=4.0, p_value=0.0001,
                    p_adjusted=0.0004 if index in (30, 31, 32) else 0.6,
                    effect_size=0.12 + 0.005 * (index - 30) if index in (30, 31, 32) else 0.004,
                    effect_unit="relative_drop", severity="review" if index in (30, 31, 32) else "ok")
        for index, run in enumerate(runs)])
    stop_run = runs[31]
    # Raised after the period ended: both period reports still list it, because its run lies in the period.
    Alert.objects.create(use_case=use_case, run=stop_run, severity="stop", status="open",
                         summary={"raised_by": ["quality_drop"]}, created_at=PERIOD_END + timedelta(minutes=1))
    return use_case


def baseline_scenario(use_case):
    from monitoring.models import Baseline

    Baseline.objects.create(use_case=use_case, start=BASELINE_START, end=BASELINE_END, status="frozen",
                            embedding_model="all-MiniLM-L6-v2", n_records=120, artifact_sha256="cd" * 32,
                            frozen_at=BASELINE_END)
    rng = random.Random(11)
    _traffic(use_case, start=BASELINE_START, hours=30, mean=0.80, rng=rng, prefix="base")
    _traffic(use_case, start=PERIOD_START, hours=30, mean=0.795, rng=rng, prefix="now")


def test_hourly_windows_above_the_threshold_make_the_period_material(windows_scenario, system_actor):
    pages, data, _ = _render(system_actor, windows_scenario, "degradation", start=PERIOD_START, end=PERIOD_END)
    text = squeezed("".join(pages))

    assert data["drop"]["ci_high"] < 0.10  # the pooled figure alone would say "no material degradation"
    assert data["determination"]["outcome"] == "material_in_windows"
    assert [window["drop"] for window in data["windows_above_threshold"]] == pytest.approx([0.12, 0.125, 0.13])
    assert squeezed("Material degradation in 3 hourly windows") in squeezed(pages[0])
    assert squeezed("No material degradation") not in text


def test_the_period_figure_leaves_out_the_baselines_own_days(windows_scenario, system_actor):
    start = BASELINE_START + timedelta(hours=6)  # a period that overlaps the baseline's traffic
    _, data, _ = _render(system_actor, windows_scenario, "degradation", start=start, end=PERIOD_END)

    outside = TrafficRecord.objects.filter(use_case=windows_scenario, timestamp__gte=BASELINE_END,
                                           timestamp__lt=PERIOD_END).count()
    assert data["period_stats"]["n"] == outside
    assert data["excluded_baseline_days"]["start"].startswith(BASELINE_START.date().isoformat())
    assert all(not row["bucket"].startswith("2025-01") for row in data["trend"])


def test_the_daily_trend_breaks_where_days_have_no_data(members, system_actor):
    rng = random.Random(5)
    _traffic(members, start=PERIOD_START, hours=10, mean=0.8, rng=rng, prefix="a")
    _traffic(members, start=PERIOD_START + timedelta(days=12), hours=10, mean=0.7, rng=rng, prefix="b")
    baseline_only = BASELINE_START
    _traffic(members, start=baseline_only, hours=10, mean=0.8, rng=rng, prefix="c")
    from monitoring.models import Baseline
    Baseline.objects.create(use_case=members, start=BASELINE_START, end=BASELINE_END, status="frozen",
                            embedding_model="m", n_records=40, frozen_at=BASELINE_END)

    pages, data, _ = _render(system_actor, members, "degradation", start=PERIOD_START,
                             end=PERIOD_START + timedelta(days=14))

    assert data["trend_gaps"] == [{"start": "2025-03-02T00:00:00Z", "last": "2025-03-12T00:00:00Z", "days": 11}]
    assert squeezed("2025-03-02 to 2025-03-12 (11 days without scored traffic)") in squeezed("".join(pages))


def test_the_degradation_report_lists_the_alerts_the_monitoring_report_lists(windows_scenario, system_actor):
    _, degradation, _ = _render(system_actor, windows_scenario, "degradation", start=PERIOD_START, end=PERIOD_END)
    _, monitoring, _ = _render(system_actor, windows_scenario, "monitoring", start=PERIOD_START, end=PERIOD_END)

    listed = [alert["id"] for alert in degradation["actions"]["alerts"]]
    assert listed and listed == [alert["id"] for alert in monitoring["alerts"]]
    assert degradation["actions"]["alerts"][0]["severity"] == "stop"


# --- All three ----------------------------------------------------------------------------------------------------


def test_every_report_is_tagged_for_pdf_ua_as_well_as_pdf_a_3b(scenario, system_actor):
    for kind, period in (("audit_trail", {}), ("monitoring", {"start": PERIOD_START, "end": PERIOD_END}),
                         ("degradation", {"start": PERIOD_START, "end": PERIOD_END})):
        pages, data, content = _render(system_actor, scenario.use_case, kind, **period)
        pdf = pikepdf.open(io.BytesIO(content))
        metadata = pdf.open_metadata()
        assert metadata["pdfaid:part"] == "3" and metadata["pdfaid:conformance"] == "B"
        assert metadata["pdfuaid:part"] == "1"
        root = pdf.Root
        assert bool(root.MarkInfo.Marked) is True
        assert "/StructTreeRoot" in root and "/Lang" in root
        assert bool(root.ViewerPreferences.DisplayDocTitle) is True
        tags = {str(element.get("/S")) for element in _structure(root.StructTreeRoot)}
        assert {"/H1", "/H2", "/Table", "/TH", "/TD"} <= tags
        # A finding on page 1 of each, the same paragraph the data carries.
        assert "Finding" in pages[0] and squeezed(data["finding"]) in squeezed(pages[0])


def _structure(node, depth=0):
    if depth > 40:
        return
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _structure(kid, depth + 1)


def test_numbers_print_for_people_in_every_report(scenario, system_actor):
    for kind in ("monitoring", "degradation"):
        pages, _, _ = _render(system_actor, scenario.use_case, kind, start=PERIOD_START, end=PERIOD_END)
        text = "".join(pages)
        assert not re.search(r"\d\.\d{7,}", text), kind  # no 16-digit floats
        assert "0.000000" not in text

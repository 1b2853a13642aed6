"""report_render: each report renders to a PDF/A-3b whose pages, text and embedded data can be read back."""
import io
import json
from datetime import timedelta

import pikepdf
import pytest
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from governance.audit import audit_chain_head, audit_record
from governance.models import AuditEvent
from reports import services
from reports.models import ReportStatus
from reports.rendering import ReportRenderingError, sha256_hex
from reports.services import report_render, report_request
from tests.reports.conftest import (
    HOSTILE_NOTE,
    HOSTILE_PROMPT,
    HOSTILE_REASON,
    PERIOD_END,
    PERIOD_START,
    pdf_attachment,
    pdf_pages,
    squeezed,
)

pytestmark = pytest.mark.django_db


def _render(scenario, kind, **period):
    report = report_request(actor=scenario.actor, use_case=scenario.use_case, kind=kind, enqueue=False, **period)
    report = report_render(report_id=report.pk)
    assert report.status == ReportStatus.READY, report.error
    with report.file.open("rb") as handle:
        return report, handle.read()


@pytest.fixture
def requester(scenario, system_actor):
    scenario.actor = system_actor
    return scenario


@pytest.fixture
def audit_trail(requester):
    return _render(requester, "audit_trail")


@pytest.fixture
def monitoring(requester):
    return _render(requester, "monitoring", start=PERIOD_START, end=PERIOD_END)


@pytest.fixture
def degradation(requester):
    return _render(requester, "degradation", start=PERIOD_START, end=PERIOD_END)


def test_the_stored_file_matches_its_recorded_sha256_and_size(audit_trail):
    report, content = audit_trail

    assert report.sha256 == sha256_hex(content)
    assert report.size == len(content)


def test_every_report_identifies_itself_as_pdf_a_3b(audit_trail, monitoring, degradation):
    for _, content in (audit_trail, monitoring, degradation):
        metadata = pikepdf.open(io.BytesIO(content)).open_metadata()
        assert metadata["pdfaid:part"] == "3"
        assert metadata["pdfaid:conformance"] == "B"


def test_the_audit_trail_lists_gates_evidence_signatures_and_the_chain(audit_trail, requester):
    report, content = audit_trail
    pages = pdf_pages(content)
    text = squeezed("".join(pages))

    assert len(pages) >= 4
    assert squeezed("Gate 1: after pilot") in text
    assert squeezed("Gate 3: after rollout") in text
    assert squeezed("Pilot results gate 3.pdf") in text
    assert squeezed("Gwen Governance") in text and squeezed("approved as governance owner") in text
    assert "BROKEN" in text
    assert squeezed("Intact: every event's link and hash hold") in text
    assert report.chain_head in text


def test_the_audit_trail_embeds_its_data_with_signature_validity_and_every_event(audit_trail, requester):
    report, content = audit_trail

    name, raw = pdf_attachment(content)
    data = json.loads(raw)

    assert name == "audit_trail-data.json"
    assert data["chain_head"] == report.chain_head
    assert data["chain_verification"]["ok"] is True
    signatures = {s["printed_name"]: s["valid"] for g in data["gates"] for d in g["decisions"] for s in d["signatures"]}
    assert signatures == {"Gwen Governance": True, "Rui Reviewer": False}
    listed = [event["sequence"] for event in data["audit_events"]]
    covered = data["chain_verification"]["count"]
    stored = list(AuditEvent.objects.filter(use_case=requester.use_case, sequence__lte=covered)
                  .values_list("sequence", flat=True))
    assert listed == stored
    assert "report.requested" in [event["action"] for event in data["audit_events"]]
    criteria = data["gates"][0]["decisions"][0]["criteria"]
    assert criteria[1]["reasons"] == ["No baseline frozen yet"]


def test_user_text_is_printed_as_text_not_markup(audit_trail, monitoring):
    for _, content in (audit_trail, monitoring):
        text = squeezed("".join(pdf_pages(content)))
        assert squeezed(HOSTILE_NOTE) in text
    assert squeezed(HOSTILE_REASON) in squeezed("".join(pdf_pages(audit_trail[1])))


def test_the_monitoring_report_shows_runs_alerts_and_the_art_73_deadline(monitoring):
    report, content = monitoring
    pages = pdf_pages(content)
    text = squeezed("".join(pages))

    assert len(pages) >= 4
    assert squeezed("Post-market monitoring report (EU AI Act Art. 72)") in text
    assert squeezed("72 (72 succeeded") in text
    assert squeezed("Death of a person (10 days)") in text
    assert squeezed("2025-03-12 08:00") in text  # aware 2025-03-02 08:00 + 10 days
    assert squeezed("legitimate_change") in text
    assert squeezed("halted automatically by the policy") in text
    assert squeezed("Retrain plan") in text  # the overdue obligation
    assert squeezed(HOSTILE_PROMPT) in text  # an example prompt of the emerging topic that raised the review alert
    assert squeezed("terms: hail, roof") in text
    assert "reviewtier" in text and "stoptier" in text  # the policy's tiers drawn on the prompt_drift chart
    assert squeezed("40 values (in the drift run's record)") in text


def test_the_monitoring_report_embeds_the_hourly_series_of_each_signal(monitoring):
    _, content = monitoring

    data = json.loads(pdf_attachment(content)[1])

    assert [signal["name"] for signal in data["signals"]] == ["prompt_drift", "quality_drop", "topic_novelty"]
    assert all(len(signal["series"]["effect_size"]) == 72 for signal in data["signals"])
    assert data["runs"]["review"] == 1 and data["runs"]["stop"] == 1
    incident = data["serious_incidents"][0]["incident"]
    assert incident["deadline_days"] == 10
    assert incident["deadline"].startswith("2025-03-12T08:00")
    assert data["plan"]["baselines"][0]["summary"] == {"k": 20, "score_mean": 0.8}


def test_the_degradation_report_finds_the_drop_material_and_says_the_threshold_is_policy(degradation):
    _, content = degradation
    text = squeezed("".join(pdf_pages(content)))

    data = json.loads(pdf_attachment(content)[1])

    assert data["determination"]["outcome"] == "material"
    assert 0.2 < data["drop"]["ci_low"] < data["drop"]["drop"] < data["drop"]["ci_high"] < 0.3
    assert data["threshold"] == 0.10
    assert squeezed("Material degradation.") in text
    assert squeezed("NYDFS Insurance Circular Letter No. 7 (2024)") in text
    assert squeezed("SR 11-7") in text and squeezed("Art. 72") in text
    assert squeezed("is this platform's configurable policy, not a number taken from a rule text") in text
    assert squeezed("the baseline frozen when gate 3 was decided (2025-02-01)") in text


def test_a_ready_report_is_not_rendered_again(audit_trail):
    report, _ = audit_trail
    events = AuditEvent.objects.count()

    again = report_render(report_id=report.pk)

    assert again.sha256 == report.sha256 and again.file.name == report.file.name
    assert AuditEvent.objects.count() == events


def test_rendering_records_the_sha256_and_chain_head_in_the_audit_log(audit_trail):
    report, _ = audit_trail

    event = AuditEvent.objects.get(action="report.rendered", object_id=str(report.pk))

    assert event.after["sha256"] == report.sha256
    assert event.after["chain_head"] == report.chain_head
    assert report.chain_head != audit_chain_head()  # the rendered event came after the data was taken


def test_a_report_that_cannot_be_rendered_is_marked_failed_with_the_error(requester, monkeypatch):
    report = report_request(actor=requester.actor, use_case=requester.use_case, kind="monitoring", enqueue=False,
                            start=PERIOD_START, end=PERIOD_END)

    def refuse(**kwargs):
        raise ReportRenderingError("report context lacks chain_head")

    monkeypatch.setattr(services, "build_report", refuse)
    failed = report_render(report_id=report.pk)

    assert failed.status == ReportStatus.FAILED
    assert failed.error == "ReportRenderingError: report context lacks chain_head"
    assert not failed.file
    assert AuditEvent.objects.filter(action="report.failed", object_id=str(report.pk)).exists()


def test_a_use_case_without_monitoring_still_gets_monitoring_and_degradation_reports(members, system_actor):
    for kind in ("monitoring", "degradation"):
        report = report_request(actor=system_actor, use_case=members, kind=kind, enqueue=False,
                                start=PERIOD_START, end=PERIOD_END)
        report = report_render(report_id=report.pk)
        assert report.status == ReportStatus.READY, report.error
        with report.file.open("rb") as handle:
            content = handle.read()
        text = squeezed("".join(pdf_pages(content)))
        data = json.loads(pdf_attachment(content)[1])
        if kind == "monitoring":
            assert squeezed("No monitoring policy is configured for this use case.") in text
            assert data["signals"] == [] and data["runs"]["total"] == 0
        else:
            assert data["determination"]["outcome"] == "insufficient_data"
            assert data["threshold"] == 0.10
            assert squeezed("the platform default (DRIFTGATE_MATERIAL_DEGRADATION)") in text


def test_halts_and_actions_recorded_in_the_audit_log_appear_in_the_period_reports(members, people, system_actor):
    now = timezone.now()
    with transaction.atomic():
        audit_record(actor=system_actor, action="use_case.halted", obj=members, use_case=members,
                     reason="stop alert on quality_drop")
        audit_record(actor=Actor.for_user(people.platform), action="alert.triaged", object_type="monitoring.alert",
                     object_id="9", use_case=members, reason="harmful degradation confirmed")
    period = {"start": now - timedelta(days=1), "end": now + timedelta(hours=1)}

    monitoring = report_render(report_id=report_request(actor=system_actor, use_case=members, kind="monitoring",
                                                        enqueue=False, **period).pk)
    degradation = report_render(report_id=report_request(actor=system_actor, use_case=members, kind="degradation",
                                                         enqueue=False, **period).pk)

    with monitoring.file.open("rb") as handle:
        halts = json.loads(pdf_attachment(handle.read())[1])["halts"]
    with degradation.file.open("rb") as handle:
        content = handle.read()
    actions = json.loads(pdf_attachment(content)[1])["actions"]["audit_events"]
    assert [halt["what"] for halt in halts] == ["use_case.halted"]
    assert halts[0]["reason"] == "stop alert on quality_drop"
    assert [event["action"] for event in actions] == ["use_case.halted", "alert.triaged"]
    assert squeezed("harmful degradation confirmed") in squeezed("".join(pdf_pages(content)))

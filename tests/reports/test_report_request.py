"""report_request and report_download: who may ask for and fetch reports, which periods are accepted, and what
the audit log keeps of it."""
from datetime import UTC, datetime, timedelta

import pytest

from driftgate.actors import Actor
from driftgate.errors import ApplicationError, Conflict, PermissionRefused, ValidationFailed
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from reports.models import Report, ReportStatus
from reports.services import report_download, report_render, report_request

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("role", ["governance", "reviewer", "product", "platform"])
def test_owners_and_reviewers_may_request_a_report(members, people, role):
    report = report_request(actor=Actor.for_user(getattr(people, role)), use_case=members, kind="audit_trail",
                            enqueue=False)

    assert report.status == ReportStatus.QUEUED
    assert report.requested_by == getattr(people, role)


def test_a_viewer_may_not_request_a_report(members, people):
    with pytest.raises(PermissionRefused) as refused:
        report_request(actor=Actor.for_user(people.viewer), use_case=members, kind="audit_trail", enqueue=False)

    assert refused.value.code == "missing_role"
    assert not Report.objects.exists()


def test_a_request_is_audited_with_its_parameters(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="monitoring",
                            start=START, end=START + timedelta(days=7), enqueue=False)

    event = AuditEvent.objects.get(action="report.requested")
    assert event.object_id == str(report.pk)
    assert event.use_case == members
    assert event.actor_user == people.governance
    assert event.after["parameters"]["start"] == "2025-03-01T00:00:00+00:00"
    assert event.after["parameters"]["end"] == "2025-03-08T00:00:00+00:00"


def test_an_unknown_kind_is_refused_with_invalid_report_kind(members, people):
    with pytest.raises(ValidationFailed) as refused:
        report_request(actor=Actor.for_user(people.governance), use_case=members, kind="everything", enqueue=False)

    assert refused.value.code == "invalid_report_kind"
    assert not AuditEvent.objects.filter(action="report.requested").exists()


@pytest.mark.parametrize("start, end", [
    (START, START),
    (START, START - timedelta(hours=1)),
    (START, START + timedelta(days=401)),
    (START, None),
    (START.replace(tzinfo=None), START.replace(tzinfo=None) + timedelta(days=1)),
])
def test_a_bad_period_is_refused_with_invalid_period(members, people, start, end):
    with pytest.raises(ValidationFailed) as refused:
        report_request(actor=Actor.for_user(people.governance), use_case=members, kind="monitoring", start=start,
                       end=end, enqueue=False)

    assert refused.value.code == "invalid_period"
    assert not Report.objects.exists()


def test_a_period_of_400_days_is_accepted(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="degradation",
                            start=START, end=START + timedelta(days=400), enqueue=False)

    assert report.parameters["period_defaulted"] is False


def test_a_monitoring_report_without_a_period_covers_the_last_30_whole_days(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="monitoring",
                            enqueue=False)

    start = datetime.fromisoformat(report.parameters["start"])
    end = datetime.fromisoformat(report.parameters["end"])
    assert end - start == timedelta(days=30)
    assert (end.minute, end.second, end.microsecond) == (0, 0, 0)
    assert report.parameters["period_defaulted"] is True


def test_an_audit_trail_without_a_period_covers_the_whole_history(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)

    assert report.parameters["start"] is None and report.parameters["end"] is None


def test_a_token_needs_the_reports_scope_and_its_owner_a_role(members, people, system_actor):
    unscoped, _ = api_token_create(actor=system_actor, owner_username=people.governance.username, name="gov",
                                   scopes=["governance:read"])
    outsider, _ = api_token_create(actor=system_actor, owner_username=people.outsider.username, name="out",
                                   scopes=["reports:read"])

    with pytest.raises(PermissionRefused) as no_scope:
        report_request(actor=Actor.for_token(unscoped), use_case=members, kind="audit_trail", enqueue=False)
    with pytest.raises(PermissionRefused) as no_role:
        report_request(actor=Actor.for_token(outsider), use_case=members, kind="audit_trail", enqueue=False)

    assert no_scope.value.code == "missing_scope"
    assert no_role.value.code == "missing_role"


def test_the_request_queues_rendering_once_it_commits(members, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail")

    report.refresh_from_db()
    assert len(callbacks) == 1
    assert report.status == ReportStatus.READY
    assert report.file.name.endswith(".pdf")


def test_a_viewer_may_download_a_ready_report_and_the_download_is_audited(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)
    report = report_render(report_id=report.pk)

    content, filename = report_download(actor=Actor.for_user(people.viewer), report=report)

    assert content.startswith(b"%PDF-")
    assert filename == f"driftgate-audit-trail-{members.slug}-{report.pk}-{report.finished_at:%Y%m%dT%H%M%SZ}.pdf"
    event = AuditEvent.objects.get(action="report.downloaded")
    assert event.actor_user == people.viewer
    assert event.after["sha256"] == report.sha256


def test_a_report_that_is_not_ready_cannot_be_downloaded(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)

    with pytest.raises(Conflict) as refused:
        report_download(actor=Actor.for_user(people.governance), report=report)

    assert refused.value.code == "report_not_ready"
    assert refused.value.extra["status"] == "queued"
    assert not AuditEvent.objects.filter(action="report.downloaded").exists()


def test_an_outsider_may_not_download(members, people):
    report = report_render(report_id=report_request(actor=Actor.for_user(people.governance), use_case=members,
                                                    kind="audit_trail", enqueue=False).pk)

    with pytest.raises(PermissionRefused):
        report_download(actor=Actor.for_user(people.outsider), report=report)


def test_a_file_changed_on_disk_is_not_handed_out(members, people):
    report = report_render(report_id=report_request(actor=Actor.for_user(people.governance), use_case=members,
                                                    kind="audit_trail", enqueue=False).pk)
    with open(report.file.path, "ab") as handle:
        handle.write(b"%% appended later")

    with pytest.raises(ApplicationError) as refused:
        report_download(actor=Actor.for_user(people.governance), report=report)

    assert refused.value.code == "report_integrity_failed"
    assert refused.value.status_code == 500
    assert not AuditEvent.objects.filter(action="report.downloaded").exists()

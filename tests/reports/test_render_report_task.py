"""The render_report task: on the reports queue, acknowledged late, and idempotent on re-delivery."""
import pytest
from django.conf import settings
from django.db import OperationalError

from driftgate.actors import Actor
from governance.models import AuditEvent
from reports.models import ReportStatus
from reports.services import report_request
from reports.tasks import RenderReportTask, render_report

pytestmark = pytest.mark.django_db


def test_the_task_is_routed_to_the_reports_queue_and_acknowledged_after_the_work():
    route = next(target for pattern, target in settings.CELERY_TASK_ROUTES.items()
                 if pattern == "reports.tasks.*")

    assert render_report.name == "reports.tasks.render_report"
    assert route == {"queue": "reports"}
    assert render_report.acks_late is True
    assert render_report.soft_time_limit < render_report.time_limit


def test_a_redelivered_message_does_not_render_the_report_twice(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)

    first = render_report.apply(args=[report.pk]).get()
    report.refresh_from_db()
    second = render_report.apply(args=[report.pk]).get()

    assert first == second == ReportStatus.READY
    assert AuditEvent.objects.filter(action="report.rendered", object_id=str(report.pk)).count() == 1
    report.refresh_from_db()
    assert len(list(report.file.storage.listdir(members.slug)[1])) == 1


def test_a_report_whose_retries_run_out_is_marked_failed(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)
    error = OperationalError("server closed the connection unexpectedly")

    # Celery calls on_failure once autoretry gives up (MaxRetriesExceeded re-raises the last error).
    render_report.on_failure(error, "task-1", (report.pk,), {}, None)

    report.refresh_from_db()
    assert isinstance(render_report, RenderReportTask)
    assert report.status == ReportStatus.FAILED
    assert "server closed the connection" in report.error
    assert AuditEvent.objects.filter(action="report.failed", object_id=str(report.pk)).exists()


def test_a_ready_report_is_not_marked_failed_by_a_late_failure(members, people):
    report = report_request(actor=Actor.for_user(people.governance), use_case=members, kind="audit_trail",
                            enqueue=False)
    render_report.apply(args=[report.pk]).get()

    render_report.on_failure(OperationalError("late"), "task-2", (report.pk,), {}, None)

    report.refresh_from_db()
    assert report.status == ReportStatus.READY

"""The sweep re-sends reports whose render message was lost, and leaves fresh and finished ones alone."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.actors import Actor
from reports.models import Report, ReportStatus
from reports.services import report_request, reports_requeue_waiting

pytestmark = pytest.mark.django_db


def test_only_reports_waiting_past_the_cut_off_are_sent_again(members, people):
    actor = Actor.for_user(people.governance)
    lost = report_request(actor=actor, use_case=members, kind="audit_trail", enqueue=False)
    fresh = report_request(actor=actor, use_case=members, kind="audit_trail", enqueue=False)
    Report.objects.filter(pk=lost.pk).update(requested_at=timezone.now() - timedelta(minutes=6))

    sent = reports_requeue_waiting(older_than=timedelta(minutes=5))

    # Tasks run in-process here (no broker), so re-sending renders at once.
    assert sent == 1
    assert Report.objects.get(pk=lost.pk).status == ReportStatus.READY
    assert Report.objects.get(pk=fresh.pk).status == ReportStatus.QUEUED
    assert reports_requeue_waiting(older_than=timedelta(minutes=5)) == 0

"""Client times are normalised to UTC at the edge; a time PostgreSQL cannot store is a 400, never a 500."""
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import quote

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.datetimes import OutOfRange, parse_aware_datetime, parse_utc_datetime
from governance.audit import audit_record
from reports.models import Report
from reports.services import report_request
from tests.factories import DriftRunFactory

# Python accepts offsets up to ±23:59; PostgreSQL refuses anything past ±15:59 with a DataError.
FAR_OFFSET = "2026-01-01T00:00:00+19:00"


def test_a_far_offset_is_read_as_its_instant_in_utc():
    value = parse_utc_datetime(FAR_OFFSET)

    assert value == datetime(2025, 12, 31, 5, 0, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


def test_a_time_that_leaves_the_calendar_in_utc_is_out_of_range():
    with pytest.raises(OutOfRange):
        parse_utc_datetime("0001-01-01T00:00:00+01:00")
    assert parse_aware_datetime("9999-12-31T23:00:00-05:00") is None


def test_naive_and_impossible_times_are_not_read():
    assert parse_utc_datetime("2026-01-01T00:00:00") is None
    assert parse_utc_datetime("2026-02-30T00:00:00Z") is None


def audit_record_for_test(use_case):
    with transaction.atomic():
        audit_record(actor=Actor.system("tests"), action="use_case.updated", obj=use_case, use_case=use_case)


@pytest.fixture
def viewer(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "governance_owner")
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/audit-events", "/api/v1/use-cases/{slug}/runs"])
def test_a_far_offset_in_since_filters_instead_of_failing(viewer, use_case, path):
    DriftRunFactory(use_case=use_case, window_start=timezone.now().replace(minute=0, second=0, microsecond=0)
                    - timedelta(hours=1))

    audit_record_for_test(use_case)
    since = (timezone.now() - timedelta(days=1)).astimezone(dt_timezone(timedelta(hours=19))).isoformat()

    response = viewer.get(path.format(slug=use_case.slug) + "?since=" + quote(since))
    later = viewer.get(path.format(slug=use_case.slug) + "?since=" + quote("2999-01-01T00:00:00+19:00"))

    assert response.status_code == 200, response.content
    assert response.json()["count"] >= 1
    assert later.status_code == 200 and later.json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/audit-events", "/api/v1/use-cases/{slug}/runs"])
def test_a_time_outside_the_calendar_is_refused_with_a_stable_code(viewer, use_case, path):
    response = viewer.get(path.format(slug=use_case.slug) + "?until=" + quote("0001-01-01T00:00:00+01:00"))

    assert response.status_code == 400
    assert response.json()["code"] == "datetime_out_of_range"
    assert response.json()["extra"]["parameter"] == "until"


@pytest.mark.django_db
def test_a_report_period_with_a_far_offset_is_stored_in_utc(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "governance_owner")
    start = datetime(2026, 1, 1, tzinfo=dt_timezone(timedelta(hours=19)))
    report = report_request(actor=Actor.for_user(user), use_case=use_case, kind="monitoring", start=start,
                            end=start + timedelta(days=1), enqueue=False)

    stored = Report.objects.get(pk=report.pk).parameters
    assert stored["start"] == "2025-12-31T05:00:00+00:00"
    assert stored["end"] == "2026-01-01T05:00:00+00:00"

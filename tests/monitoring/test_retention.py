"""Monthly partitions and the retention purge on PostgreSQL: drop what expired, keep everything derived."""
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from driftgate.actors import Actor
from governance.models import AuditEvent
from monitoring.ingest import partitions, writer
from monitoring.ingest.digest import text_digest
from monitoring.ingest.validation import CleanRecord
from monitoring.models import Baseline, BaselineStatus, DataProtectionPolicy, TrafficKey, TrafficRecord
from monitoring.services.retention import traffic_partitions_prepare, traffic_purge
from monitoring.tasks.retention import traffic_retention
from tests.factories import AlertFactory, DriftRunFactory, DriftSignalFactory, ModelVersionFactory, UseCaseFactory

pytestmark = pytest.mark.usefixtures("postgres_only")

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
ACTOR = Actor.system("tests")


@pytest.fixture
def monthly_only(db):
    """Take the test database's default partition away, so rows need their month's partition, as in production."""
    partitions.forget_partitions()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE monitoring_trafficrecord DETACH PARTITION monitoring_trafficrecord_default")
        cursor.execute("DROP TABLE monitoring_trafficrecord_default")
    yield
    # The test's transaction rolls the DDL back; what this process believes exists must be forgotten too.
    partitions.forget_partitions()


def _record(external_id: str, moment: datetime, version_id: int, prompt: str = "How do I reset my password?"):
    return CleanRecord(external_id=external_id, timestamp=moment, hour=moment.replace(minute=0, second=0),
                       prompt=prompt, response="Use the link.", prompt_digest=text_digest(prompt),
                       response_digest=text_digest("Use the link."), model_version_id=version_id, score=0.8,
                       feedback=None, segment="")


def _store(use_case, moments: dict[str, datetime]):
    version = use_case.model_versions.first() or ModelVersionFactory(use_case=use_case, label="v1")
    result = writer.write_records(use_case_id=use_case.pk, received_at=NOW,
                                  records=[_record(key, moment, version.pk) for key, moment in moments.items()])
    # Check the deferred foreign keys now, as a commit would: the test's one transaction otherwise still holds
    # them pending, and PostgreSQL will not drop a table with pending trigger events.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return result


def _names() -> list[str]:
    return [partition.name for partition in partitions.existing_partitions()]


def _ids(use_case) -> list[str]:
    return sorted(TrafficRecord.objects.filter(use_case=use_case).values_list("external_id", flat=True))


def test_the_traffic_table_is_partitioned_by_month_with_partitions_ahead(monthly_only):
    assert partitions.is_partitioned()
    created = traffic_partitions_prepare(now=datetime(2031, 11, 20, tzinfo=UTC))
    assert created == ["monitoring_trafficrecord_p2031_11", "monitoring_trafficrecord_p2031_12",
                       "monitoring_trafficrecord_p2032_01"]
    assert traffic_partitions_prepare(now=datetime(2031, 11, 20, tzinfo=UTC)) == []


def test_a_backfill_creates_its_month_on_the_first_write_and_rows_land_in_it(monthly_only, use_case):
    result = _store(use_case, {"old-1": datetime(2026, 7, 3, 8, tzinfo=UTC), "old-2": datetime(2026, 7, 30, tzinfo=UTC),
                               "aug": datetime(2026, 8, 1, tzinfo=UTC)})
    assert (result.inserted, result.duplicate) == (3, 0)
    assert {"monitoring_trafficrecord_p2026_07", "monitoring_trafficrecord_p2026_08"} <= set(_names())
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id FROM monitoring_trafficrecord_p2026_07 ORDER BY 1")
        assert [row[0] for row in cursor.fetchall()] == ["old-1", "old-2"]


def test_an_external_id_is_a_duplicate_even_with_a_timestamp_in_another_month(monthly_only, use_case):
    _store(use_case, {"req-1": datetime(2026, 11, 10, tzinfo=UTC)})
    again = _store(use_case, {"req-1": datetime(2026, 9, 1, tzinfo=UTC), "req-2": datetime(2026, 9, 1, tzinfo=UTC)})
    assert (again.inserted, again.duplicate) == (1, 1)
    assert TrafficRecord.objects.filter(external_id="req-1").count() == 1
    assert TrafficKey.objects.filter(use_case=use_case).count() == 2


def _derived_state(use_case) -> dict:
    return {
        "baselines": list(Baseline.objects.filter(use_case=use_case).values("id", "status", "artifact_sha256",
                                                                          "summary", "n_records")),
        "runs": list(use_case.drift_runs.values("id", "severity", "n")),
        "signals": list(use_case.drift_runs.values("signals__name", "signals__p_value")),
        "alerts": list(use_case.alerts.values("id", "severity", "status")),
        "audit_before_purge": list(AuditEvent.objects.exclude(action="traffic.purged")
                                   .values_list("sequence", "hash")),
    }


def test_a_purge_drops_expired_months_deletes_the_boundary_and_keeps_everything_derived(monthly_only):
    keeps_long, keeps_short = UseCaseFactory(slug="long"), UseCaseFactory(slug="short")
    DataProtectionPolicy.objects.create(use_case=keeps_short, retention_days=30)
    # Retention 180 days for "long": cutoff 2026-06-18 12:00. 30 days for "short": cutoff 2026-11-15 12:00.
    _store(keeps_long, {"mar": datetime(2026, 3, 5, tzinfo=UTC), "jun-early": datetime(2026, 6, 10, tzinfo=UTC),
                        "jun-late": datetime(2026, 6, 25, tzinfo=UTC), "nov": datetime(2026, 11, 20, tzinfo=UTC)})
    _store(keeps_short, {"mar": datetime(2026, 3, 9, tzinfo=UTC), "aug": datetime(2026, 8, 2, tzinfo=UTC),
                         "nov-early": datetime(2026, 11, 10, tzinfo=UTC),
                         "nov-late": datetime(2026, 11, 20, tzinfo=UTC)})
    baseline = Baseline.objects.create(use_case=keeps_long, start=datetime(2026, 3, 1, tzinfo=UTC),
                                       end=datetime(2026, 4, 1, tzinfo=UTC), status=BaselineStatus.FROZEN,
                                       embedding_model="m", n_records=2, artifact=b"npz", artifact_sha256="ab" * 32,
                                       summary={"clusters": 3}, frozen_at=NOW)
    run = DriftRunFactory(use_case=keeps_long, baseline=baseline)
    DriftSignalFactory(run=run)
    AlertFactory(use_case=keeps_long, run=run)
    before = _derived_state(keeps_long)

    result = traffic_purge(actor=ACTOR, now=NOW)

    assert result.partitions_dropped == ["monitoring_trafficrecord_p2026_03"]
    assert "monitoring_trafficrecord_p2026_03" not in _names()
    assert result.records == {"long": 2, "short": 3}
    assert _ids(keeps_long) == ["jun-late", "nov"]
    assert _ids(keeps_short) == ["nov-late"]
    assert sorted(TrafficKey.objects.filter(use_case=keeps_short).values_list("external_id", flat=True)) == [
        "nov-late"]
    events = AuditEvent.objects.filter(action="traffic.purged").order_by("sequence")
    assert [(event.use_case.slug, event.after["how"], event.after["records"]) for event in events] == [
        ("long", "partition_dropped", 1), ("short", "partition_dropped", 1),
        ("long", "rows_deleted", 1), ("short", "rows_deleted", 2)]
    assert events[0].after["partition"] == "monitoring_trafficrecord_p2026_03"
    assert _derived_state(keeps_long) == before


def test_a_month_another_use_case_still_keeps_is_not_dropped(monthly_only):
    keeps_long, keeps_short = UseCaseFactory(slug="long"), UseCaseFactory(slug="short")
    DataProtectionPolicy.objects.create(use_case=keeps_short, retention_days=30)
    _store(keeps_long, {"aug": datetime(2026, 8, 2, tzinfo=UTC)})
    _store(keeps_short, {"aug": datetime(2026, 8, 3, tzinfo=UTC)})
    result = traffic_purge(actor=ACTOR, now=NOW)
    assert result.partitions_dropped == []
    assert "monitoring_trafficrecord_p2026_08" in _names()
    assert (_ids(keeps_long), _ids(keeps_short)) == (["aug"], [])


def test_a_second_purge_removes_nothing_and_writes_no_event(monthly_only, use_case):
    _store(use_case, {"mar": datetime(2026, 3, 5, tzinfo=UTC), "nov": datetime(2026, 11, 20, tzinfo=UTC)})
    traffic_purge(actor=ACTOR, now=NOW)
    events = AuditEvent.objects.filter(action="traffic.purged").count()
    assert traffic_purge(actor=ACTOR, now=NOW).as_dict() == {"records": {}, "partitions_dropped": [],
                                                             "partitions_deferred": [], "total": 0}
    assert AuditEvent.objects.filter(action="traffic.purged").count() == events == 1


def test_an_expired_id_may_come_back_as_a_new_record_inside_retention(monthly_only, use_case):
    _store(use_case, {"req-1": datetime(2026, 3, 5, tzinfo=UTC)})
    traffic_purge(actor=ACTOR, now=NOW)
    assert _store(use_case, {"req-1": datetime(2026, 12, 1, tzinfo=UTC)}).inserted == 1


def test_the_daily_task_is_in_the_one_beat_schedule_and_prepares_then_purges(monthly_only, use_case):
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-traffic-retention"]
    assert entry["task"] == "monitoring.tasks.traffic_retention" == traffic_retention.name
    old = datetime.now(UTC) - timedelta(days=400)
    _store(use_case, {"ancient": old, "fresh": datetime.now(UTC) - timedelta(hours=1)})
    summary = traffic_retention.apply().get()
    assert summary["total"] == 1 and summary["partitions_dropped"] == [partitions.partition_name(
        partitions.month_start(old))]
    assert _ids(use_case) == ["fresh"]
    current = partitions.month_start(datetime.now(UTC))
    assert {partitions.partition_name(current), partitions.partition_name(partitions.next_month(current))} <= set(
        _names())


@pytest.mark.django_db(transaction=True)
def test_a_drop_that_cannot_get_its_lock_waits_for_the_next_run_and_nothing_is_deleted_row_by_row():
    # Committed, so that a second connection sees the table as it is: the months get partitions of their own.
    use_case = UseCaseFactory()
    created = partitions.ensure_partitions([datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)])
    try:
        _store(use_case, {"mar": datetime(2026, 3, 5, tzinfo=UTC), "nov": datetime(2026, 11, 20, tzinfo=UTC)})
        # A long reader on another connection (a drift query) holds a share lock on the traffic table.
        params = connection.settings_dict
        with psycopg.connect(host=params["HOST"], port=params["PORT"], user=params["USER"],
                             dbname=params["NAME"]) as reader:
            reader.execute("SELECT count(*) FROM monitoring_trafficrecord")
            started = time.monotonic()
            result = traffic_purge(actor=ACTOR, now=NOW)
            waited = time.monotonic() - started
        assert result.partitions_dropped == []
        assert result.partitions_deferred == ["monitoring_trafficrecord_p2026_03"]
        assert waited < 30
        assert _ids(use_case) == ["mar", "nov"]
        assert not AuditEvent.objects.filter(action="traffic.purged").exists()
        # The next run, with the reader gone, drops the month.
        assert traffic_purge(actor=ACTOR, now=NOW).partitions_dropped == ["monitoring_trafficrecord_p2026_03"]
        assert _ids(use_case) == ["nov"]
    finally:
        with connection.cursor() as cursor:
            for name in created:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        partitions.forget_partitions()

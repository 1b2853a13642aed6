"""The daily summary the year view draws: always what the signal rows say, however they are written or removed."""
import importlib
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import Case, Count, IntegerField, Max, Min, Value, When
from django.db.models.functions import TruncDate

from driftgate.actors import Actor
from monitoring.drift import Policy
from monitoring.drift.types import SignalResult
from monitoring.models import DailySummary, DriftRun, DriftSignal, RunStatus
from monitoring.selectors.overview import SEVERITY_RANK, SeriesPoint, monitoring_overview, signal_series
from monitoring.services.retention import traffic_purge
from monitoring.services.runs import _claim, _finish
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.usefixtures("postgres_only")

migration = importlib.import_module("monitoring.migrations.0008_daily_summary")
FIRST = datetime(2026, 5, 1, tzinfo=UTC)


def _computed(use_case) -> dict:
    """The summary as aggregated from the signal rows themselves, as the page did before there was one."""
    rank = Case(*(When(severity=severity, then=Value(value)) for severity, value in SEVERITY_RANK.items()),
                default=Value(0), output_field=IntegerField())
    rows = (DriftSignal.objects.filter(run__use_case=use_case)
            .annotate(day=TruncDate("run__window_start", tzinfo=UTC)).values("name", "day")
            .annotate(unit=Max("effect_unit"), runs=Count("id"), effect=Max("effect_size"), rank=Max(rank),
                      p=Min("p_adjusted"))
            .values_list("day", "name", "unit", "runs", "effect", "rank", "p"))
    return {(day, name): (unit, runs, effect, rank, p) for day, name, unit, runs, effect, rank, p in rows}


def _stored(use_case) -> dict:
    rows = DailySummary.objects.filter(use_case=use_case).values_list(
        "day", "name", "unit", "runs", "effect_max", "worst_rank", "p_min")
    return {(day, name): (unit, runs, effect, rank, p) for day, name, unit, runs, effect, rank, p in rows}


def _runs(use_case, hours: int, start: datetime = FIRST, signals=None) -> list[DriftRun]:
    """Hourly runs with two signals each; one p is missing, tiers and effects vary within each day."""
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, window_start=start + timedelta(hours=hour),
                 window_end=start + timedelta(hours=hour + 1), status="succeeded", severity="ok", n=300)
        for hour in range(hours)])
    DriftSignal.objects.bulk_create(signals(runs) if signals else [
        DriftSignal(run=run, name=name, statistic=1.0, p_value=0.5, effect_unit=unit,
                    p_adjusted=None if hour == 7 and name == "quality_drop" else (hour * 37 % 101 + 1) / 100,
                    effect_size=(hour * 13 % 29) / 100 + (0.5 if name == "prompt_drift" else 0),
                    severity=("stop", "review", "ok", "ok", "ok")[hour * 7 % 5])
        for hour, run in enumerate(runs)
        for name, unit in (("prompt_drift", "drifted_share"), ("quality_drop", "relative_drop"))])
    return runs


def _result(name: str, effect: float, p_adjusted: float, severity: str = "ok") -> SignalResult:
    return SignalResult(name=name, statistic=1.0, p_value=p_adjusted, effect_size=effect, effect_unit="relative_drop",
                        p_adjusted=p_adjusted, severity=severity)


def test_signals_loaded_in_bulk_are_summed_up_per_use_case_day_and_signal(db):
    use_case, other = UseCaseFactory(), UseCaseFactory()
    _runs(use_case, 24 * 3 + 5)
    _runs(other, 30)

    stored = _stored(use_case)

    assert stored == _computed(use_case)
    assert len(stored) == 4 * 2 and {runs for _, runs, *_ in stored.values()} == {24, 5}
    assert stored[(FIRST.date(), "quality_drop")][3] == SEVERITY_RANK["stop"]
    assert _stored(other) == _computed(other)


def test_a_run_the_service_finishes_adds_to_its_day(db):
    use_case = UseCaseFactory()
    _runs(use_case, 10)
    start = FIRST + timedelta(hours=20)
    claim = _claim(use_case=use_case, window_start=start, window_end=start + timedelta(hours=1), seed=1)

    _finish(run=claim.run, claimed_at=claim.run.started_at, status=RunStatus.SUCCEEDED, started=time.monotonic(),
            n=300, severity="ok", signals=[_result("quality_drop", 0.9, 0.0001), _result("novelty", 0.2, 0.3)])

    stored = _stored(use_case)
    assert stored == _computed(use_case)
    assert stored[(FIRST.date(), "quality_drop")][1:3] == (11, 0.9)
    assert stored[(FIRST.date(), "quality_drop")][4] == 0.0001
    assert stored[(FIRST.date(), "novelty")][1] == 1


def test_deleting_runs_and_changing_a_signal_recount_their_days(db):
    use_case = UseCaseFactory()
    runs = _runs(use_case, 48)
    peak = max(runs[24:], key=lambda run: run.signals.get(name="prompt_drift").effect_size)

    DriftRun.objects.filter(pk=peak.pk).delete()
    DriftRun.objects.filter(pk__in=[run.pk for run in runs[:24]]).delete()
    DriftSignal.objects.filter(run=runs[30], name="quality_drop").update(effect_size=7.5, severity="stop")

    stored = _stored(use_case)
    assert stored == _computed(use_case)
    assert set(stored) == {(FIRST.date() + timedelta(days=1), name) for name in ("prompt_drift", "quality_drop")}
    day = FIRST.date() + timedelta(days=1)
    assert stored[(day, "prompt_drift")][1] == 23
    assert stored[(day, "quality_drop")][2:4] == (7.5, SEVERITY_RANK["stop"])


def test_the_retention_purge_leaves_runs_and_their_summary_as_they_were(db, use_case):
    _runs(use_case, 30, start=datetime(2025, 1, 1, tzinfo=UTC))
    before = _stored(use_case)

    traffic_purge(actor=Actor.system("tests"), now=datetime(2026, 12, 15, tzinfo=UTC))

    assert _stored(use_case) == before == _computed(use_case) and len(before) == 4


def test_the_migration_sums_up_the_signals_stored_before_it(db):
    use_case = UseCaseFactory()
    _runs(use_case, 50)
    DailySummary.objects.all().delete()

    with connection.cursor() as cursor:
        cursor.execute(migration.POSTGRES_BACKFILL)

    assert _stored(use_case) == _computed(use_case) and len(_stored(use_case)) == 6


@pytest.mark.django_db(transaction=True)
def test_two_runs_finishing_at_once_on_one_day_both_count():
    use_case = UseCaseFactory()
    claims = [_claim(use_case=use_case, window_start=FIRST + timedelta(hours=hour),
                     window_end=FIRST + timedelta(hours=hour + 1), seed=1) for hour in (3, 4)]
    first_stored, release, errors, backends = threading.Event(), threading.Event(), [], []

    def finish(claim, effect, hold):
        try:
            connection.ensure_connection()
            backends.append(connection.connection.info.backend_pid)
            # The first run's transaction stays open after its signals are stored, so the second finishes while
            # the day's summary row is written but not committed.
            with transaction.atomic():
                _finish(run=claim.run, claimed_at=claim.run.started_at, status=RunStatus.SUCCEEDED,
                        started=time.monotonic(), n=300, severity="ok",
                        signals=[_result("quality_drop", effect, effect / 10)])
                if hold:
                    first_stored.set()
                    release.wait(10)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=finish, args=(claims[0], 0.4, True))
    holder.start()
    assert first_stored.wait(10)
    second = threading.Thread(target=finish, args=(claims[1], 0.2, False))
    second.start()
    with connection.cursor() as cursor:
        for _ in range(100):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = %s", [backends[-1]])
            if cursor.fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the second run never waited for the first's summary row")
    release.set()
    holder.join(10)
    second.join(10)

    assert errors == []
    stored = _stored(use_case)
    assert stored == _computed(use_case)
    assert stored[(FIRST.date(), "quality_drop")][1:3] == (2, 0.4)
    assert stored[(FIRST.date(), "quality_drop")][4] == pytest.approx(0.02)


def test_the_year_view_from_the_summary_draws_what_the_signal_rows_say(db):
    """The range starts mid-day: its first day comes from the runs after the hour, the rest from the summary."""
    use_case = UseCaseFactory()
    _runs(use_case, 24 * 40)
    now = FIRST + timedelta(days=39, hours=10, minutes=20)
    overview = monitoring_overview(use_case=use_case, days=35, now=now)
    assert overview["hourly"] is False and overview["since"].hour == 10

    series = signal_series(use_case=use_case, since=overview["since"], hourly=False, policy=Policy())

    rank = Case(*(When(severity=severity, then=Value(value)) for severity, value in SEVERITY_RANK.items()),
                default=Value(0), output_field=IntegerField())
    by_rank = {value: severity for severity, value in SEVERITY_RANK.items()}
    expected: dict[str, list[SeriesPoint]] = {}
    for name, day, effect, worst, p in (
            DriftSignal.objects.filter(run__use_case=use_case, run__window_start__gte=overview["since"])
            .annotate(day=TruncDate("run__window_start", tzinfo=UTC)).values("name", "day")
            .annotate(effect=Max("effect_size"), rank=Max(rank), p=Min("p_adjusted")).order_by("name", "day")
            .values_list("name", "day", "effect", "rank", "p")):
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        expected.setdefault(name, []).append(SeriesPoint(start, effect, by_rank[worst], p))
    assert {entry.name: entry.points for entry in series} == expected
    assert len(expected["quality_drop"]) == 36


SQLITE_SCHEMA = """
CREATE TABLE monitoring_driftrun (id integer PRIMARY KEY, use_case_id integer, window_start text);
CREATE TABLE monitoring_driftsignal (id integer PRIMARY KEY, run_id integer, name text, effect_size real,
    effect_unit text, severity text, p_adjusted real);
CREATE TABLE monitoring_dailysummary (use_case_id integer, day text, name text, unit text, runs integer,
    effect_max real, worst_rank integer, p_min real, PRIMARY KEY (use_case_id, day, name));
"""


def test_the_sqlite_triggers_keep_the_same_summary():
    """The embedded demo runs on SQLite: its row triggers add, recount on delete and update, and backfill."""
    database = sqlite3.connect(":memory:")
    database.executescript(SQLITE_SCHEMA)
    database.executemany("INSERT INTO monitoring_driftrun VALUES (?, 1, ?)",
                         [(hour, f"2026-05-0{1 + hour // 24} {hour % 24:02d}:00:00") for hour in range(48)])
    database.executemany("INSERT INTO monitoring_driftsignal VALUES (?, ?, 'quality_drop', ?, 'relative_drop', ?, ?)",
                         [(hour, hour, hour / 100, "stop" if hour == 5 else "ok", None if hour == 2 else (hour + 1) / 50)
                          for hour in range(40)])
    for statement in migration.SQLITE_UP:
        database.execute(statement)
    database.execute(migration.SQLITE_BACKFILL)
    database.executemany("INSERT INTO monitoring_driftsignal VALUES (?, ?, 'quality_drop', ?, 'relative_drop', ?, ?)",
                         [(hour, hour, hour / 100, "review" if hour == 40 else "ok", (hour + 1) / 50)
                          for hour in range(40, 48)])
    database.execute("DELETE FROM monitoring_driftsignal WHERE run_id IN (5, 47)")
    database.execute("UPDATE monitoring_driftsignal SET p_adjusted = 0.0001 WHERE run_id = 30")

    stored = database.execute("SELECT day, runs, effect_max, worst_rank, p_min FROM monitoring_dailysummary "
                              "ORDER BY day").fetchall()
    assert stored == [("2026-05-01", 23, 0.23, 0, pytest.approx(0.02)), ("2026-05-02", 23, 0.46, 1, 0.0001)]

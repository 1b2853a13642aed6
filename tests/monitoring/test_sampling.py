"""A window's uniform sample: the n smallest sample keys of the window, found through an index on PostgreSQL."""
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from monitoring.ingest.partitions import ensure_partitions
from monitoring.models import TrafficRecord
from monitoring.selectors.sampling import hour_buckets, window_sample, window_sample_queryset
from tests.conftest import OWNER_ROLE, as_role
from tests.factories import UseCaseFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("postgres_only")

DAY0 = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 16
PER_HOUR = 60


def _fill(use_case, *, seed: float, days: int = DAYS, per_hour: int = PER_HOUR) -> None:
    # The months' own partitions, as production has them, rather than the test database's default partition.
    ensure_partitions([DAY0, DAY0 + timedelta(days=days)])
    # generate_series writes tens of thousands of rows in well under a second; setseed makes the keys repeatable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            f"""
            INSERT INTO {TrafficRecord._meta.db_table}
                (use_case_id, external_id, timestamp, hour, received_at, prompt, response, prompt_digest,
                 response_digest, segment, metadata, sample_key)
            SELECT %s, 'r' || g, ts, date_trunc('hour', ts), now(), 'prompt ' || g, 'response', md5('p' || g),
                   md5('r' || g), '', '{{}}', floor(random() * 9223372036854775807)::bigint
            FROM generate_series(0, %s - 1) AS g,
                 LATERAL (SELECT %s::timestamptz + (g * (3600.0 / %s)) * interval '1 second' AS ts) AS t
            """,
            [use_case.pk, days * 24 * per_hour, DAY0, per_hour],
        )
        # ANALYZE is the table owner's job; the suite's application role may not run it.
        with as_role(OWNER_ROLE):
            cursor.execute(f"ANALYZE {TrafficRecord._meta.db_table}")


@pytest.fixture
def traffic():
    use_case, neighbour = UseCaseFactory(), UseCaseFactory()
    _fill(use_case, seed=0.25)
    _fill(neighbour, seed=0.75)
    return use_case


def _expected(use_case, start, end, n) -> list[int]:
    keys = TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=start, timestamp__lt=end).values_list(
        "sample_key", flat=True)
    return sorted(keys)[:n]


def _plan(use_case, start, end, n) -> str:
    return window_sample_queryset(use_case=use_case, start=start, end=end, n=n).explain()


# On PostgreSQL the traffic table is partitioned by month; a partition's copy of an index is named after the
# partition and the columns. The plans below read as the parent's index names.
_PARTITION_INDEX = re.compile(r"monitoring_trafficrecord_(?:p\d{4}_\d{2}|defaul)t?_(use_case_id_hour_sample_key|use_case_id_sample_key|"
                              r"use_case_id_timestamp)_idx")
_PARENT_INDEX = {"use_case_id_hour_sample_key": "traffic_window_sample", "use_case_id_sample_key": "traffic_usecase_sample",
                 "use_case_id_timestamp": "traffic_usecase_time"}


def _nodes(plan: str) -> list[str]:
    """Return the plan's node names ("Limit", "Merge Append", "Index Scan using traffic_window_sample", ...)."""
    plan = _PARTITION_INDEX.sub(lambda match: _PARENT_INDEX[match.group(1)], plan)
    return [match.group(1) for match in re.finditer(r"^\s*(?:->\s+)?([A-Z][\w ]+?)(?: on \w+.*)?  \(cost", plan, re.M)]


def _assert_no_scan_of_the_whole_window(nodes: list[str]) -> None:
    assert not any(node.startswith(("Seq Scan", "Sort", "Incremental Sort", "Bitmap")) for node in nodes), nodes


def test_hour_buckets_cover_partial_hours_at_both_ends():
    start = datetime(2025, 1, 1, 10, 30, tzinfo=UTC)
    assert hour_buckets(start, start + timedelta(hours=2)) == [
        datetime(2025, 1, 1, hour, tzinfo=UTC) for hour in (10, 11, 12)]
    assert hour_buckets(start.replace(minute=0), start.replace(minute=0) + timedelta(hours=1)) == [
        datetime(2025, 1, 1, 10, tzinfo=UTC)]


@pytest.mark.parametrize(("start", "hours", "n"), [
    (DAY0 + timedelta(days=3, hours=5), 1, 40),                     # one hourly window
    (DAY0 + timedelta(days=3, hours=5, minutes=20), 5.5, 300),     # partial hours at both ends
    (DAY0 + timedelta(days=1), 24, 10_000),                         # n larger than the window
    (DAY0 + timedelta(days=2), 24 * 12, 700),                       # a long range on the other index
])
def test_the_sample_is_the_windows_smallest_sample_keys(traffic, start, hours, n):
    end = start + timedelta(hours=hours)
    sample = window_sample(use_case=traffic, start=start, end=end, n=n)
    assert [record.sample_key for record in sample] == _expected(traffic, start, end, n)
    assert all(record.use_case_id == traffic.pk and start <= record.timestamp < end for record in sample)


def test_the_sample_spreads_evenly_over_the_hours_of_the_window(traffic):
    start = DAY0 + timedelta(days=5)
    sample = window_sample(use_case=traffic, start=start, end=start + timedelta(hours=10), n=600)
    per_hour = [sum(1 for record in sample if record.hour == start + timedelta(hours=h)) for h in range(10)]
    # 60 expected per hour; a multinomial count outside 30..90 has probability far below 1e-6.
    assert sum(per_hour) == 600
    assert all(30 <= count <= 90 for count in per_hour), per_hour


def test_an_empty_or_inverted_window_has_no_sample(traffic):
    assert window_sample(use_case=traffic, start=DAY0, end=DAY0, n=10) == []
    assert window_sample(use_case=traffic, start=DAY0, end=DAY0 - timedelta(hours=1), n=10) == []
    assert window_sample(use_case=traffic, start=DAY0, end=DAY0 + timedelta(hours=1), n=0) == []


def test_an_hourly_window_is_read_in_key_order_from_the_hour_index(traffic):
    start = DAY0 + timedelta(days=4, hours=7)
    nodes = _nodes(_plan(traffic, start, start + timedelta(hours=1), 5000))
    assert nodes == ["Limit", "Index Scan using traffic_window_sample"]


def test_a_multi_hour_window_merges_the_hour_indexes_without_sorting(traffic):
    start = DAY0 + timedelta(days=4, hours=7, minutes=15)
    nodes = _nodes(_plan(traffic, start, start + timedelta(hours=6), 300))
    assert nodes[:2] == ["Limit", "Merge Append"]
    assert nodes.count("Index Scan using traffic_window_sample") == 7
    _assert_no_scan_of_the_whole_window(nodes)


def test_a_three_day_range_still_merges_hour_buckets(traffic):
    start = DAY0 + timedelta(days=1)
    nodes = _nodes(_plan(traffic, start, start + timedelta(days=3), 5000))
    assert nodes.count("Index Scan using traffic_window_sample") == 72
    _assert_no_scan_of_the_whole_window(nodes)


def test_a_long_range_walks_the_sample_key_index_with_a_time_filter(traffic):
    start = DAY0 + timedelta(days=1)
    nodes = _nodes(_plan(traffic, start, start + timedelta(days=14), 5000))
    assert nodes == ["Limit", "Index Scan using traffic_usecase_sample"]


def test_the_sample_query_runs_on_sqlite_too(tmp_path):
    """The embedded demo runs on SQLite, which cannot slice UNION branches: the range query serves there."""
    script = (
        "import django, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'driftgate.settings'\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from datetime import datetime, timedelta, UTC\n"
        "from governance.models import UseCase\n"
        "from monitoring.models import TrafficRecord\n"
        "from monitoring.selectors.sampling import window_sample\n"
        "uc = UseCase.objects.create(slug='s', name='s', purpose='p', approach='rag', base_model='m')\n"
        "start = datetime(2026, 1, 1, tzinfo=UTC)\n"
        "TrafficRecord.objects.bulk_create([TrafficRecord(use_case=uc, external_id=str(i), prompt='p', prompt_digest='d',\n"
        "    timestamp=start + timedelta(minutes=7 * i), hour=(start + timedelta(minutes=7 * i)).replace(minute=0),\n"
        "    sample_key=(i * 7919) % 1000) for i in range(60)])\n"
        "rows = window_sample(use_case=uc, start=start, end=start + timedelta(hours=3), n=10)\n"
        "keys = [r.sample_key for r in rows]\n"
        "inside = sorted((i * 7919) % 1000 for i in range(60) if 7 * i < 180)[:10]\n"
        "assert keys == inside, (keys, inside)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "DRIFTGATE_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")

"""A window's uniform sample of traffic, read through an index instead of sorting the window.

Every record gets a random `sample_key` at ingest, so the n smallest keys of a window are a uniform sample
of it. The query must find them without reading the whole window:

- short windows (up to `HOURLY_PATH_MAX_HOURS` hour buckets, e.g. the hourly drift run): one branch per hour
  bucket on the (use_case, hour, sample_key) index, each already in key order; PostgreSQL merges the
  branches (Merge Append) and stops after n rows. Edge buckets of a window that does not start or end on the
  hour carry a timestamp filter, which keeps their index order.
- long ranges (baselines over weeks): the (use_case, sample_key) index walked in key order with a time filter,
  stopping after n matches. It reads about n / (share of the use case's traffic inside the range) entries, so
  it is cheap when the range holds a fair share of the traffic, as a baseline over the first 30 days does.
  When the range holds only a small share, PostgreSQL prefers the (use_case, timestamp) index and a top-N
  sort of the range, which is then the cheaper plan; both stay off a sequential scan.
"""
from datetime import UTC, datetime, timedelta

from django.db import connections
from django.db.models import QuerySet

from governance.models import UseCase
from monitoring.models import TrafficRecord

# Up to a week of hour buckets the merge reads at most n + buckets index entries; planning stays in milliseconds.
HOURLY_PATH_MAX_HOURS = 24 * 7
_HOUR = timedelta(hours=1)


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_buckets(start: datetime, end: datetime) -> list[datetime]:
    """Return the starts of the hour buckets that overlap [start, end)."""
    buckets = []
    hour = _hour_floor(start)
    while hour < end:
        buckets.append(hour)
        hour += _HOUR
    return buckets


def _hourly_queryset(use_case: UseCase, start: datetime, end: datetime, n: int) -> QuerySet[TrafficRecord]:
    branches = []
    for hour in hour_buckets(start, end):
        branch = TrafficRecord.objects.filter(use_case=use_case, hour=hour)
        if hour < start:
            branch = branch.filter(timestamp__gte=start)
        if hour + _HOUR > end:
            branch = branch.filter(timestamp__lt=end)
        branches.append(branch.order_by("sample_key")[:n])
    first, *rest = branches
    if not rest:
        return first
    return first.union(*rest, all=True).order_by("sample_key")[:n]


def _range_queryset(use_case: UseCase, start: datetime, end: datetime, n: int) -> QuerySet[TrafficRecord]:
    # The hour bounds follow from the timestamp bounds; on PostgreSQL the traffic table is partitioned by month
    # of `hour`, and with them the query reads only the months of the range.
    return (TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=start, timestamp__lt=end,
                                         hour__gte=_hour_floor(start), hour__lt=end)
            .order_by("sample_key")[:n])


def window_sample_queryset(*, use_case: UseCase, start: datetime, end: datetime, n: int) -> QuerySet[TrafficRecord]:
    """Return the query for the n records of [start, end) with the smallest sample keys (see the module doc)."""
    # SQLite (the embedded demo) cannot slice the branches of a UNION; there the single ordered range query
    # on the (use_case, sample_key) index is the plan.
    branches_can_be_sliced = connections[TrafficRecord.objects.db].features.supports_slicing_ordering_in_compound
    if branches_can_be_sliced and len(hour_buckets(start, end)) <= HOURLY_PATH_MAX_HOURS:
        return _hourly_queryset(use_case, start, end, n)
    return _range_queryset(use_case, start, end, n)


def window_sample(*, use_case: UseCase, start: datetime, end: datetime, n: int) -> list[TrafficRecord]:
    """Return a uniform random sample of up to n records with start <= timestamp < end, in sample-key order."""
    if n <= 0 or end <= start:
        return []
    return list(window_sample_queryset(use_case=use_case, start=start, end=end, n=n))

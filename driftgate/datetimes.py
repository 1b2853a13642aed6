"""Reading ISO 8601 date-times from clients: only aware ones count, since a naive time has no place on the timeline.

Every accepted time is converted to UTC here, at the edge. Python accepts offsets up to ±23:59, PostgreSQL
stores only ±15:59, and a time near year 1 or 9999 can leave Python's range once shifted; a time in UTC is
always storable, and one that cannot be expressed in UTC is refused instead of failing later in the database.
"""
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from driftgate.errors import ValidationFailed


class OutOfRange(ValueError):
    """An aware date-time whose instant lies outside what can be expressed (and stored) in UTC."""


def to_utc(value: datetime) -> datetime:
    """Return the aware `value` in UTC, or raise OutOfRange when the instant is before year 1 or after 9999."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise OutOfRange(f"{value.isoformat()} lies outside the years 1 to 9999 in UTC") from exc


def parse_utc_datetime(raw: str | None) -> datetime | None:
    """Return the ISO 8601 date-time in UTC; None when it is not an aware date-time; OutOfRange past the range."""
    try:
        value = parse_datetime(raw) if raw else None
    except ValueError:
        return None
    if value is None or value.tzinfo is None:
        return None
    return to_utc(value)


def parse_aware_datetime(raw: str | None) -> datetime | None:
    """Return the ISO 8601 date-time in UTC, or None for anything else (naive, impossible or unstorable)."""
    try:
        return parse_utc_datetime(raw)
    except OutOfRange:
        return None


def query_datetime(request, name: str) -> datetime | None:
    """Return an optional ISO 8601 query parameter in UTC, or refuse it (`invalid_datetime`, `datetime_out_of_range`)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_utc_datetime(raw)
    except OutOfRange as exc:
        raise ValidationFailed(f"{name} lies outside the range of storable times (years 1 to 9999 in UTC).",
                               code="datetime_out_of_range", extra={"parameter": name, "value": raw}) from exc
    if value is None:
        raise ValidationFailed(f"{name} must be an ISO 8601 date-time with a time zone.", code="invalid_datetime",
                               extra={"parameter": name, "value": raw})
    return value

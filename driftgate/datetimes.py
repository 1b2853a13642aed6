"""Reading ISO 8601 date-times from clients: only aware ones count, since a naive time has no place on the timeline."""
from datetime import datetime

from django.utils.dateparse import parse_datetime

from driftgate.errors import ValidationFailed


def parse_aware_datetime(raw: str | None) -> datetime | None:
    """Return the ISO 8601 date-time with its time zone, or None for anything else (including impossible dates)."""
    try:
        value = parse_datetime(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and value.tzinfo is not None else None


def query_datetime(request, name: str) -> datetime | None:
    """Return an optional ISO 8601 query parameter with a time zone, or refuse it with `invalid_datetime`."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = parse_aware_datetime(raw)
    if value is None:
        raise ValidationFailed(f"{name} must be an ISO 8601 date-time with a time zone.", code="invalid_datetime",
                               extra={"parameter": name, "value": raw})
    return value

"""Option parsing shared by monitoring's management commands."""
from datetime import datetime

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime


def parse_iso_option(name: str, value: str | None) -> datetime | None:
    """Return `--name`'s value as an aware datetime (None when not given), or stop the command with why not."""
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--{name} {value!r} is not an ISO 8601 date-time (e.g. 2026-03-01T00:00:00+00:00).")
    if parsed.tzinfo is None:
        raise CommandError(f"--{name} {value!r} needs a time zone (append Z or +00:00).")
    return parsed

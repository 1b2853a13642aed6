"""Option parsing shared by monitoring's management commands."""
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from driftgate.actors import Actor
from driftgate.errors import ApplicationError


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


def actor_option(username: str | None, *, command: str) -> Actor:
    """Return the person `--as USERNAME` names, or the system actor for `command` when none is given."""
    if not username:
        return Actor.system(command)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"--as {username!r}: no active user of that name.")
    return Actor.for_user(user)


def application_error(exc: ApplicationError) -> CommandError:
    """Turn a service's refusal into the command's error: its stable code, message and field details."""
    detail = f" {exc.extra}" if getattr(exc, "extra", None) else ""
    return CommandError(f"{exc.code}: {exc.message}{detail}")

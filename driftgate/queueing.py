"""Queueing work after commit without letting a broker outage turn a committed request into a 500.

The row that asks for the work (a report in `queued`, a window without a run) is committed first; if the broker
is away, the message is not sent, the request still answers, and a periodic sweep finds the row and queues it
again once the broker is back. So no work is lost, and the sweep's idempotent tasks never do it twice.
"""
import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)
try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a dependency
    RedisError = OSError  # type: ignore[misc,assignment]  # the fallback stands in for the class redis would give

BROKER_ERRORS = (BrokerError, RedisError, ConnectionError, OSError)


def send_or_defer(send: Callable[[], object], *, what: str) -> bool:
    """Send a task message now; on a broker error log it and return False (a sweep re-sends it later)."""
    try:
        send()
    except BROKER_ERRORS as exc:
        logger.warning("broker unavailable, %s left for the next sweep: %s", what, exc)
        return False
    return True


def enqueue_on_commit(send: Callable[[], object], *, what: str) -> None:
    """Send a task message once the current transaction has committed, surviving a broker outage."""
    transaction.on_commit(lambda: send_or_defer(send, what=what))

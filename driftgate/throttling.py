"""Rate limits on the shared cache (Redis in production): bearer-token failures per address, ingestion per token.

A fixed-window counter (`add` then `incr`, both atomic in Redis) is shared by every web process, where DRF's
default sliding log would be a read-modify-write race between them. A cache outage opens the gate rather than
refusing every request: these limits stop abuse, and the platform must keep answering while Redis is away.
"""
import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)
# Anything the Redis client or another cache backend raises when its server is away.
_CACHE_ERRORS: tuple[type[Exception], ...] = (ConnectionError, TimeoutError, OSError)
try:
    import redis

    _CACHE_ERRORS += (redis.exceptions.RedisError,)
except ImportError:  # pragma: no cover - redis is a dependency; local memory needs none of this
    pass


def _bucket(key: str, window: int, now: float) -> tuple[str, int]:
    start = int(now // window) * window
    return f"rl:{key}:{start}", max(1, int(start + window - now + 0.999))


def window_count(key: str, *, window: int, now: float | None = None) -> tuple[int, int]:
    """Return (hits so far in the current window, seconds until it ends); (0, 0) when the cache is away."""
    name, remaining = _bucket(key, window, time.time() if now is None else now)
    try:
        return int(cache.get(name) or 0), remaining
    except _CACHE_ERRORS as exc:
        logger.warning("rate limit %s not checked, cache unavailable: %s", key, exc)
        return 0, 0


def window_hit(key: str, *, window: int, now: float | None = None) -> tuple[int, int]:
    """Count one hit in the current window; return (hits including this one, seconds until the window ends)."""
    name, remaining = _bucket(key, window, time.time() if now is None else now)
    try:
        cache.add(name, 0, timeout=window + 1)
        try:
            return int(cache.incr(name)), remaining
        except ValueError:  # expired between add and incr
            cache.set(name, 1, timeout=window + 1)
            return 1, remaining
    except _CACHE_ERRORS as exc:
        logger.warning("rate limit %s not counted, cache unavailable: %s", key, exc)
        return 0, 0


def client_address(request) -> str:
    """Return the client's address as DRF's throttles see it (honours NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


class TrafficIngestThrottle(BaseThrottle):
    """Traffic batches per token (or person) and use case per minute; the use case's policy may set its own rate."""

    window = 60

    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request, view) -> bool:
        rate = view.ingest_rate_per_minute(request)
        if not rate:
            return True
        token = request.auth
        who = f"token:{token.pk}" if token is not None and hasattr(token, "scopes") else f"user:{request.user.pk}"
        hits, remaining = window_hit(f"ingest:{view.kwargs.get('slug', '')}:{who}", window=self.window)
        if hits > rate:
            self._wait = remaining
            return False
        return True

    def wait(self) -> float | None:
        return self._wait or None


def default_ingest_rate() -> int:
    """Return the platform's traffic batches per token per minute (0: unlimited)."""
    return settings.DRIFTGATE_INGEST_RATE_PER_MINUTE

"""Prometheus metrics at `/metrics`: collectors that read the database on each scrape, behind a token or a network.

Every figure is computed from shared state (the database, the broker) at scrape time rather than kept in a
process's memory, so each gunicorn worker answers a scrape with the same numbers, and counters survive restarts
and the workers that produced them. Apps add their collectors with `register_collector` when they are ready
(monitoring does); governance and monitoring are never imported from here.
"""
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Iterator

import redis
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from driftgate.authentication import TokenAuthentication
from driftgate.errors import error_body
from driftgate.models import ApiToken, TaskOutcome, TaskOutcomeCount, TokenScope

logger = logging.getLogger(__name__)

CollectorFactory = Callable[[], Collector]
_factories: list[CollectorFactory] = []
# Counts of notifications (pending, failed) per channel, from the notifications app when it is installed.
NotificationCounts = Callable[[], Iterable[tuple[str, int, int]]]
_notification_counts: list[NotificationCounts] = []


def register_collector(factory: CollectorFactory) -> None:
    """Add a collector (built per scrape) to every `/metrics` answer; an app calls this from `ready()`."""
    if factory not in _factories:
        _factories.append(factory)


def register_notification_counts(provider: NotificationCounts) -> None:
    """Let the notifications app report `(channel, pending, failed)` rows; without it no such series appear."""
    if provider not in _notification_counts:
        _notification_counts.append(provider)


def unregister_notification_counts(provider: NotificationCounts) -> None:
    """Remove a provider registered with `register_notification_counts`."""
    if provider in _notification_counts:
        _notification_counts.remove(provider)


class PlatformCollector(Collector):
    """Task failures and retries per queue (counted by every worker into the database), notifications, queues."""

    def collect(self) -> Iterator[Metric]:
        failures = CounterMetricFamily("driftgate_task_failures", "Celery task deliveries that failed, per queue "
                                       "and task, counted by every worker.", labels=["queue", "task"])
        retries = CounterMetricFamily("driftgate_task_retries", "Celery task deliveries that asked for a retry, "
                                      "per queue and task.", labels=["queue", "task"])
        rows = (TaskOutcomeCount.objects.values_list("queue", "task", "outcome")
                .annotate(total=Sum("count")).order_by("queue", "task", "outcome"))
        for queue, task, outcome, total in rows:
            family = failures if outcome == TaskOutcome.FAILURE else retries
            family.add_metric([queue, task], float(total))
        yield failures
        yield retries
        yield from _notification_metrics()
        yield from _queue_metrics()


def _notification_metrics() -> Iterator[Metric]:
    if not _notification_counts:
        return
    pending = GaugeMetricFamily("driftgate_notifications_pending", "Notifications waiting for delivery, per channel.",
                                labels=["channel"])
    failed = GaugeMetricFamily("driftgate_notifications_failed", "Notifications that failed after their retries, "
                               "per channel.", labels=["channel"])
    for provider in _notification_counts:
        for channel, waiting, gave_up in provider():
            pending.add_metric([channel], float(waiting))
            failed.add_metric([channel], float(gave_up))
    yield pending
    yield failed


def broker_queue_names() -> list[str]:
    """Return the queues the routes send tasks to, plus the default queue."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(route["queue"] for route in settings.CELERY_TASK_ROUTES.values() if "queue" in route)
    return sorted(names)


def _queue_metrics() -> Iterator[Metric]:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return  # tasks run in-process (the demo) or on a broker this collector cannot count
    family = GaugeMetricFamily("driftgate_queue_messages", "Messages waiting on a broker queue (the embed queue "
                               "is the embedding backlog).", labels=["queue"])
    names = broker_queue_names()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            lengths = pipe.execute()
    except redis.exceptions.RedisError as error:
        logger.warning("metrics: broker queues not counted: %s", error)
        yield GaugeMetricFamily("driftgate_broker_up", "Whether the broker answered the scrape.", value=0)
        return
    for name, length in zip(names, lengths, strict=True):
        family.add_metric([name], float(length))
    yield GaugeMetricFamily("driftgate_broker_up", "Whether the broker answered the scrape.", value=1)
    yield family


class ScrapeCollector(Collector):
    """How long this scrape's collectors took, so a slow scrape shows in Prometheus itself."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("driftgate_scrape_duration_seconds", "Time the collectors took to read the "
                                "database for this scrape.", value=self.seconds)


def metrics_text() -> bytes:
    """Return the exposition text of every registered collector, read now."""
    registry = CollectorRegistry(auto_describe=False)
    started = time.perf_counter()
    # Collected once here and replayed, so the scrape's own duration can be reported in the same answer.
    families: list[Metric] = list(PlatformCollector().collect())
    for factory in _factories:
        families.extend(factory().collect())
    registry.register(_Replay(families))
    registry.register(ScrapeCollector(time.perf_counter() - started))
    return generate_latest(registry)


class _Replay(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return DRIFTGATE_METRICS_ALLOWED_NETWORKS as networks (validated when the settings load)."""
    return [ipaddress.ip_network(item, strict=False) for item in settings.DRIFTGATE_METRICS_ALLOWED_NETWORKS]


def scraper_address(request: HttpRequest) -> str:
    """Return the client's address for the allow-list: the connection's peer, or the proxy's entry behind one.

    DRF's throttle identity (`client_address`) falls back to X-Forwarded-For when no proxy is configured, which
    anyone can send; an allow-list may only read the header that the configured proxies appended.
    """
    proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        return entries[-min(proxies, len(entries))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _address_allowed(request: HttpRequest) -> bool:
    networks = allowed_networks()
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(scraper_address(request))
    except ValueError:
        return False
    return any(address in network for network in networks)


def _refusal(status: int, code: str, message: str, extra: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, extra), status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to a `metrics:read` token or to an address in DRIFTGATE_METRICS_ALLOWED_NETWORKS."""
    if request.method != "GET":
        return _refusal(405, "method_not_allowed", f"Method {request.method} is not allowed.")
    drf_request = Request(request)
    try:
        authenticated = TokenAuthentication().authenticate(drf_request)
    except drf_exceptions.Throttled as error:
        response = _refusal(429, "token_failures_throttled", str(error.detail))
        response["Retry-After"] = str(int(getattr(error, "wait", None) or 1))
        return response
    except drf_exceptions.AuthenticationFailed as error:
        return _refusal(401, "authentication_failed", str(error.detail))
    if authenticated is not None:
        token = authenticated[1]
        if not isinstance(token, ApiToken) or TokenScope.METRICS_READ not in token.scopes:
            return _refusal(403, "missing_scope", f"This token lacks the {TokenScope.METRICS_READ.value} scope.",
                            {"scope": TokenScope.METRICS_READ.value, "token_scopes": sorted(token.scopes)})
    elif not _address_allowed(request):
        return _refusal(401, "not_authenticated", "Metrics need a token with the metrics:read scope or a "
                        "client address in DRIFTGATE_METRICS_ALLOWED_NETWORKS.")
    # The 0.0.4 text format: every Prometheus server reads it, and the names used here need nothing newer.
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)

"""GET /metrics: a `metrics:read` token or an allowed network, figures read back from the database after real work."""
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import yaml
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from driftgate.env import env_networks
from driftgate.metrics import register_notification_counts, unregister_notification_counts
from driftgate.models import TaskOutcomeCount
from governance.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationEvent,
    UseCase,
)
from governance.services.tokens import api_token_create
from monitoring.drift import SIGNAL_NAMES
from monitoring.models import DriftRun, DriftSignal, TrafficIngestCount
from monitoring.services.baselines import baseline_build, baseline_freeze
from monitoring.services.runs import drift_run_execute
from tests.factories import (
    DriftRunFactory,
    DriftSignalFactory,
    ModelVersionFactory,
    MonitoringPolicyFactory,
    UseCaseFactory,
    UserFactory,
    drift_scenario_traffic,
)
from tests.monitoring.worker_support import emptied_broker, finished_task_ids, production_like_app, wait_for

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
BASELINE_START = datetime(2026, 1, 5, tzinfo=UTC)
BASELINE_END = BASELINE_START + timedelta(days=7)
WINDOW_START = datetime(2026, 2, 2, 10, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(hours=1)

pytestmark = pytest.mark.usefixtures("postgres_only")


def _client(raw: str | None = None, **extra) -> APIClient:
    client = APIClient(**extra)
    if raw:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def scraper_token(make_user, system_actor) -> str:
    """A machine user's token with only the metrics scope, as Prometheus would hold it."""
    person = make_user("prometheus")
    return api_token_create(actor=system_actor, owner_username=person.username, name="prometheus",
                            scopes=["metrics:read"])[1]


def scrape(client: APIClient) -> dict[tuple[str, tuple], float]:
    """Return every sample of a successful scrape keyed by (name, sorted labels), parsed by prometheus_client."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def series(samples: dict, name: str) -> dict[tuple, float]:
    """Return the samples of one metric name, keyed by their labels."""
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def test_a_metrics_read_token_scrapes_text_that_prometheus_parses(scraper_token, use_case):
    samples = scrape(_client(scraper_token))
    assert series(samples, "driftgate_use_case_halted") == {(("use_case", use_case.slug),): 0.0}
    assert ("driftgate_scrape_duration_seconds", ()) in samples


def test_a_token_without_the_metrics_scope_is_refused_with_403(make_user, system_actor):
    person = make_user("ci")
    _, raw = api_token_create(actor=system_actor, owner_username=person.username, name="ci", scopes=["status:read"])
    response = _client(raw).get("/metrics")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope" and response.json()["extra"]["scope"] == "metrics:read"


@pytest.mark.django_db
def test_no_token_from_an_address_outside_the_allow_list_is_refused_with_401(settings):
    settings.DRIFTGATE_METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    response = _client(REMOTE_ADDR="192.0.2.7").get("/metrics")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated" and response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_no_token_and_no_allow_list_is_refused_even_from_loopback():
    response = _client().get("/metrics")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_wrong_token_is_refused_with_401_even_from_an_allowed_address(settings):
    settings.DRIFTGATE_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = _client("dg_000000000000_not-a-real-secret").get("/metrics")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_an_address_in_an_allowed_network_scrapes_without_a_token(settings, use_case):
    settings.DRIFTGATE_METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16", "2001:db8::/32"]
    assert series(scrape(_client(REMOTE_ADDR="10.20.3.4")), "driftgate_use_case_halted")
    assert series(scrape(_client(REMOTE_ADDR="2001:db8::5")), "driftgate_use_case_halted")


def test_the_allow_list_trusts_the_proxy_header_only_behind_a_proxy(settings, use_case):
    settings.DRIFTGATE_METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    spoofed = _client(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert spoofed.get("/metrics").status_code == 401
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    behind_proxy = _client(REMOTE_ADDR="10.99.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert series(scrape(behind_proxy), "driftgate_use_case_halted")


def test_a_network_setting_that_does_not_parse_fails_loudly(monkeypatch):
    monkeypatch.setenv("DRIFTGATE_METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, prometheus.internal")
    with pytest.raises(ImproperlyConfigured, match="prometheus.internal"):
        env_networks("DRIFTGATE_METRICS_ALLOWED_NETWORKS", [])
    monkeypatch.setenv("DRIFTGATE_METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, ::1")
    assert env_networks("DRIFTGATE_METRICS_ALLOWED_NETWORKS", []) == ["10.0.0.0/8", "::1"]


def _post_traffic(client: APIClient, use_case, records: list[dict]):
    return client.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=json.dumps(records),
                       content_type="application/json")


def test_the_figures_match_the_database_after_a_real_run_and_real_ingestion(scraper_token, use_case, settings,
                                                                            make_user, grant, system_actor):
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 300
    settings.DRIFTGATE_RUN_MIN_RECORDS = 100
    drift_scenario_traffic(use_case=use_case, start=BASELINE_START, end=BASELINE_END, records=900, prefix="base",
                           seed=21)
    baseline_freeze(actor=system_actor, baseline=baseline_build(actor=system_actor, use_case=use_case,
                                                                start=BASELINE_START, end=BASELINE_END))
    MonitoringPolicyFactory(use_case=use_case, auto_halt=True)
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=400, new_topic_share=0.3,
                           quality_drop=0.2, prefix="w", seed=22)
    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)
    # Traffic through the API: two stored, one refused by validation, then the same two again as duplicates.
    ModelVersionFactory(use_case=use_case, label="v1")
    owner = make_user("platform-ana")
    grant(owner, use_case, "platform_owner")
    poster = _client(api_token_create(actor=system_actor, owner_username=owner.username, name="serving",
                                      scopes=["traffic:write"])[1])
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    rows = [{"external_id": f"m-{i}", "timestamp": stamp, "prompt": f"Question {i}?", "response": "Answer.",
             "model_version": "v1"}
            for i in range(2)]
    first = _post_traffic(poster, use_case, [*rows, {"external_id": "bad", "timestamp": stamp}]).json()
    assert (first["accepted"], first["rejected"]) == (2, 1), first
    assert _post_traffic(poster, use_case, rows).json()["duplicate"] == 2

    samples = scrape(_client(scraper_token))

    run.refresh_from_db()
    use_case.refresh_from_db()
    slug = (("use_case", use_case.slug),)
    assert run.severity == "stop" and use_case.halted  # the scenario is built to stop and halt
    assert series(samples, "driftgate_drift_run_severity") == {slug: 2.0}
    assert series(samples, "driftgate_use_case_halted") == {slug: 1.0}
    assert series(samples, "driftgate_drift_run_duration_seconds") == {slug: run.duration_ms / 1000}
    assert series(samples, "driftgate_drift_run_window_end_timestamp_seconds") == {slug: WINDOW_END.timestamp()}
    stored = {signal.name: signal for signal in DriftSignal.objects.filter(run=run)}
    assert len(stored) >= 3
    effects = series(samples, "driftgate_drift_signal_effect_size")
    p_values = series(samples, "driftgate_drift_signal_p_value")
    for name, signal in stored.items():
        labels = (("signal", name), ("use_case", use_case.slug))
        assert effects[labels] == pytest.approx(signal.effect_size, rel=1e-12, abs=1e-300)
        assert p_values[labels] == pytest.approx(signal.p_value, rel=1e-12, abs=1e-300)
    assert len(effects) == len(stored)
    counts = TrafficIngestCount.objects.get(use_case=use_case)
    assert (counts.accepted, counts.duplicate, counts.rejected) == (2, 2, 1)
    assert series(samples, "driftgate_traffic_records_ingested_total") == {slug: 2.0}
    assert series(samples, "driftgate_traffic_records_duplicate_total") == {slug: 2.0}
    assert series(samples, "driftgate_traffic_records_rejected_total") == {slug: 1.0}


def test_the_last_run_is_the_latest_window_and_failed_runs_do_not_count(scraper_token, use_case):
    older = DriftRunFactory(use_case=use_case, window_start=WINDOW_START - timedelta(hours=1),
                            window_end=WINDOW_START, severity="review")
    DriftSignalFactory(run=older, name="prompt_drift", effect_size=0.3, p_value=0.001)
    latest = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END, severity="ok")
    DriftSignalFactory(run=latest, name="prompt_drift", effect_size=0.01, p_value=0.6)
    DriftRunFactory(use_case=use_case, window_start=WINDOW_END, window_end=WINDOW_END + timedelta(hours=1),
                    status="failed", severity="")

    samples = scrape(_client(scraper_token))

    labels = (("signal", "prompt_drift"), ("use_case", use_case.slug))
    assert series(samples, "driftgate_drift_run_severity") == {(("use_case", use_case.slug),): 0.0}
    assert series(samples, "driftgate_drift_signal_effect_size") == {labels: 0.01}
    assert series(samples, "driftgate_drift_signal_p_value") == {labels: 0.6}


def test_labels_are_slugs_and_engine_signal_names_only(scraper_token):
    for index in range(5):
        use_case = UseCaseFactory(slug=f"uc-{index}", name=f"Use case {index}: <free text>")
        run = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)
        for name in ("prompt_drift", "quality_drop", "topic_novelty"):
            DriftSignalFactory(run=run, name=name)
        # A row whose name is not one of the engine's signals never becomes a label value.
        DriftSignalFactory(run=run, name="Customer complaint from Oslo")

    samples = scrape(_client(scraper_token))

    label_names = {name for (_, labels) in samples for name, _ in labels}
    assert label_names <= {"use_case", "signal", "queue", "task", "channel"}
    effects = series(samples, "driftgate_drift_signal_effect_size")
    assert len(effects) == 5 * 3
    assert {dict(labels)["signal"] for labels in effects} <= set(SIGNAL_NAMES)
    assert {dict(labels)["use_case"] for labels in effects} == set(UseCase.objects.values_list("slug", flat=True))


def test_notification_counts_are_the_outboxs_pending_and_failed_deliveries_per_channel(scraper_token, use_case):
    client = _client(scraper_token)
    # Every channel has its series from the start, at zero, so an alert rule on it never sees a gap.
    assert series(scrape(client), "driftgate_notifications_pending") == {
        (("channel", channel),): 0.0 for channel in Channel.values}
    person = UserFactory()
    for index, (channel, status) in enumerate([
        (Channel.EMAIL, DeliveryStatus.PENDING), (Channel.EMAIL, DeliveryStatus.PENDING),
        (Channel.EMAIL, DeliveryStatus.PENDING), (Channel.EMAIL, DeliveryStatus.FAILED),
        (Channel.EMAIL, DeliveryStatus.SENT), (Channel.WEBHOOK, DeliveryStatus.FAILED),
        (Channel.WEBHOOK, DeliveryStatus.FAILED), (Channel.INBOX, DeliveryStatus.SENT),
    ]):
        notification = Notification.objects.create(event=NotificationEvent.choices[0][0], use_case=use_case,
                                                   subject=f"Event {index}", body="A body.")
        NotificationDelivery.objects.create(notification=notification, channel=channel, recipient=person,
                                            target=f"user:{person.pk}", status=status)
    samples = scrape(client)
    assert series(samples, "driftgate_notifications_pending") == {
        (("channel", "email"),): 3.0, (("channel", "webhook"),): 0.0, (("channel", "inbox"),): 0.0}
    assert series(samples, "driftgate_notifications_failed") == {
        (("channel", "email"),): 1.0, (("channel", "webhook"),): 2.0, (("channel", "inbox"),): 0.0}


def test_another_registered_provider_adds_its_series(scraper_token):
    def provider():
        return [("sms", 4, 1)]

    register_notification_counts(provider)
    try:
        samples = scrape(_client(scraper_token))
    finally:
        unregister_notification_counts(provider)
    assert series(samples, "driftgate_notifications_pending")[(("channel", "sms"),)] == 4.0
    assert series(samples, "driftgate_notifications_failed")[(("channel", "sms"),)] == 1.0


@pytest.fixture
def broker():
    """An empty Redis database for the broker; skipped when Redis is not running."""
    with emptied_broker(REDIS_URL) as url:
        yield url


def test_queue_lengths_are_read_from_the_broker(scraper_token, broker, settings):
    settings.CELERY_BROKER_URL = broker
    client = redis.Redis.from_url(broker)
    client.rpush("embed", b"first", b"second", b"third")
    client.rpush("reports", b"only")

    samples = scrape(_client(scraper_token))

    queues = series(samples, "driftgate_queue_messages")
    assert queues[(("queue", "embed"),)] == 3.0 and queues[(("queue", "reports"),)] == 1.0
    assert queues[(("queue", "drift"),)] == 0.0
    assert samples[("driftgate_broker_up", ())] == 1.0


def test_a_broker_that_does_not_answer_is_reported_down_not_a_failed_scrape(scraper_token, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    samples = scrape(_client(scraper_token))
    assert samples[("driftgate_broker_up", ())] == 0.0


@pytest.mark.django_db(transaction=True)
def test_failures_and_retries_on_a_real_worker_are_counted_per_queue(broker, make_user, system_actor):
    person = make_user("prometheus")
    raw = api_token_create(actor=system_actor, owner_username=person.username, name="prometheus",
                           scopes=["metrics:read"])[1]
    with production_like_app("driftgate-metrics-tests", broker) as app, finished_task_ids() as done:

        @app.task(name="tests.metrics.flaky", bind=True, max_retries=2, default_retry_delay=0)
        def flaky(self):
            raise self.retry(exc=ConnectionError("the far side hung up"))

        @app.task(name="tests.metrics.broken")
        def broken():
            raise ValueError("a bug")

        with start_worker(app, pool="solo", perform_ping_check=False, queues=["ingest", "reports"],
                          shutdown_timeout=30):
            flaky.apply_async(queue="ingest")
            broken.apply_async(queue="reports")
            broken.apply_async(queue="reports")
            # flaky: the first delivery and two retries; broken: two deliveries.
            wait_for(done, 5, timeout=60, what="deliveries")

    samples = scrape(_client(raw))

    failures = series(samples, "driftgate_task_failures_total")
    retries = series(samples, "driftgate_task_retries_total")
    assert failures[(("queue", "reports"), ("task", "tests.metrics.broken"))] == 2.0
    assert failures[(("queue", "ingest"), ("task", "tests.metrics.flaky"))] == 1.0  # gave up after its retries
    assert retries[(("queue", "ingest"), ("task", "tests.metrics.flaky"))] == 2.0
    assert TaskOutcomeCount.objects.filter(queue="ingest", task="tests.metrics.flaky", outcome="retry").get().count == 2


def test_the_scrape_takes_a_fixed_number_of_queries_whatever_the_inventory(scraper_token, django_assert_max_num_queries):
    for index in range(20):
        use_case = UseCaseFactory(slug=f"many-{index}")
        run = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)
        DriftSignalFactory(run=run, name="prompt_drift")
    client = _client(scraper_token)
    # Token lookup, its last-used stamp and the collectors' five reads; not one query per use case.
    with django_assert_max_num_queries(8):
        assert len(series(scrape(client), "driftgate_drift_run_severity")) == 20
    assert DriftRun.objects.count() == 20


def test_the_documented_alerts_and_dashboard_use_only_metrics_the_endpoint_serves(scraper_token, broker, settings,
                                                                                 use_case):
    settings.CELERY_BROKER_URL = broker
    run = DriftRunFactory(use_case=use_case, duration_ms=1500)
    DriftSignalFactory(run=run)
    TrafficIngestCount.objects.create(use_case=use_case, accepted=1, duplicate=1, rejected=1)
    TaskOutcomeCount.objects.create(queue="drift", task="monitoring.tasks.drift_window", outcome="failure", count=1)
    TaskOutcomeCount.objects.create(queue="drift", task="monitoring.tasks.drift_window", outcome="retry", count=1)

    def provider():
        return [("email", 0, 0)]

    register_notification_counts(provider)
    try:
        served = {name for name, _ in scrape(_client(scraper_token))}
    finally:
        unregister_notification_counts(provider)

    root = Path(django_settings.BASE_DIR) / "docs"
    alerts = yaml.safe_load((root / "prometheus" / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    dashboard = json.loads((root / "grafana" / "driftgate.json").read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expression in expressions for name in re.findall(r"driftgate_[a-z_]+", expression)}
    assert used and used <= served, used - served

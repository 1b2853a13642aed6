"""Rate limits on the real Redis: invalid tokens per address, traffic batches per token and use case."""
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from monitoring.models import MonitoringPolicy, TrafficRecord
from monitoring.services.policies import policy_defaults
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.usefixtures("postgres_only")
REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(autouse=True)
def redis_cache(settings):
    # A fresh key prefix per test: counters of one test never leak into the next, and nothing is flushed.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def _bearer(raw: str, ip: str = "203.0.113.5") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _token(user, scopes=("governance:read",), name="ci") -> str:
    return api_token_create(actor=Actor.system("tests"), owner_username=user.username, name=name,
                            scopes=list(scopes))[1]


def test_an_address_guessing_tokens_is_refused_with_429_and_retry_after(settings, make_user):
    settings.DRIFTGATE_TOKEN_FAILURE_LIMIT = 3
    raw = _token(make_user("ci-bot"))
    guesses = [_bearer(f"dg_nope{n}_secret").get("/api/v1/audit-events").status_code for n in range(3)]

    blocked = _bearer("dg_nope9_secret").get("/api/v1/audit-events")
    # Even a valid token waits: the address is blocked before any token is looked at.
    valid_from_there = _bearer(raw).get("/api/v1/audit-events")
    elsewhere = _bearer("dg_nope10_secret", ip="192.0.2.77").get("/api/v1/audit-events")

    assert guesses == [401, 401, 401]
    assert blocked.status_code == 429 and valid_from_there.status_code == 429
    assert blocked.json()["code"] == "token_failures_throttled"
    assert 1 <= int(blocked["Retry-After"]) <= settings.DRIFTGATE_TOKEN_FAILURE_WINDOW_SECONDS
    assert blocked.json()["extra"]["retry_after"] == int(blocked["Retry-After"])
    assert elsewhere.status_code == 401


def test_valid_tokens_do_not_count_as_failures(settings, make_user):
    settings.DRIFTGATE_TOKEN_FAILURE_LIMIT = 2
    raw = _token(make_user("ci-bot"))

    statuses = [_bearer(raw).get("/api/v1/audit-events").status_code for _ in range(5)]

    assert statuses == [200] * 5


def _records(prefix: str, n: int = 2) -> str:
    stamp = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    return json.dumps([{"external_id": f"{prefix}-{i}", "timestamp": stamp, "prompt": "Where is my invoice?",
                        "response": "In the portal.", "model_version": "v1"} for i in range(n)])


@pytest.fixture
def serving(make_user, grant, use_case):
    ModelVersionFactory(use_case=use_case, label="v1")
    user = make_user("serving")
    grant(user, use_case, "platform_owner")
    return user


def test_traffic_batches_are_limited_per_token_by_the_use_cases_policy(settings, serving, use_case):
    settings.DRIFTGATE_INGEST_RATE_PER_MINUTE = 100
    policy = policy_defaults(use_case=use_case)
    policy.ingest_rate_per_minute = 2
    policy.save()
    first, second = _token(serving, ("traffic:write",), "a"), _token(serving, ("traffic:write",), "b")
    url = f"/api/v1/use-cases/{use_case.slug}/traffic"

    allowed = [_bearer(first).post(url, _records(f"a{n}"), content_type="application/json").status_code
               for n in range(2)]
    refused = _bearer(first).post(url, _records("a9"), content_type="application/json")
    other_token = _bearer(second).post(url, _records("b0"), content_type="application/json")

    assert allowed == [200, 200]
    assert refused.status_code == 429 and refused.json()["code"] == "ingest_rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other_token.status_code == 200
    assert not TrafficRecord.objects.filter(external_id__startswith="a9").exists()


def test_the_platform_default_applies_without_a_policy_rate(settings, serving, use_case):
    settings.DRIFTGATE_INGEST_RATE_PER_MINUTE = 1
    raw = _token(serving, ("traffic:write",))
    url = f"/api/v1/use-cases/{use_case.slug}/traffic"

    statuses = [_bearer(raw).post(url, _records(f"d{n}"), content_type="application/json").status_code
                for n in range(2)]

    assert statuses == [200, 429]
    assert not MonitoringPolicy.objects.filter(use_case=use_case).exists()


def test_limits_fail_open_while_the_cache_is_away(settings, serving, use_case):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    settings.DRIFTGATE_INGEST_RATE_PER_MINUTE = 1
    raw = _token(serving, ("traffic:write",))
    url = f"/api/v1/use-cases/{use_case.slug}/traffic"

    statuses = [_bearer(raw).post(url, _records(f"f{n}"), content_type="application/json").status_code
                for n in range(3)]
    guess = _bearer("dg_nope_secret").get("/api/v1/audit-events")

    assert statuses == [200, 200, 200]
    assert guess.status_code == 401


def test_the_policy_api_sets_and_validates_the_ingest_rate(serving, use_case):
    client = APIClient()
    client.force_login(serving)
    url = f"/api/v1/use-cases/{use_case.slug}/policy"

    bad = client.put(url, {"ingest_rate_per_minute": 0}, format="json")
    good = client.put(url, {"ingest_rate_per_minute": 30}, format="json")

    assert bad.status_code == 400 and bad.json()["code"] == "invalid_ingest_rate"
    assert good.status_code == 200 and good.json()["ingest_rate_per_minute"] == 30
    assert MonitoringPolicy.objects.get(use_case=use_case).ingest_rate_per_minute == 30

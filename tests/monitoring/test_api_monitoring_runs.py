"""Run endpoints: the use case's runs (filtered, paginated) and one run with every signal."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from tests.factories import AlertFactory, DriftRunFactory, DriftSignalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "viewer")
    client = APIClient()
    client.force_login(user)
    return client


def _hour(hours_ago: int):
    return timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)


def test_runs_are_listed_newest_window_first_and_paginated(viewer, use_case):
    runs = [DriftRunFactory(use_case=use_case, window_start=_hour(hours)) for hours in (3, 2, 1)]

    response = viewer.get(f"/api/v1/use-cases/{use_case.slug}/runs?page_size=2")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [runs[2].pk, runs[1].pk]
    assert body["next"]


def test_runs_filter_by_severity_and_time(viewer, use_case):
    DriftRunFactory(use_case=use_case, window_start=_hour(5), severity="review")
    wanted = DriftRunFactory(use_case=use_case, window_start=_hour(2), severity="review")
    DriftRunFactory(use_case=use_case, window_start=_hour(1), severity="ok")

    since = _hour(3).isoformat().replace("+00:00", "Z")
    response = viewer.get(f"/api/v1/use-cases/{use_case.slug}/runs", {"severity": "review", "since": since})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


def test_a_run_links_its_alert(viewer, use_case):
    alert = AlertFactory(run__use_case=use_case)

    response = viewer.get(f"/api/v1/use-cases/{use_case.slug}/runs")

    assert response.json()["results"][0]["alert"] == alert.pk


@pytest.mark.parametrize(("query", "code"), [
    ({"severity": "panic"}, "invalid_severity"),
    ({"since": "last tuesday"}, "invalid_datetime"),
    ({"until": "2026-01-01T00:00:00"}, "invalid_datetime"),
])
def test_listing_runs_refuses_bad_filters(viewer, use_case, query, code):
    response = viewer.get(f"/api/v1/use-cases/{use_case.slug}/runs", query)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_a_run_is_shown_with_every_signal(viewer, use_case):
    run = DriftRunFactory(use_case=use_case, severity="review")
    DriftSignalFactory(run=run, name="prompt_drift", severity="review", details={"auc": 0.71})
    DriftSignalFactory(run=run, name="quality_drop", severity="ok", effect_unit="relative drop")

    response = viewer.get(f"/api/v1/runs/{run.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["severity"] == "review"
    assert [(s["name"], s["severity"]) for s in body["signals"]] == [("prompt_drift", "review"), ("quality_drop", "ok")]
    assert body["signals"][0]["details"] == {"auc": 0.71}


def test_a_run_of_an_invisible_use_case_is_not_found(viewer):
    other = DriftRunFactory()

    response = viewer.get(f"/api/v1/runs/{other.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "run_not_found"


def test_a_monitoring_read_token_lists_runs_and_other_tokens_are_refused(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    DriftRunFactory(use_case=use_case)
    statuses = {}
    for scope in ("monitoring:read", "traffic:write"):
        _, raw = api_token_create(actor=Actor.for_user(user), owner_username=user.username, name=scope,
                                  scopes=[scope])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        response = client.get(f"/api/v1/use-cases/{use_case.slug}/runs")
        statuses[scope] = (response.status_code, response.json().get("code"))

    assert statuses == {"monitoring:read": (200, None), "traffic:write": (403, "missing_scope")}


def test_anonymous_requests_are_refused(use_case):
    response = APIClient().get(f"/api/v1/use-cases/{use_case.slug}/runs")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_a_signal_without_a_finite_statistic_is_shown_as_null(viewer, use_case):
    run = DriftRunFactory(use_case=use_case)
    DriftSignalFactory(run=run, name="feedback_drop", statistic=float("nan"), p_value=1.0, p_adjusted=None,
                       effect_size=float("inf"), severity="ok")

    response = viewer.get(f"/api/v1/runs/{run.pk}")

    assert response.status_code == 200
    signal = response.json()["signals"][0]
    assert signal["statistic"] is None and signal["effect_size"] is None and signal["p_value"] == 1.0


def test_runs_of_an_unknown_use_case_are_not_found(viewer):
    response = viewer.get("/api/v1/use-cases/no-such-case/runs")

    assert response.status_code == 404
    assert response.json()["code"] == "use_case_not_found"

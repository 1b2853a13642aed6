"""The probes API: golden sets and versions, endpoints, the policy, runs on demand, results; codes and roles."""
import logging

import pytest
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.models import GoldenItem, GoldenSet, GoldenSetVersion, ModelEndpoint, ProbeResult, ProbeRun
from monitoring.services.probes import builtin_sets_sync
from tests.factories import ModelVersionFactory
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_user, grant, use_case):
    """A signed-in client for a new person with the given roles on the use case."""
    def client_for(*roles: str) -> APIClient:
        user = make_user()
        for role in roles:
            grant(user, use_case, role)
        client = APIClient()
        client.force_login(user)
        client.user = user
        return client
    return client_for


def _sets_url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/golden-sets"


def test_a_product_owner_creates_a_set_and_a_new_version_keeps_the_old_one(person, use_case):
    # A migration loads the built-in sets; a transactional test elsewhere in the suite may have flushed them.
    builtin_sets_sync()
    client = person("product_owner")

    created = client.post(_sets_url(use_case), {"key": "invoices", "title": "Invoice questions",
                                                "items": ARITHMETIC_ITEMS[:3]}, format="json")
    assert created.status_code == 201, created.json()
    set_id = created.json()["id"]
    assert created.json()["version"]["number"] == 1 and len(created.json()["items"]) == 3

    revised = client.post(f"/api/v1/golden-sets/{set_id}/versions",
                          {"items": ARITHMETIC_ITEMS[:4], "note": "one more"}, format="json")
    assert revised.status_code == 201 and revised.json()["version"]["number"] == 2

    old = client.get(f"/api/v1/golden-sets/{set_id}?version=1").json()
    assert [item["key"] for item in old["items"]] == [item["key"] for item in ARITHMETIC_ITEMS[:3]]
    actions = list(AuditEvent.objects.filter(action__startswith="golden_set.").values_list("action", flat=True))
    assert actions == ["golden_set.created", "golden_set.versioned"]

    same = client.post(f"/api/v1/golden-sets/{set_id}/versions", {"items": ARITHMETIC_ITEMS[:4]}, format="json")
    assert same.status_code == 409 and same.json()["code"] == "golden_set_unchanged"
    listed = {row["key"]: row for row in client.get(_sets_url(use_case)).json()}
    assert listed["invoices"]["current_version"] == 2 and listed["invoices"]["item_count"] == 4
    assert {key: listed[key]["item_count"] for key in ("general-capability", "safety", "language")} == {
        "general-capability": 86, "safety": 30, "language": 44}
    assert listed["safety"]["builtin"] is True and listed["safety"]["use_case"] is None


@pytest.mark.parametrize(("item", "message"), [
    ({"grader": "regex", "config": {"pattern": "(unclosed"}, "reference": "x"}, "pattern does not compile"),
    ({"grader": "json_schema", "config": {"schema": {"type": "nonsense"}}, "reference": "{}"},
     "not a valid JSON Schema"),
    ({"grader": "numeric", "reference": "twenty"}, "reference must be a number"),
    ({"grader": "semantic", "config": {"threshold": 1.5}, "reference": "x"}, "threshold"),
    ({"grader": "exact_ish", "reference": "x"}, "unknown grader"),
    ({"grader": "regex", "config": {"pattern": "^\\d+$"}, "reference": "twenty-two"}, "does not pass its own"),
])
def test_an_item_with_an_invalid_grader_refuses_the_whole_set(person, use_case, item, message):
    good = ARITHMETIC_ITEMS[0]
    bad = {"key": "bad", "category": "misc", "prompt": "Say something.", **item}

    response = person("platform_owner").post(_sets_url(use_case), {"key": "s", "title": "S",
                                                                   "items": [good, bad]}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_golden_items"
    assert [error["key"] for error in body["extra"]["errors"]] == ["bad"]
    assert message in body["extra"]["errors"][0]["message"]
    assert not GoldenSet.objects.filter(use_case=use_case).exists()
    assert not GoldenItem.objects.filter(version__golden_set__use_case=use_case).exists()


def test_a_viewer_reads_sets_but_cannot_write_them(person, use_case):
    viewer = person("viewer")
    assert viewer.get(_sets_url(use_case)).status_code == 200
    response = viewer.post(_sets_url(use_case), {"key": "s", "title": "S", "items": ARITHMETIC_ITEMS}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "missing_role"


def test_an_endpoint_names_where_its_key_is_kept_never_the_key(person, use_case):
    version = ModelVersionFactory(use_case=use_case)
    url = f"/api/v1/use-cases/{use_case.slug}/model-versions/{version.pk}/endpoints/model"
    client = person("platform_owner")

    response = client.put(url, {"url": "https://llm.example.com/v1/chat/completions", "model_name": "ft-v3",
                                "key_env": "INVOICE_LLM_KEY"}, format="json")

    assert response.status_code == 200 and response.json()["key_env"] == "INVOICE_LLM_KEY"
    assert ModelEndpoint.objects.get().model_name == "ft-v3"
    assert AuditEvent.objects.filter(action="model_endpoint.set").count() == 1
    refused = client.put(url, {"url": "https://llm.example.com/v1", "model_name": "m",
                               "key_env": "sk-proj-abc123"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_key_env"
    both = client.put(url, {"url": "https://llm.example.com/v1", "model_name": "m", "key_env": "K",
                            "key_file": "k.txt"}, format="json")
    assert both.status_code == 400 and both.json()["code"] == "one_key_source"
    traversal = client.put(url, {"url": "https://llm.example.com/v1", "model_name": "m",
                                 "key_file": "../etc/passwd"}, format="json")
    assert traversal.status_code == 400 and traversal.json()["code"] == "invalid_key_file"
    for bad in ("ftp://llm.example.com", "https://user:pw@llm.example.com/v1", "http://[::1", "https://x:99999999/",
                "https://" + "a" * 500 + ".example.com", "https://exa mple.com"):
        bad_url = client.put(url, {"url": bad, "model_name": "m"}, format="json")
        assert bad_url.status_code == 400 and bad_url.json()["code"] == "invalid_endpoint_url", bad
    assert person("product_owner").put(url, {"url": "https://x.example.com/v1", "model_name": "m"},
                                       format="json").status_code == 403


def test_the_policy_refuses_bad_values_with_a_code_per_field(person, use_case):
    client = person("platform_owner")
    url = f"/api/v1/use-cases/{use_case.slug}/probe-policy"
    assert client.get(url).json()["configured"] is False

    for body, code in [({"pass_target": 1.5}, "invalid_pass_target"), ({"interval_hours": 0}, "invalid_interval_hours"),
                       ({"builtin_sets": ["nope"]}, "invalid_builtin_sets"), ({"colour": "red"}, "unknown_field"),
                       ({"concurrency": 2.5}, "invalid_concurrency")]:
        response = client.put(url, body, format="json")
        assert response.status_code == 400 and response.json()["code"] == code, body

    ok = client.put(url, {"pass_target": 0.85, "interval_hours": 12}, format="json")
    assert ok.status_code == 200 and ok.json()["pass_target"] == 0.85 and ok.json()["configured"] is True


def test_a_run_on_demand_runs_with_the_key_from_the_environment_and_stores_none_of_it(
        person, use_case, openai_stub, monkeypatch, django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.DEBUG)
    version = ModelVersionFactory(use_case=use_case, status="candidate")
    client = person("platform_owner", "product_owner")
    client.put(f"/api/v1/use-cases/{use_case.slug}/model-versions/{version.pk}/endpoints/model",
               {"url": openai_stub.url, "model_name": "good", "key_env": "PROBE_TEST_KEY"}, format="json")
    client.put(f"/api/v1/use-cases/{use_case.slug}/probe-policy", {"builtin_sets": []}, format="json")
    client.post(_sets_url(use_case), {"key": "sums", "title": "Sums", "items": ARITHMETIC_ITEMS}, format="json")
    openai_stub.teach(GoldenItem.objects.all())
    secret = "sk-test-4f1c9a-never-stored"
    openai_stub.state.required_key = secret
    monkeypatch.setenv("PROBE_TEST_KEY", secret)

    # Without a broker the task runs in-process once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/use-cases/{use_case.slug}/probe-runs", {}, format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued" and response.json()["sets"] == {"sums": 1}
    run = client.get(f"/api/v1/probe-runs/{response.json()['id']}").json()
    assert run["status"] == "succeeded" and run["summary"]["overall"]["pass_rate"] == 1.0
    assert run["model_version"] == version.label and run["trigger"] == "api"
    results = client.get(f"/api/v1/probe-runs/{run['id']}/results?outcome=passed").json()
    assert results["count"] == 8 and results["results"][0]["request"]["temperature"] == 0
    assert set(openai_stub.state.authorizations) == {f"Bearer {secret}"}
    stored = [str(row) for row in ProbeResult.objects.values_list("request", "response", "answer", "error_message")]
    stored += [str(row) for row in AuditEvent.objects.values_list("before", "after", "reason")]
    assert not any(secret in text for text in stored)
    assert secret not in caplog.text
    bad = client.get(f"/api/v1/probe-runs/{run['id']}/results?outcome=maybe")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_outcome"


def test_a_missing_key_fails_the_run_naming_the_variable_not_a_value(
        person, use_case, openai_stub, django_capture_on_commit_callbacks):
    version = ModelVersionFactory(use_case=use_case, status="candidate")
    client = person("platform_owner")
    client.put(f"/api/v1/use-cases/{use_case.slug}/model-versions/{version.pk}/endpoints/model",
               {"url": openai_stub.url, "model_name": "good", "key_env": "PROBE_KEY_THAT_IS_NOT_SET"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/use-cases/{use_case.slug}/probe-runs", {}, format="json")
    run = client.get(f"/api/v1/probe-runs/{response.json()['id']}").json()
    assert run["status"] == "failed" and "PROBE_KEY_THAT_IS_NOT_SET is not set" in run["error"]
    assert openai_stub.state.requests == []


def test_requesting_a_run_without_an_endpoint_or_version_is_refused(person, use_case):
    client = person("platform_owner")
    url = f"/api/v1/use-cases/{use_case.slug}/probe-runs"
    assert client.post(url, {}, format="json").json()["code"] == "no_model_version"
    ModelVersionFactory(use_case=use_case, status="candidate", label="v9")
    response = client.post(url, {"model_version": "v9"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_endpoint"
    assert client.post(url, {"model_version": "v404"}, format="json").json()["code"] == "model_version_not_found"
    assert client.post(url, {"target": "other"}, format="json").json()["code"] == "invalid_target"
    assert not ProbeRun.objects.exists()


def test_a_token_reads_runs_with_monitoring_read_but_cannot_request_one(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    _, raw = api_token_create(actor=Actor.for_user(user), owner_username=user.username, name="ops",
                              scopes=["monitoring:read"])
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/use-cases/{use_case.slug}/probe-runs"
    assert client.get(url).status_code == 200
    assert client.post(url, {}, format="json").status_code == 403
    assert not GoldenSetVersion.objects.filter(golden_set__use_case=use_case).exists()

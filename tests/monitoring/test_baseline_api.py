"""The baseline endpoints through APIClient: status codes and error codes, people and tokens."""
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.models import Baseline, BaselineStatus
from monitoring.selectors.baselines import clear_baseline_cache
from tests.factories import pydoc_sentences, traffic_rows

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)
MINIMUM = 300


@pytest.fixture(autouse=True)
def small_baselines(settings):
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = MINIMUM
    clear_baseline_cache()


@pytest.fixture
def traffic(use_case):
    by_topic = pydoc_sentences()
    sentences = [sentence for topic in sorted(by_topic) for sentence in by_topic[topic]]
    rng = np.random.default_rng(3)
    prompts = [sentences[i] for i in rng.integers(0, 150, size=400)]
    answers = [sentences[150 + i] for i in rng.integers(0, 120, size=400)]
    traffic_rows(use_case=use_case, prompts=prompts, responses=answers, start=START, end=END,
                 scores=list(rng.uniform(0.6, 1.0, size=400)))


def person(make_user, grant, use_case, role, name):
    user = make_user(name)
    if role:
        grant(user, use_case, role)
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def token_client(user, scopes) -> APIClient:
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="ci", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/baselines"


BODY = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.mark.django_db(transaction=True)
def test_a_governance_owner_requests_a_baseline_and_gets_202_with_its_id(use_case, make_user, grant, traffic):
    user, client = person(make_user, grant, use_case, "governance_owner", "gov")
    response = client.post(url(use_case), BODY, format="json")
    assert response.status_code == 202
    body = response.json()
    # Without a broker the task runs in-process, so the reply already shows the frozen baseline.
    assert body["status"] == BaselineStatus.FROZEN
    assert body["n_records"] == 400
    assert body["created_by"] == user.username
    assert body["summary"]["prompt_clusters"]["k"] >= 2
    assert "centroids" not in str(body["summary"])
    baseline = Baseline.objects.get(pk=body["id"])
    assert baseline.status == BaselineStatus.FROZEN
    events = AuditEvent.objects.filter(object_id=str(baseline.pk), object_type="monitoring.baseline")
    assert set(events.values_list("action", flat=True)) == {"baseline.created", "baseline.built", "baseline.frozen"}
    assert set(events.values_list("actor_user", flat=True)) == {user.pk}


@pytest.mark.django_db
def test_a_platform_owner_may_request_one_too(use_case, make_user, grant, traffic, django_capture_on_commit_callbacks):
    _, client = person(make_user, grant, use_case, "platform_owner", "plat")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(use_case), BODY, format="json")
    assert response.status_code == 202


@pytest.mark.django_db
def test_a_product_owner_is_refused_with_missing_role(use_case, make_user, grant, traffic):
    _, client = person(make_user, grant, use_case, "product_owner", "prod")
    response = client.post(url(use_case), BODY, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_a_token_cannot_request_a_baseline(use_case, make_user, grant, traffic):
    user, _ = person(make_user, grant, use_case, "governance_owner", "gov")
    response = token_client(user, ["monitoring:read", "traffic:write"]).post(url(use_case), BODY, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_too_little_traffic_is_a_400_baseline_too_small(use_case, make_user, grant):
    _, client = person(make_user, grant, use_case, "governance_owner", "gov")
    response = client.post(url(use_case), BODY, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "baseline_too_small"
    assert response.json()["extra"] == {"available": 0, "minimum": MINIMUM}
    assert not Baseline.objects.exists()


@pytest.mark.parametrize("body, code", [
    ({"start": "yesterday", "end": END.isoformat()}, "validation_error"),
    ({"start": END.isoformat(), "end": START.isoformat()}, "invalid_range"),
    ({"end": END.isoformat()}, "invalid_range"),
    ({}, "no_active_model_version"),
    ({**BODY, "sample_size": 10}, "invalid_sample_size"),
    ({**BODY, "sample_size": "many"}, "validation_error"),
])
@pytest.mark.django_db
def test_bad_requests_get_a_400_with_a_stable_code(use_case, make_user, grant, body, code):
    _, client = person(make_user, grant, use_case, "governance_owner", "gov")
    response = client.post(url(use_case), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_replacing_needs_a_reason(use_case, make_user, grant, traffic, django_capture_on_commit_callbacks):
    _, client = person(make_user, grant, use_case, "governance_owner", "gov")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(use_case), BODY, format="json")
    refused = client.post(url(use_case), BODY, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "reason_required"
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(url(use_case), {**BODY, "reason": "New support topics since April"}, format="json")
    assert accepted.status_code == 202
    assert Baseline.objects.get(pk=accepted.json()["id"]).status == BaselineStatus.FROZEN
    assert Baseline.objects.filter(status=BaselineStatus.REPLACED).count() == 1


@pytest.mark.django_db
def test_members_and_read_tokens_list_the_baselines(use_case, make_user, grant, traffic,
                                                    django_capture_on_commit_callbacks):
    user, client = person(make_user, grant, use_case, "governance_owner", "gov")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(url(use_case), BODY, format="json").json()
    _, viewer = person(make_user, grant, use_case, "viewer", "viewer")
    listed = viewer.get(url(use_case))
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [created["id"]]
    assert token_client(user, ["monitoring:read"]).get(url(use_case)).status_code == 200


@pytest.mark.django_db
def test_a_token_without_monitoring_read_is_refused(use_case, make_user, grant):
    user, _ = person(make_user, grant, use_case, "governance_owner", "gov")
    response = token_client(user, ["traffic:write"]).get(url(use_case))
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.django_db
def test_outsiders_see_neither_the_list_nor_a_baseline(use_case, make_user, grant, traffic,
                                                       django_capture_on_commit_callbacks):
    _, client = person(make_user, grant, use_case, "governance_owner", "gov")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(url(use_case), BODY, format="json").json()
    _, outsider = person(make_user, grant, use_case, None, "outsider")
    listed = outsider.get(url(use_case))
    assert listed.status_code == 404
    assert listed.json()["code"] == "use_case_not_found"
    detail = outsider.get(f"/api/v1/baselines/{created['id']}")
    assert detail.status_code == 404
    assert detail.json()["code"] == "baseline_not_found"


@pytest.mark.django_db
def test_one_baseline_reads_back_with_its_statistics(use_case, make_user, grant, traffic,
                                                     django_capture_on_commit_callbacks):
    _, client = person(make_user, grant, use_case, "governance_owner", "gov")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(url(use_case), BODY, format="json").json()
    response = client.get(f"/api/v1/baselines/{created['id']}/")
    assert response.status_code == 200
    body = response.json()
    assert body["use_case"] == use_case.slug
    assert body["artifact_sha256"] == Baseline.objects.get(pk=created["id"]).artifact_sha256
    assert body["summary"]["score_stats"]["n"] == 400
    assert body["summary"]["tfidf"]["terms"] > 0


@pytest.mark.django_db
def test_an_unknown_baseline_is_a_404(make_user):
    client = APIClient()
    client.force_authenticate(make_user("anyone"))
    response = client.get("/api/v1/baselines/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "baseline_not_found"

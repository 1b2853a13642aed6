"""The policy endpoint: defaults before the first PUT, partial PUTs, stable error codes, people-only writes."""
import pytest
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.drift import Policy
from monitoring.models import MonitoringPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_user, grant, use_case):
    """Return a function giving a signed-in client for a new person with the role on the use case."""
    def client_for(role: str) -> APIClient:
        user = make_user()
        grant(user, use_case, role)
        client = APIClient()
        client.force_login(user)
        return client
    return client_for


def _url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/policy"


def test_before_the_first_put_the_seed_defaults_are_shown_as_not_configured(person, use_case):
    response = person("viewer").get(_url(use_case))

    assert response.status_code == 200
    body = response.json()
    assert body["configured"] is False and body["config"] == Policy().to_dict()
    assert not MonitoringPolicy.objects.exists()


def test_the_policy_states_the_smallest_share_its_window_detects_nine_times_in_ten(person, use_case):
    client = person("governance_owner")
    small = client.put(_url(use_case), {"sample_size": 500}, format="json").json()["detectable_share"]
    large = client.put(_url(use_case), {"sample_size": 5000}, format="json").json()["detectable_share"]

    assert small["window_records"] == 500 and large["window_records"] == 5000
    assert small["detection_rate"] == 0.9 and small["alpha"] == 0.01
    # From the measured power curves (docs/drift-power.md): a bigger window sees a smaller new topic.
    assert 0 < large["new_topic"] < small["new_topic"] <= 0.2


def test_a_put_keeps_what_it_leaves_out_and_merges_config_keys(person, use_case):
    client = person("governance_owner")
    client.put(_url(use_case), {"auto_halt": True, "config": {"tiers": {"quality_drop": [0.1, 0.2]}}}, format="json")

    response = client.put(_url(use_case), {"window_hours": 3, "config": {"alpha": 0.005}}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["configured"] is True and body["auto_halt"] is True and body["window_hours"] == 3
    assert body["config"]["alpha"] == 0.005 and body["config"]["tiers"]["quality_drop"] == [0.1, 0.2]
    assert AuditEvent.objects.filter(action="policy.configured").count() == 2


@pytest.mark.parametrize(("body", "code"), [
    ({"config": {"alpha": 0}}, "invalid_policy"),
    ({"config": {"tiers": {"topic_novelty": [0.5, 0.4]}}}, "invalid_policy"),
    ({"config": "strict"}, "invalid_policy"),
    ({"window_hours": 0}, "invalid_window_hours"),
    ({"sample_size": 10}, "invalid_sample_size"),
    ({"material_degradation": 1.5}, "invalid_material_degradation"),
    ({"window_hours": "hourly"}, "validation_error"),
    ({"auto_halt": "sometimes"}, "validation_error"),
])
def test_bad_input_is_refused_with_a_stable_code_and_nothing_is_stored(person, use_case, body, code):
    response = person("platform_owner").put(_url(use_case), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not MonitoringPolicy.objects.exists()


def test_a_product_owner_may_read_but_not_change_the_policy(person, use_case):
    client = person("product_owner")

    assert client.get(_url(use_case)).status_code == 200
    response = client.put(_url(use_case), {"auto_halt": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_a_token_reads_with_monitoring_read_but_never_writes(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    _, raw = api_token_create(actor=Actor.for_user(user), owner_username=user.username, name="ops",
                              scopes=["monitoring:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.get(_url(use_case)).status_code == 200
    response = client.put(_url(use_case), {"auto_halt": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_an_invisible_use_case_is_not_found(make_user, use_case):
    client = APIClient()
    client.force_login(make_user())

    response = client.get(_url(use_case))

    assert response.status_code == 404
    assert response.json()["code"] == "use_case_not_found"

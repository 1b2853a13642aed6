"""One set of rules: the API and the pages refuse the same input with the same message, from the model's limit."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.models import EffectGoal, ModelVersion, UseCase
from governance.rules import field_limit
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db

CASES = [
    # (model, field, API path, API body, page path, page prefix, page data)
    (EffectGoal, "metric", "effect-goals", {"target": 1.0}, "effect-goals", "goal", {"target": "1"}),
    (ModelVersion, "label", "model-versions", {"base_model": "m", "adapter_method": "lora"}, "model-versions",
     "version", {"base_model": "m", "adapter_method": "lora"}),
]


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("model", "field", "api_path", "api_body", "page_path", "prefix", "page_data"), CASES,
                         ids=["effect goal metric", "model version label"])
@pytest.mark.parametrize("limit", [None, 12], ids=["model limit", "changed limit"])
def test_api_and_form_refuse_one_character_past_the_model_limit_alike(monkeypatch, model, field, api_path, api_body,
                                                                      page_path, prefix, page_data, limit):
    if limit is not None:
        # Changing the model field's limit changes both, because neither keeps a copy of it.
        monkeypatch.setattr(model._meta.get_field(field), "max_length", limit)
    team = make_team()
    user = team.platform_owner if model is ModelVersion else team.product_owner
    too_long = "x" * (field_limit(model, field) + 1)
    before = model.objects.count()

    api = _api(user).post(f"/api/v1/use-cases/{team.use_case.slug}/{api_path}", {**api_body, field: too_long},
                          format="json")
    page = _page(user).post(f"/use-cases/{team.use_case.slug}/{page_path}/",
                            {f"{prefix}-{key}": value for key, value in {**page_data, field: too_long}.items()})

    assert api.status_code == 400 and api.json()["code"] == "validation_error"
    message = api.json()["extra"]["fields"][field][0]
    assert message == f"Ensure this field has no more than {field_limit(model, field)} characters."
    assert page.status_code == 400
    assert f'id="id_{prefix}-{field}-errors"' in page.content.decode()
    assert f"no more than {field_limit(model, field)} characters" in page.content.decode()
    assert model.objects.count() == before


def test_a_blank_name_is_refused_by_the_api_and_beside_the_form_field(make_user):
    staff = make_user("creator", is_staff=True)
    body = {"slug": "blank-name", "name": "   ", "purpose": "p", "approach": "rag", "base_model": "m",
            "risk_tier": "minimal"}

    api = _api(staff).post("/api/v1/use-cases", body, format="json")
    page = _page(staff).post("/use-cases/", body)

    assert api.status_code == 400 and "name" in api.json()["extra"]["fields"]
    assert page.status_code == 400 and 'id="id_name-errors"' in page.content.decode()
    assert not UseCase.objects.filter(slug="blank-name").exists()

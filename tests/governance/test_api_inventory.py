"""The inventory REST API: status codes and error codes, scopes, pagination and the OpenAPI schema."""
import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent, EffectGoal, Membership, ModelVersion, OrganisationRole, UseCase
from governance.services.tokens import api_token_create
from tests.factories import PASSWORD, UseCaseFactory

EVALUATION = {"task_metrics": {"exact_match": 0.81}, "general_capability_regression": -0.01}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user, use_case, grant):
    """One person per role on the use case, plus an outsider."""
    result = {}
    for role in ("product_owner", "platform_owner", "governance_owner", "viewer"):
        result[role] = make_user(f"{role}-api")
        grant(result[role], use_case, role)
    result["outsider"] = make_user("outsider-api")
    return result


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def token_client(user, scopes: list[str]) -> APIClient:
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="ci", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def base(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}"


# --- use cases ------------------------------------------------------------------------------------------------

def test_a_person_sees_only_the_use_cases_they_hold_a_role_on(use_case, people):
    UseCaseFactory(slug="someone-elses")

    response = client_for(people["viewer"]).get("/api/v1/use-cases")

    assert response.status_code == 200
    assert [row["slug"] for row in response.json()["results"]] == [use_case.slug]
    assert response.json()["count"] == 1


def test_the_list_filters_by_stage_risk_tier_and_halt(make_user):
    reader = make_user("reader-list")
    OrganisationRole.objects.create(user=reader, reason="compliance officer")
    UseCaseFactory(slug="a-pilot", stage="pilot", risk_tier="high")
    UseCaseFactory(slug="b-prod", stage="production", risk_tier="high", halted=True)
    UseCaseFactory(slug="c-prod", stage="production", risk_tier="minimal")
    client = client_for(reader)

    def slugs(query: str) -> list[str]:
        response = client.get(f"/api/v1/use-cases?{query}")
        assert response.status_code == 200
        return [row["slug"] for row in response.json()["results"]]

    assert slugs("stage=production") == ["b-prod", "c-prod"]
    assert slugs("risk_tier=high&halted=false") == ["a-pilot"]
    assert slugs("halted=true") == ["b-prod"]
    assert slugs("page_size=1&page=2")[0] == "b-prod"


def test_an_unknown_filter_value_is_a_field_error(people):
    response = client_for(people["viewer"]).get("/api/v1/use-cases?stage=moon")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "stage" in response.json()["extra"]["fields"]


def test_creating_a_use_case_returns_it_and_makes_the_creator_product_owner(make_user):
    creator = make_user("creator")
    creator.user_permissions.add(Permission.objects.get(codename="add_usecase", content_type__app_label="governance"))

    response = client_for(creator).post("/api/v1/use-cases", {
        "slug": "claims-triage", "name": "Claims triage", "purpose": "Route insurance claims.",
        "approach": "hybrid", "base_model": "llama-3-8b", "risk_tier": "high",
        "regulatory_scopes": ["eu_ai_act", "nydfs_cl7"]}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "claims-triage" and response.json()["stage"] == "pilot"
    assert Membership.objects.filter(use_case__slug="claims-triage", user=creator, role="product_owner").exists()


def test_creating_without_the_permission_is_refused(people):
    response = client_for(people["outsider"]).post("/api/v1/use-cases", {
        "slug": "x-y", "name": "X", "purpose": "Y", "approach": "rag", "base_model": "m"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_permission"


def test_an_unknown_choice_is_a_field_error_and_nothing_is_stored(make_user):
    response = client_for(make_user("staff-c", is_staff=True)).post("/api/v1/use-cases", {
        "slug": "x-y", "name": "X", "purpose": "Y", "approach": "astrology", "base_model": "m",
        "regulatory_scopes": ["gdpr"]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert {"approach", "regulatory_scopes"} <= set(response.json()["extra"]["fields"])
    assert not UseCase.objects.filter(slug="x-y").exists()


def test_a_bad_slug_is_refused_by_the_service_with_a_field_error(make_user):
    response = client_for(make_user("staff-s", is_staff=True)).post("/api/v1/use-cases", {
        "slug": "Has Spaces", "name": "X", "purpose": "Y", "approach": "rag", "base_model": "m"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "slug" in response.json()["extra"]["fields"]


def test_malformed_json_is_a_400_with_its_own_code(make_user):
    response = client_for(make_user("staff-j", is_staff=True)).post(
        "/api/v1/use-cases", data='{"slug": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


@pytest.mark.parametrize("method, path", [("get", ""), ("patch", ""), ("post", "/halt"), ("post", "/resume"),
                                          ("get", "/members"), ("get", "/model-versions"),
                                          ("post", "/effect-goals"), ("get", "/status")])
def test_an_unknown_or_hidden_use_case_is_not_found(people, method, path):
    hidden = UseCaseFactory(slug="hidden-one")
    client = client_for(people["governance_owner"])

    for slug in ("no-such-thing", hidden.slug, "UPPER_case"):
        response = getattr(client, method)(f"/api/v1/use-cases/{slug}{path}", {}, format="json")
        assert response.status_code == 404, slug
        assert response.json()["code"] == "use_case_not_found"


def test_patch_changes_descriptive_fields(use_case, people):
    response = client_for(people["product_owner"]).patch(base(use_case), {"name": "Invoice helper"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Invoice helper"
    assert AuditEvent.objects.filter(action="use_case.updated").exists()


def test_patch_cannot_move_the_stage(use_case, people):
    response = client_for(people["governance_owner"]).patch(base(use_case), {"stage": "production"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "field_not_editable"
    assert UseCase.objects.get(pk=use_case.pk).stage == "pilot"


def test_patch_by_a_viewer_is_refused(use_case, people):
    response = client_for(people["viewer"]).patch(base(use_case), {"name": "Mine now"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_halt_and_resume(use_case, people):
    halted = client_for(people["platform_owner"]).post(f"{base(use_case)}/halt", {"reason": "toxic answers"},
                                                       format="json")
    again = client_for(people["platform_owner"]).post(f"{base(use_case)}/halt", {"reason": "again"}, format="json")
    no_reason = client_for(people["governance_owner"]).post(f"{base(use_case)}/resume", {"password": PASSWORD},
                                                            format="json")
    resumed = client_for(people["governance_owner"]).post(f"{base(use_case)}/resume",
                                                          {"reason": "patched", "password": PASSWORD},
                                                          format="json")

    assert halted.status_code == 200 and halted.json()["halted"] is True
    assert again.status_code == 409 and again.json()["code"] == "already_halted"
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
    assert resumed.status_code == 200 and resumed.json()["halted"] is False


def test_a_product_owner_cannot_halt(use_case, people):
    response = client_for(people["product_owner"]).post(f"{base(use_case)}/halt", {"reason": "x"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


# --- tokens ---------------------------------------------------------------------------------------------------

def test_a_governance_read_token_reads_but_cannot_write(use_case, people):
    client = token_client(people["governance_owner"], ["governance:read"])

    assert client.get(base(use_case)).status_code == 200
    assert client.get(f"{base(use_case)}/members").status_code == 200
    response = client.post(f"{base(use_case)}/halt", {"reason": "from a token"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not UseCase.objects.get(pk=use_case.pk).halted


def test_a_token_without_governance_read_cannot_list(use_case, people):
    response = token_client(people["viewer"], ["status:read"]).get("/api/v1/use-cases")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


# --- members --------------------------------------------------------------------------------------------------

def test_members_are_listed_granted_and_revoked(use_case, people, make_user):
    make_user("new-reviewer")
    client = client_for(people["governance_owner"])

    granted = client.post(f"{base(use_case)}/members", {"username": "new-reviewer", "role": "reviewer"},
                          format="json")
    listed = client.get(f"{base(use_case)}/members")
    revoked = client.delete(f"{base(use_case)}/members/{granted.json()['id']}?reason=rotation")

    assert granted.status_code == 201 and granted.json()["username"] == "new-reviewer"
    assert listed.status_code == 200 and "new-reviewer" in [row["username"] for row in listed.json()["results"]]
    assert revoked.status_code == 204
    assert AuditEvent.objects.get(action="membership.revoked").reason == "rotation"


def test_granting_to_an_unknown_user_is_a_field_error(use_case, people):
    response = client_for(people["governance_owner"]).post(f"{base(use_case)}/members",
                                                           {"username": "ghost", "role": "viewer"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_user"


def test_an_unknown_role_is_a_field_error(use_case, people):
    response = client_for(people["governance_owner"]).post(f"{base(use_case)}/members",
                                                           {"username": "viewer-api", "role": "king"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "role" in response.json()["extra"]["fields"]


def test_the_last_governance_owner_stays(use_case, people):
    membership = Membership.objects.get(use_case=use_case, role="governance_owner")

    response = client_for(people["governance_owner"]).delete(f"{base(use_case)}/members/{membership.pk}")

    assert response.status_code == 409
    assert response.json()["code"] == "last_governance_owner"


def test_a_membership_of_another_use_case_is_not_found(use_case, people, make_user, grant):
    other = grant(make_user("elsewhere"), UseCaseFactory(), "viewer")

    response = client_for(people["governance_owner"]).delete(f"{base(use_case)}/members/{other.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "membership_not_found"


# --- model versions -------------------------------------------------------------------------------------------

def test_model_versions_are_registered_activated_and_rolled_back(use_case, people):
    client = client_for(people["platform_owner"])
    payload = {"base_model": "mistral-7b", "adapter_method": "lora", "training_data_ref": "dvc://pairs@3",
               "training_data_sha256": "b" * 64, "evaluation": EVALUATION}

    first = client.post(f"{base(use_case)}/model-versions", {"label": "v1", **payload}, format="json")
    second = client.post(f"{base(use_case)}/model-versions", {"label": "v2", **payload}, format="json")
    client.post(f"{base(use_case)}/model-versions/{first.json()['id']}/activate")
    activated = client.post(f"{base(use_case)}/model-versions/{second.json()['id']}/activate")
    rolled_back = client.post(f"{base(use_case)}/model-versions/{second.json()['id']}/roll-back",
                              {"reason": "regressed on arithmetic"}, format="json")
    listed = client.get(f"{base(use_case)}/model-versions")

    assert first.status_code == 201 and first.json()["status"] == "candidate"
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    assert rolled_back.status_code == 200 and rolled_back.json()["status"] == "rolled_back"
    assert {row["label"]: row["status"] for row in listed.json()["results"]} == {"v1": "active", "v2": "rolled_back"}


def test_a_bad_digest_is_a_field_error(use_case, people):
    response = client_for(people["platform_owner"]).post(f"{base(use_case)}/model-versions", {
        "label": "v1", "base_model": "m", "training_data_ref": "x", "training_data_sha256": "not-hex"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "training_data_sha256" in response.json()["extra"]["fields"]
    assert not ModelVersion.objects.exists()


def test_activating_the_active_version_is_a_conflict(use_case, people):
    version = ModelVersion.objects.create(use_case=use_case, label="v1", base_model="m", evaluation=EVALUATION,
                                          status="active")

    response = client_for(people["platform_owner"]).post(f"{base(use_case)}/model-versions/{version.pk}/activate")

    assert response.status_code == 409
    assert response.json()["code"] == "already_active"


def test_an_unknown_model_version_is_not_found(use_case, people):
    response = client_for(people["platform_owner"]).post(f"{base(use_case)}/model-versions/999999/activate")

    assert response.status_code == 404
    assert response.json()["code"] == "model_version_not_found"


# --- effect goals ---------------------------------------------------------------------------------------------

def test_effect_goals_and_measurements(use_case, people):
    product = client_for(people["product_owner"])

    created = product.post(f"{base(use_case)}/effect-goals", {"metric": "deflection rate", "target": 0.3,
                                                              "unit": "share"}, format="json")
    goal_url = f"{base(use_case)}/effect-goals/{created.json()['id']}"
    patched = product.patch(goal_url, {"target": 0.35}, format="json")
    measured = client_for(people["platform_owner"]).post(f"{goal_url}/measurements",
                                                         {"value": 0.41, "source": "BI dashboard"}, format="json")
    goal = product.get(goal_url)
    measurements = product.get(f"{goal_url}/measurements")

    assert created.status_code == 201 and created.json()["met"] is None
    assert patched.status_code == 200 and patched.json()["target"] == 0.35
    assert measured.status_code == 201 and measured.json()["recorded_by"] == "platform_owner-api"
    assert goal.json()["latest_value"] == 0.41 and goal.json()["met"] is True
    assert [row["value"] for row in measurements.json()["results"]] == [0.41]


def test_a_measured_goal_cannot_be_deleted_but_an_unmeasured_one_can(use_case, people):
    product = client_for(people["product_owner"])
    measured = EffectGoal.objects.create(use_case=use_case, metric="csat", target=4.0)
    measured.measurements.create(value=4.1)
    unmeasured = EffectGoal.objects.create(use_case=use_case, metric="aht", target=300, direction="at_most")

    refused = product.delete(f"{base(use_case)}/effect-goals/{measured.pk}")
    deleted = product.delete(f"{base(use_case)}/effect-goals/{unmeasured.pk}", {"reason": "not tracked"},
                             format="json")

    assert refused.status_code == 409 and refused.json()["code"] == "goal_has_measurements"
    assert deleted.status_code == 204
    assert AuditEvent.objects.get(action="effect_goal.deleted").reason == "not tracked"


def test_a_non_finite_measurement_is_refused(use_case, people):
    goal = EffectGoal.objects.create(use_case=use_case, metric="csat", target=4.0)

    response = client_for(people["product_owner"]).post(
        f"{base(use_case)}/effect-goals/{goal.pk}/measurements", {"value": "NaN"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "value" in response.json()["extra"]["fields"]
    assert not goal.measurements.exists()


def test_a_viewer_cannot_define_goals(use_case, people):
    response = client_for(people["viewer"]).post(f"{base(use_case)}/effect-goals", {"metric": "m", "target": 1},
                                                 format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_an_unknown_goal_is_not_found(use_case, people):
    response = client_for(people["viewer"]).get(f"{base(use_case)}/effect-goals/424242/measurements")

    assert response.status_code == 404
    assert response.json()["code"] == "effect_goal_not_found"


# --- schema ---------------------------------------------------------------------------------------------------

def test_the_openapi_schema_documents_the_inventory(make_user):
    response = client_for(make_user("schema-reader")).get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/use-cases/", "/api/v1/use-cases/{slug}/", "/api/v1/use-cases/{slug}/halt/",
                 "/api/v1/use-cases/{slug}/resume/", "/api/v1/use-cases/{slug}/status/",
                 "/api/v1/use-cases/{slug}/members/", "/api/v1/use-cases/{slug}/members/{membership_id}/",
                 "/api/v1/use-cases/{slug}/model-versions/",
                 "/api/v1/use-cases/{slug}/model-versions/{model_version_id}/activate/",
                 "/api/v1/use-cases/{slug}/model-versions/{model_version_id}/roll-back/",
                 "/api/v1/use-cases/{slug}/effect-goals/", "/api/v1/use-cases/{slug}/effect-goals/{goal_id}/",
                 "/api/v1/use-cases/{slug}/effect-goals/{goal_id}/measurements/"]:
        assert path in paths, path


def test_the_api_root_links_the_use_case_list(make_user):
    response = client_for(make_user("root-reader")).get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["use_cases"].endswith("/api/v1/use-cases")

"""The admin: every governance and platform model is browsable; audited records cannot be changed there."""
from datetime import date

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.models import ApiToken, hash_token_secret
from governance.auditlog.checkpoints import audit_checkpoint_create
from governance.models import (
    AuditEvent,
    Checklist,
    ChecklistTemplate,
    Decision,
    Evidence,
    Gate,
    Obligation,
    Signature,
)
from governance.services.inventory import effect_goal_create, effect_measurement_record, use_case_halt
from governance.services.organisation import organisation_role_grant
from governance.services.tokens import api_token_create
from tests.factories import ModelVersionFactory

MY_APPS = {"governance", "driftgate"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(make_user):
    return make_user("admin-root", is_superuser=True, is_staff=True)


@pytest.fixture
def browser(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def populated(use_case, superuser, grant):
    """At least one row of every governance model, so list displays render real values."""
    grant(superuser, use_case, "product_owner")
    actor = Actor.for_user(superuser)
    ModelVersionFactory(use_case=use_case)
    goal = effect_goal_create(actor=actor, use_case=use_case, metric="csat", target=4.2)
    effect_measurement_record(actor=actor, goal=goal, value=4.4)
    use_case_halt(actor=actor, use_case=use_case, reason="admin test")
    audit_checkpoint_create()
    api_token_create(actor=actor, owner_username=superuser.username, name="ci", scopes=["status:read"])
    template = ChecklistTemplate.objects.create(key="admin-test", title="Admin test list", gate_numbers=[1])
    template.items.create(key="owner-named", text="Is an owner named?")
    gate = Gate.objects.create(use_case=use_case, number=1, status="approved", decided_at=timezone.now())
    decision = Decision.objects.create(gate=gate, outcome="go", status="final", rationale="ok", content_hash="d" * 64,
                                       proposed_by=superuser)
    Signature.objects.create(decision=decision, signer=superuser, printed_name="Root Admin",
                             role="governance_owner", meaning="approved as governance owner", content_hash="d" * 64)
    Obligation.objects.create(use_case=use_case, decision=decision, title="Re-check", owner=superuser,
                              due_date=date(2030, 1, 1))
    checklist = Checklist.objects.create(gate=gate, template=template, title=template.title, kind="dod",
                                         template_version=1)
    item = checklist.items.create(key="owner-named", text="Is an owner named?", owner_role="product_owner")
    Evidence.objects.create(item=item, name="RACI", url="https://example.com/raci", sha256="e" * 64)
    organisation_role_grant(actor=actor, user=superuser, reason="admin test")
    return use_case


def _my_models():
    return [model for model in admin.site._registry if model._meta.app_label in MY_APPS]


def test_every_governance_and_platform_model_is_registered():
    registered = {model._meta.label for model in _my_models()}
    expected = {model._meta.label for app in MY_APPS for model in apps.get_app_config(app).get_models()}
    assert expected <= registered


@pytest.mark.parametrize("model", _my_models(), ids=lambda model: model._meta.label)
def test_every_changelist_and_change_page_opens(browser, populated, model):
    opts = model._meta
    changelist = browser.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200

    searched = browser.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?q=a")
    assert searched.status_code == 200

    obj = model.objects.first()
    assert obj is not None, f"no {opts.label} row to show"
    change = browser.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_audit_events_cannot_be_added_changed_or_deleted(browser, populated):
    event = AuditEvent.objects.first()
    before = (event.action, event.hash)

    add = browser.get(reverse("admin:governance_auditevent_add"))
    change = browser.post(reverse("admin:governance_auditevent_change", args=[event.pk]),
                          {"action": "forged", "reason": "forged"})
    delete = browser.post(reverse("admin:governance_auditevent_delete", args=[event.pk]), {"post": "yes"})

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert (event.action, event.hash) == before


def test_the_audit_event_page_shows_every_field_read_only(browser, populated):
    event = AuditEvent.objects.first()

    page = browser.get(reverse("admin:governance_auditevent_change", args=[event.pk]))

    assert page.status_code == 200
    assert b'name="action"' not in page.content and event.hash.encode() in page.content


def test_audited_records_are_read_only_in_the_admin(browser, populated):
    gate = Gate.objects.first()

    response = browser.post(reverse("admin:governance_gate_change", args=[gate.pk]), {"status": "rejected"})

    assert response.status_code == 403
    assert Gate.objects.get(pk=gate.pk).status == "approved"


def test_creating_a_token_in_the_admin_shows_it_once_and_stores_only_its_hash(browser, superuser):
    response = browser.post(reverse("admin:driftgate_apitoken_add"), {
        "name": "deploy-pipeline", "owner": superuser.pk, "scopes": ["status:read", "governance:read"],
        "expires_at_0": "", "expires_at_1": ""}, follow=True)

    assert response.status_code == 200
    token = ApiToken.objects.get(name="deploy-pipeline")
    shown = [str(message) for message in get_messages(response.wsgi_request)] or [response.content.decode()]
    raw = next(word for text in shown for word in text.split() if word.startswith(f"dg_{token.lookup}_"))
    assert token.key_hash == hash_token_secret(raw.rstrip("<.\"'"))
    assert sorted(token.scopes) == ["governance:read", "status:read"]
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).exists()
    assert raw not in browser.get(reverse("admin:driftgate_apitoken_change", args=[token.pk])).content.decode()


def test_a_past_expiry_is_refused_by_the_admin_form(browser, superuser):
    response = browser.post(reverse("admin:driftgate_apitoken_add"), {
        "name": "stale", "owner": superuser.pk, "scopes": ["status:read"],
        "expires_at_0": "2001-01-01", "expires_at_1": "00:00:00"})

    assert response.status_code == 200  # the form again, with its error
    assert not ApiToken.objects.filter(name="stale").exists()


def test_the_revoke_action_revokes_through_the_audited_service(browser, superuser):
    token, _ = api_token_create(actor=Actor.for_user(superuser), owner_username=superuser.username, name="old",
                                scopes=["traffic:write"])

    response = browser.post(reverse("admin:driftgate_apitoken_changelist"),
                            {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True)

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.get(action="token.revoked", object_id=str(token.pk)).reason == "revoked in the admin"


def test_tokens_cannot_be_deleted_in_the_admin(browser, superuser):
    token, _ = api_token_create(actor=Actor.for_user(superuser), owner_username=superuser.username, name="keep",
                                scopes=["status:read"])

    response = browser.post(reverse("admin:driftgate_apitoken_delete", args=[token.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_editing_a_template_in_the_admin_is_audited_and_bumps_its_version(browser):
    template = ChecklistTemplate.objects.create(key="edit-me", title="Old title", gate_numbers=[2])

    response = browser.post(reverse("admin:governance_checklisttemplate_change", args=[template.pk]), {
        "key": "edit-me", "title": "New title", "description": "", "kind": "dod", "gate_numbers": "[2]",
        "is_active": "on",
        "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-position": "1", "items-0-key": "rollback-plan", "items-0-section": "Technique",
        "items-0-text": "Is there a rollback plan?", "items-0-owner_role": "platform_owner",
        "items-0-required": "on"})

    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.title == "New title" and template.version > 1
    updated = AuditEvent.objects.get(action="checklist_template.updated")
    assert updated.before == {"title": "Old title"} and updated.after == {"title": "New title"}
    assert AuditEvent.objects.filter(action="checklist_template_item.created").count() == 1

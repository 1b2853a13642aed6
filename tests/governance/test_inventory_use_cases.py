"""Use-case services: create, update, halt, resume and retire, each audited in its transaction."""
import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_verify_chain
from governance.models import AuditEvent, Membership, ModelVersion, Stage, UseCase
from governance.services.inventory import (
    use_case_create,
    use_case_halt,
    use_case_resume,
    use_case_retire,
    use_case_update,
)
from tests.factories import PASSWORD, ModelVersionFactory

VALID = {"slug": "invoice-assistant", "name": "Invoice assistant", "purpose": "Answer questions about invoices.",
         "approach": "fine_tuning", "base_model": "mistral-7b-instruct", "risk_tier": "limited",
         "regulatory_scopes": ["eu_ai_act", "iso_42001"]}

@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the many users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



@pytest.fixture
def staff(make_user):
    return make_user("staff-ana", is_staff=True)


@pytest.fixture
def owners(make_user, use_case, grant):
    """A product, platform and governance owner on the use case."""
    people = {role: make_user(f"{role}-person") for role in ("product_owner", "platform_owner", "governance_owner")}
    for role, person in people.items():
        grant(person, use_case, role)
    return {role: Actor.for_user(person) for role, person in people.items()}


def test_creating_a_use_case_makes_the_creator_its_product_owner(staff):
    use_case = use_case_create(actor=Actor.for_user(staff), **VALID)

    assert use_case.stage == Stage.PILOT and not use_case.halted
    assert Membership.objects.filter(use_case=use_case, user=staff, role="product_owner").exists()
    actions = list(AuditEvent.objects.filter(use_case=use_case).values_list("action", flat=True))
    assert actions == ["use_case.created", "membership.granted"]
    assert audit_verify_chain().ok


def test_a_person_with_the_add_permission_may_create_use_cases(make_user):
    person = make_user("perm-holder")
    person.user_permissions.add(Permission.objects.get(codename="add_usecase", content_type__app_label="governance"))

    use_case = use_case_create(actor=Actor.for_user(person), **VALID)

    assert use_case.slug == "invoice-assistant"


def test_a_person_without_the_add_permission_cannot_create_use_cases(make_user):
    with pytest.raises(PermissionRefused) as excinfo:
        use_case_create(actor=Actor.for_user(make_user("nobody")), **VALID)

    assert excinfo.value.code == "missing_permission"
    assert not UseCase.objects.exists()


def test_every_invalid_field_is_reported_and_nothing_is_stored(staff):
    bad = {**VALID, "slug": "Not A Slug", "approach": "magic", "risk_tier": "extreme",
           "regulatory_scopes": ["eu_ai_act", "gdpr"], "name": "  "}

    with pytest.raises(ValidationFailed) as excinfo:
        use_case_create(actor=Actor.for_user(staff), **bad)

    assert excinfo.value.code == "validation_error"
    assert set(excinfo.value.extra["fields"]) == {"slug", "approach", "risk_tier", "regulatory_scopes", "name"}
    assert not UseCase.objects.exists() and not AuditEvent.objects.exists()


def test_repeated_scopes_are_stored_once(staff):
    use_case = use_case_create(actor=Actor.for_user(staff), **{**VALID, "regulatory_scopes": ["part_11", "part_11"]})

    assert use_case.regulatory_scopes == ["part_11"]


def test_a_taken_slug_is_a_conflict(staff, use_case):
    with pytest.raises(Conflict) as excinfo:
        use_case_create(actor=Actor.for_user(staff), **{**VALID, "slug": use_case.slug})

    assert excinfo.value.code == "duplicate_slug"


def test_an_update_audits_the_changed_fields_before_and_after(use_case, owners):
    old_name = use_case.name

    use_case_update(actor=owners["product_owner"], use_case=use_case,
                    changes={"name": "Renamed", "risk_tier": use_case.risk_tier})

    event = AuditEvent.objects.get(action="use_case.updated")
    assert event.before == {"name": old_name}
    assert event.after == {"name": "Renamed"}
    assert UseCase.objects.get(pk=use_case.pk).name == "Renamed"


def test_an_update_that_changes_nothing_writes_no_event(use_case, owners):
    use_case_update(actor=owners["governance_owner"], use_case=use_case, changes={"name": use_case.name})

    assert not AuditEvent.objects.filter(action="use_case.updated").exists()


@pytest.mark.parametrize("field, value", [("stage", "production"), ("halted", True), ("slug", "renamed")])
def test_stage_halt_state_and_slug_are_not_editable(use_case, owners, field, value):
    with pytest.raises(ValidationFailed) as excinfo:
        use_case_update(actor=owners["product_owner"], use_case=use_case, changes={field: value})

    assert excinfo.value.code == "field_not_editable"
    assert getattr(UseCase.objects.get(pk=use_case.pk), field) == getattr(use_case, field)


def test_an_update_with_an_unknown_choice_is_refused(use_case, owners):
    with pytest.raises(ValidationFailed) as excinfo:
        use_case_update(actor=owners["product_owner"], use_case=use_case, changes={"approach": "vibes"})

    assert excinfo.value.extra["fields"].keys() == {"approach"}


def test_halting_records_the_reason_and_time(use_case, owners):
    halted = use_case_halt(actor=owners["platform_owner"], use_case=use_case, reason="Harmful answers reported")

    assert halted.halted and halted.halted_at is not None
    assert halted.halted_reason == "Harmful answers reported"
    event = AuditEvent.objects.get(action="use_case.halted")
    assert event.reason == "Harmful answers reported" and event.use_case_id == use_case.pk


def test_monitoring_may_halt_a_use_case_as_the_system(use_case, system_actor):
    use_case_halt(actor=system_actor, use_case=use_case, reason="stop alert raised by drift run 12")

    assert UseCase.objects.get(pk=use_case.pk).halted
    assert AuditEvent.objects.get(action="use_case.halted").actor_kind == "system"


def test_halting_twice_is_a_conflict(use_case, owners):
    use_case_halt(actor=owners["governance_owner"], use_case=use_case, reason="first")

    with pytest.raises(Conflict) as excinfo:
        use_case_halt(actor=owners["governance_owner"], use_case=use_case, reason="second")

    assert excinfo.value.code == "already_halted"
    assert AuditEvent.objects.filter(action="use_case.halted").count() == 1


@pytest.mark.parametrize("service", [use_case_halt, use_case_resume, use_case_retire])
def test_a_reason_is_required(use_case, owners, service):
    with pytest.raises(ValidationFailed) as excinfo:
        # Resuming also asks for the password; the reason is refused before it is tried.
        extra = {"password": PASSWORD} if service is use_case_resume else {}
        service(actor=owners["governance_owner"], use_case=use_case, reason="   ", **extra)

    assert excinfo.value.code == "reason_required"


def test_resuming_clears_the_halt_and_keeps_the_old_reason_in_the_audit_log(use_case, owners):
    use_case_halt(actor=owners["platform_owner"], use_case=use_case, reason="drift")

    resumed = use_case_resume(actor=owners["governance_owner"], use_case=use_case, reason="retrained, verified",
                              password=PASSWORD)

    assert not resumed.halted and resumed.halted_reason == "" and resumed.halted_at is None
    event = AuditEvent.objects.get(action="use_case.resumed")
    assert event.before["halted_reason"] == "drift" and event.reason == "retrained, verified"


def test_resuming_a_running_use_case_is_a_conflict(use_case, owners):
    with pytest.raises(Conflict) as excinfo:
        use_case_resume(actor=owners["governance_owner"], use_case=use_case, reason="why not", password=PASSWORD)

    assert excinfo.value.code == "not_halted"


def test_retiring_retires_the_active_model_version(use_case, owners):
    version = ModelVersionFactory(use_case=use_case, status="active")

    use_case_retire(actor=owners["governance_owner"], use_case=use_case, reason="replaced by a new system")

    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.RETIRED
    assert ModelVersion.objects.get(pk=version.pk).status == "retired"
    assert {"use_case.retired", "model_version.retired"} <= set(AuditEvent.objects.values_list("action", flat=True))


def test_a_retired_use_case_can_no_longer_be_edited(use_case, owners):
    use_case_retire(actor=owners["governance_owner"], use_case=use_case, reason="done")

    with pytest.raises(Conflict) as excinfo:
        use_case_update(actor=owners["product_owner"], use_case=use_case, changes={"name": "Again"})
    assert excinfo.value.code == "use_case_retired"
    with pytest.raises(Conflict) as excinfo:
        use_case_retire(actor=owners["governance_owner"], use_case=use_case, reason="twice")
    assert excinfo.value.code == "already_retired"


@pytest.mark.django_db(transaction=True)
def test_concurrent_halts_store_exactly_one(postgres_only, use_case, owners):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def halt(reason: str) -> None:
        barrier.wait()
        try:
            use_case_halt(actor=owners["platform_owner"], use_case=use_case, reason=reason)
            outcomes.append("halted")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=halt, args=(f"reason {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_halted", "halted"]
    assert AuditEvent.objects.filter(action="use_case.halted").count() == 1

"""Who may do what in the inventory: every role against every service, allowed or refused with `missing_role`."""
import pytest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import PermissionRefused
from governance.models import AuditEvent, EffectGoal, ModelVersion, OrganisationRole, Role, UseCase
from governance.permissions import use_cases_visible_to
from governance.services.inventory import (
    effect_goal_create,
    effect_goal_delete,
    effect_goal_update,
    effect_measurement_record,
    membership_grant,
    membership_revoke,
    model_version_activate,
    model_version_register,
    model_version_roll_back,
    use_case_halt,
    use_case_resume,
    use_case_retire,
    use_case_update,
)
from tests.factories import PASSWORD, MembershipFactory, UserFactory

PO, PLAT, GOV = Role.PRODUCT_OWNER.value, Role.PLATFORM_OWNER.value, Role.GOVERNANCE_OWNER.value
EVALUATION = {"task_metrics": {"accuracy": 0.9}, "general_capability_regression": 0.0}

@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the many users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



def _version(use_case, status="candidate"):
    activated_at = timezone.now() if status == "active" else None
    return ModelVersion.objects.create(use_case=use_case, label=f"v-{status}", base_model="m", evaluation=EVALUATION,
                                       status=status, activated_at=activated_at)


def _goal(use_case):
    return EffectGoal.objects.create(use_case=use_case, metric="resolution rate", target=0.7)


def _halted(use_case):
    UseCase.objects.filter(pk=use_case.pk).update(halted=True, halted_reason="drift", halted_at=timezone.now())
    return use_case


# service name -> (roles allowed, action taking (actor, use_case))
CASES = {
    "use_case_update": ({PO, GOV}, lambda a, uc: use_case_update(actor=a, use_case=uc, changes={"name": "New"})),
    "use_case_halt": ({PLAT, GOV}, lambda a, uc: use_case_halt(actor=a, use_case=uc, reason="harm")),
    "use_case_resume": ({GOV, PLAT}, lambda a, uc: use_case_resume(actor=a, use_case=_halted(uc), reason="fixed",
                                                                                  password=PASSWORD)),
    "use_case_retire": ({GOV}, lambda a, uc: use_case_retire(actor=a, use_case=uc, reason="replaced")),
    "membership_grant (viewer)": (
        {GOV, PO}, lambda a, uc: membership_grant(actor=a, use_case=uc, user=UserFactory(), role="viewer")),
    "membership_grant (governance owner)": (
        {GOV}, lambda a, uc: membership_grant(actor=a, use_case=uc, user=UserFactory(), role="governance_owner")),
    "membership_revoke (viewer)": (
        {GOV, PO}, lambda a, uc: membership_revoke(actor=a, membership=MembershipFactory(use_case=uc, role="viewer"),
                                                   reason="left")),
    "membership_revoke (governance owner)": (
        {GOV}, lambda a, uc: membership_revoke(
            actor=a, membership=MembershipFactory(use_case=uc, role="governance_owner"), reason="handover")),
    "model_version_register": ({PLAT}, lambda a, uc: model_version_register(
        actor=a, use_case=uc, label="v9", base_model="m", adapter_method="lora", training_data_ref="",
        training_data_sha256="", evaluation=EVALUATION)),
    "model_version_activate": ({PLAT}, lambda a, uc: model_version_activate(actor=a, model_version=_version(uc))),
    "model_version_roll_back": ({PLAT}, lambda a, uc: model_version_roll_back(
        actor=a, model_version=_version(uc, "active"), reason="worse")),
    "effect_goal_create": ({PO}, lambda a, uc: effect_goal_create(actor=a, use_case=uc, metric="csat", target=4.2)),
    "effect_goal_update": ({PO}, lambda a, uc: effect_goal_update(actor=a, goal=_goal(uc), changes={"target": 0.8})),
    "effect_goal_delete": ({PO}, lambda a, uc: effect_goal_delete(actor=a, goal=_goal(uc), reason="dropped")),
    "effect_measurement_record": (
        {PO, PLAT}, lambda a, uc: effect_measurement_record(actor=a, goal=_goal(uc), value=0.71)),
}
HOLDERS = [role.value for role in Role] + ["no role"]


@pytest.fixture
def governed_use_case(use_case, make_user, grant):
    """A use case that already has a governance owner, as real ones do."""
    grant(make_user("standing-gov"), use_case, GOV)
    return use_case


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize("service", list(CASES))
def test_each_role_is_allowed_or_refused(governed_use_case, make_user, grant, service, holder):
    allowed, act = CASES[service]
    person = make_user(f"actor-{holder.replace(' ', '-')}")
    if holder != "no role":
        grant(person, governed_use_case, holder)
    events_before = AuditEvent.objects.count()

    if holder in allowed:
        act(Actor.for_user(person), governed_use_case)
        assert AuditEvent.objects.filter(use_case=governed_use_case).count() > events_before
    else:
        with pytest.raises(PermissionRefused) as excinfo:
            act(Actor.for_user(person), governed_use_case)
        assert excinfo.value.code == "missing_role"
        assert excinfo.value.status_code == 403
        assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("service", list(CASES))
def test_a_superuser_may_do_everything(governed_use_case, make_user, service):
    _, act = CASES[service]

    act(Actor.for_user(make_user("root", is_superuser=True, is_staff=True)), governed_use_case)


@pytest.mark.parametrize("service", ["use_case_update", "use_case_halt", "model_version_register"])
def test_staff_without_a_role_may_neither_read_nor_act(governed_use_case, make_user, service):
    _, act = CASES[service]
    staff = Actor.for_user(make_user("staff-sue", is_staff=True))

    with pytest.raises(PermissionRefused) as excinfo:
        act(staff, governed_use_case)

    assert excinfo.value.code == "missing_role"
    assert not use_cases_visible_to(staff).exists()


@pytest.mark.parametrize("service", ["use_case_update", "use_case_halt", "model_version_register"])
def test_an_organisation_wide_reader_may_read_but_not_act(governed_use_case, make_user, service):
    _, act = CASES[service]
    person = make_user("olga")
    OrganisationRole.objects.create(user=person, reason="compliance officer")
    reader = Actor.for_user(person)

    with pytest.raises(PermissionRefused) as excinfo:
        act(reader, governed_use_case)

    assert excinfo.value.code == "missing_role"
    assert list(use_cases_visible_to(reader)) == [governed_use_case]


@pytest.mark.parametrize("service", [name for name in CASES if name != "use_case_halt"])
def test_the_system_only_halts(governed_use_case, system_actor, service):
    _, act = CASES[service]

    with pytest.raises(PermissionRefused):
        act(system_actor, governed_use_case)

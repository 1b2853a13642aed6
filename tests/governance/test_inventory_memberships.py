"""Membership services: granting and revoking roles, with separation of duties and a governance owner kept."""
import threading

import pytest
from django.db import connection

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.models import AuditEvent, Membership
from governance.services.inventory import membership_grant, membership_grant_by_username, membership_revoke
from tests.factories import MembershipFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the many users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



@pytest.fixture
def governance_owner(make_user, use_case, grant):
    person = make_user("gov-gail")
    return grant(person, use_case, "governance_owner")


@pytest.fixture
def product_owner(make_user, use_case, grant):
    return grant(make_user("po-paul"), use_case, "product_owner")


def test_granting_a_role_is_audited(use_case, governance_owner, make_user):
    newcomer = make_user("newcomer")

    membership = membership_grant(actor=Actor.for_user(governance_owner.user), use_case=use_case, user=newcomer,
                                  role="reviewer")

    event = AuditEvent.objects.get(action="membership.granted")
    assert event.after == {"user": "newcomer", "role": "reviewer"}
    assert event.object_id == str(membership.pk) and event.use_case_id == use_case.pk


def test_a_product_owner_cannot_appoint_a_governance_owner(use_case, product_owner):
    with pytest.raises(PermissionRefused) as excinfo:
        membership_grant(actor=Actor.for_user(product_owner.user), use_case=use_case, user=product_owner.user,
                         role="governance_owner")

    assert excinfo.value.code == "missing_role"
    assert not Membership.objects.filter(role="governance_owner").exists()


def test_a_superuser_may_appoint_the_first_governance_owner(use_case, make_user):
    admin = make_user("root", is_superuser=True, is_staff=True)
    appointee = make_user("gov-first")

    membership_grant(actor=Actor.for_user(admin), use_case=use_case, user=appointee, role="governance_owner")

    assert Membership.objects.filter(use_case=use_case, user=appointee, role="governance_owner").exists()


def test_granting_the_same_role_twice_is_a_conflict(use_case, governance_owner, product_owner):
    with pytest.raises(Conflict) as excinfo:
        membership_grant(actor=Actor.for_user(governance_owner.user), use_case=use_case, user=product_owner.user,
                         role="product_owner")

    assert excinfo.value.code == "duplicate_membership"
    assert AuditEvent.objects.filter(action="membership.granted").count() == 0


def test_an_unknown_role_is_a_field_error(use_case, governance_owner, make_user):
    with pytest.raises(ValidationFailed) as excinfo:
        membership_grant(actor=Actor.for_user(governance_owner.user), use_case=use_case, user=make_user("x"),
                         role="overlord")

    assert excinfo.value.extra["fields"].keys() == {"role"}


def test_roles_go_to_active_people_only(use_case, governance_owner, make_user):
    make_user("gone", is_active=False)

    with pytest.raises(ValidationFailed) as excinfo:
        membership_grant_by_username(actor=Actor.for_user(governance_owner.user), use_case=use_case,
                                     username="gone", role="viewer")

    assert excinfo.value.code == "unknown_user"


def test_revoking_a_role_keeps_it_in_the_audit_log(use_case, product_owner, make_user):
    viewer = MembershipFactory(use_case=use_case, user=make_user("vera"), role="viewer")

    membership_revoke(actor=Actor.for_user(product_owner.user), membership=viewer, reason="left the team")

    assert not Membership.objects.filter(pk=viewer.pk).exists()
    event = AuditEvent.objects.get(action="membership.revoked")
    assert event.before == {"user": "vera", "role": "viewer"} and event.reason == "left the team"


def test_the_last_governance_owner_cannot_be_revoked(use_case, governance_owner):
    with pytest.raises(Conflict) as excinfo:
        membership_revoke(actor=Actor.for_user(governance_owner.user), membership=governance_owner, reason="bye")

    assert excinfo.value.code == "last_governance_owner"
    assert Membership.objects.filter(pk=governance_owner.pk).exists()


def test_a_governance_owner_may_hand_over_to_another(use_case, governance_owner, make_user, grant):
    successor = grant(make_user("gov-sam"), use_case, "governance_owner")

    membership_revoke(actor=Actor.for_user(successor.user), membership=governance_owner, reason="handover")

    assert list(Membership.objects.filter(role="governance_owner")) == [successor]


@pytest.mark.django_db(transaction=True)
def test_two_governance_owners_revoking_each_other_at_once_leave_one(postgres_only, use_case, make_user, grant):
    first = grant(make_user("gov-one"), use_case, "governance_owner")
    second = grant(make_user("gov-two"), use_case, "governance_owner")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def revoke(actor_membership: Membership, target: Membership) -> None:
        barrier.wait()
        try:
            membership_revoke(actor=Actor.for_user(actor_membership.user), membership=target, reason="race")
            outcomes.append("revoked")
        except (Conflict, PermissionRefused) as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke, args=(first, second)),
               threading.Thread(target=revoke, args=(second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Membership.objects.filter(use_case=use_case, role="governance_owner").count() == 1
    assert outcomes.count("revoked") == 1

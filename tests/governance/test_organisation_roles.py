"""The organisation-wide read-only role: granted and revoked in the admin through audited services."""
import pytest
from django.test import Client
from django.urls import reverse

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.models import AuditEvent, OrganisationRole
from governance.permissions import reads_whole_organisation, use_cases_visible_to
from governance.services.inventory import use_case_update
from governance.services.organisation import organisation_role_grant, organisation_role_revoke
from tests.factories import UseCaseFactory


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_granting_in_the_admin_goes_through_the_service_and_is_audited(admin_client, make_user):
    officer = make_user("olga")

    response = admin_client.post(reverse("admin:governance_organisationrole_add"),
                                 {"user": officer.pk, "role": "reader", "reason": "compliance officer"})

    assert response.status_code == 302
    grant = OrganisationRole.objects.get(user=officer)
    assert grant.granted_by.username == "root"
    event = AuditEvent.objects.get(action="organisation_role.granted")
    assert (event.object_id, event.after["user"], event.reason) == (str(grant.pk), "olga", "compliance officer")


def test_revoking_in_the_admin_keeps_the_row_and_is_audited(admin_client, superuser, make_user):
    officer = make_user("olga")
    grant = organisation_role_grant(actor=Actor.for_user(superuser), user=officer, reason="audit season")

    response = admin_client.post(reverse("admin:governance_organisationrole_change", args=[grant.pk]),
                                 {"revoke_reason": "left the compliance team"})

    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == superuser
    event = AuditEvent.objects.get(action="organisation_role.revoked")
    assert event.before["revoked_at"] is None and event.after["revoked_at"] is not None
    assert event.reason == "left the compliance team"
    assert not reads_whole_organisation(Actor.for_user(type(officer).objects.get(pk=officer.pk)))


def test_a_second_active_grant_is_refused_in_the_admin_form(admin_client, superuser, make_user):
    officer = make_user("olga")
    organisation_role_grant(actor=Actor.for_user(superuser), user=officer, reason="first")
    events = AuditEvent.objects.count()

    response = admin_client.post(reverse("admin:governance_organisationrole_add"),
                                 {"user": officer.pk, "role": "reader", "reason": "again"})

    assert response.status_code == 200
    assert "already holds this organisation-wide role" in response.content.decode()
    assert OrganisationRole.objects.filter(user=officer).count() == 1
    assert AuditEvent.objects.count() == events


def test_a_grant_without_reason_is_refused_by_the_service(superuser, make_user):
    with pytest.raises(ValidationFailed) as excinfo:
        organisation_role_grant(actor=Actor.for_user(superuser), user=make_user("olga"), reason="  ")
    assert excinfo.value.code == "reason_required"
    assert not OrganisationRole.objects.exists()


def test_staff_without_the_permission_cannot_grant(make_user):
    staff = make_user("sam", is_staff=True)
    with pytest.raises(PermissionRefused) as excinfo:
        organisation_role_grant(actor=Actor.for_user(staff), user=make_user("olga"), reason="because")
    assert excinfo.value.code == "missing_permission"


def test_revoking_twice_is_a_conflict(superuser, make_user):
    grant = organisation_role_grant(actor=Actor.for_user(superuser), user=make_user("olga"), reason="r")
    organisation_role_revoke(actor=Actor.for_user(superuser), grant=grant, reason="done")
    with pytest.raises(Conflict) as excinfo:
        organisation_role_revoke(actor=Actor.for_user(superuser), grant=grant, reason="again")
    assert excinfo.value.code == "already_revoked"


def test_a_reader_reads_every_use_case_but_changes_none(superuser, make_user):
    officer = make_user("olga")
    first, second = UseCaseFactory(), UseCaseFactory()
    organisation_role_grant(actor=Actor.for_user(superuser), user=officer, reason="compliance")
    actor = Actor.for_user(officer)

    assert set(use_cases_visible_to(actor)) == {first, second}
    with pytest.raises(PermissionRefused) as excinfo:
        use_case_update(actor=actor, use_case=first, changes={"name": "renamed"})
    assert excinfo.value.code == "missing_role"

"""Audit-log pages: a person reads the events of their use cases only; a malformed date filters nothing."""
import pytest
from django.db import transaction
from django.test import Client

from driftgate.actors import Actor
from governance.audit import audit_record
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_use_cases(use_case, make_user, grant):
    other = UseCaseFactory()
    with transaction.atomic():
        mine = audit_record(actor=Actor.system("tests"), action="use_case.updated", obj=use_case, use_case=use_case,
                            before={"stage": "pilot"}, after={"stage": "production"})
        theirs = audit_record(actor=Actor.system("tests"), action="use_case.updated", obj=other, use_case=other,
                              before={"stage": "pilot"}, after={"stage": "retired"})
    ana = make_user("ana")
    grant(ana, use_case, "viewer")
    client = Client()
    client.force_login(ana)
    return client, mine, theirs


def test_a_person_sees_their_use_cases_events_and_not_anothers(two_use_cases):
    client, mine, theirs = two_use_cases

    listing = client.get("/audit/").content.decode()

    assert f'/audit/events/{mine.sequence}/' in listing and f'/audit/events/{theirs.sequence}/' not in listing
    assert client.get(f"/audit/events/{theirs.sequence}/").status_code == 404
    page = client.get(f"/audit/events/{mine.sequence}/").content.decode()
    assert "<del>&quot;pilot&quot;</del>" in page and "<ins>&quot;production&quot;</ins>" in page
    assert mine.hash in page and mine.prev_hash in page


def test_a_malformed_date_is_refused_beside_its_field_and_lists_nothing(two_use_cases):
    client, mine, _ = two_use_cases

    response = client.get("/audit/", {"since": "2026-02-30"})

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_since-errors"' in body and f'/audit/events/{mine.sequence}/' not in body

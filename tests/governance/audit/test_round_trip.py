"""Any JSON value a service may write verifies after a round trip through PostgreSQL jsonb and through SQLite.

Property-based (Hypothesis): floats of any magnitude, integers past 64 bits, text in any Unicode normal form
(NUL included), dates, decimals, nested structures. The 1e16 case of the issue goes through the real API.
"""
import unicodedata
from datetime import UTC, date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.utils import ConnectionHandler
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.audit import _Draft, audit_record, audit_verify_chain, build_event, normalise_json
from governance.auditlog.format import GENESIS_HASH, isoformat_utc
from governance.auditlog.keys import hmac_keyring
from governance.auditlog.verification import _rows, event_findings, walk_chain
from governance.models import AuditEvent, EffectGoal
from governance.services.inventory import effect_goal_create

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_normal_forms = _text.flatmap(lambda s: st.sampled_from(
    [s] + [unicodedata.normalize(form, s) for form in ("NFC", "NFD", "NFKC", "NFKD")]))
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e16, 1e308, 5e-324, -0.0, 2.0 ** 53 + 2, 1.7976931348623157e308, 0.1]),
    _normal_forms,
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(timezones=st.just(UTC)),
    st.decimals(allow_nan=False, allow_infinity=False, places=6),
)
JSON_VALUES = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_normal_forms, children, max_size=4),
    max_leaves=12,
)
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(before=JSON_VALUES, after=JSON_VALUES, reason=_normal_forms)
def test_any_json_value_verifies_after_a_round_trip_through_postgresql(postgres_only, before, after, reason):
    with transaction.atomic():
        event = audit_record(actor=Actor.system("props"), action="test.roundtrip", before=before, after=after,
                             reason=reason)
    row = _row(AuditEvent.objects, event.pk)
    assert event_findings(row, hmac_keyring()) == []


@PROPERTY_SETTINGS
@given(before=JSON_VALUES, after=JSON_VALUES, reason=_normal_forms, action=_normal_forms, object_id=_normal_forms,
       sequence=st.integers(min_value=1, max_value=2 ** 62), created_at=st.datetimes(timezones=st.just(UTC)))
def test_the_draft_spliced_at_the_head_has_the_bytes_of_the_whole_payload(before, after, reason, action, object_id,
                                                                          sequence, created_at):
    """audit_record serialises an event before the lock and splices in time and sequence: the bytes must not change."""
    keyring = hmac_keyring()
    actor = Actor.system("props")
    values = normalise_json({"before": before, "after": after})
    draft = _Draft(actor=actor, action=action, object_type="test", object_id=object_id, use_case=None,
                   before=values["before"], after=values["after"], reason=reason, key_id=keyring.current_id)
    whole = build_event(sequence=sequence, prev_hash=GENESIS_HASH, created_at=created_at, actor=actor, action=action,
                        object_type="test", object_id=object_id, use_case=None, before=values["before"],
                        after=values["after"], reason=reason, keyring=keyring)

    assert draft.canonical(sequence=sequence, created_at=isoformat_utc(created_at)) == whole.canonical


@pytest.fixture(scope="module")
def sqlite_alias(django_db_blocker):
    """A second database, SQLite in memory, migrated like the embedded default (the suite runs on PostgreSQL)."""
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    handler = ConnectionHandler({"default": dict(sqlite), "audit_sqlite": sqlite})
    alias_settings = handler.settings["audit_sqlite"]
    connections.settings["audit_sqlite"] = alias_settings
    with django_db_blocker.unblock():
        call_command("migrate", database="audit_sqlite", verbosity=0)
        yield "audit_sqlite"
        connections["audit_sqlite"].close()
    del connections["audit_sqlite"]
    del connections.settings["audit_sqlite"]


@PROPERTY_SETTINGS
@given(before=JSON_VALUES, after=JSON_VALUES, reason=_normal_forms)
def test_any_json_value_verifies_after_a_round_trip_through_sqlite(sqlite_alias, before, after, reason):
    keyring = hmac_keyring()
    head = AuditEvent.objects.using(sqlite_alias).order_by("-sequence").first()
    values = normalise_json({"before": before, "after": after})
    event = build_event(sequence=head.sequence + 1 if head else 1, prev_hash=head.hash if head else GENESIS_HASH,
                        created_at=timezone.now(), actor=Actor.system("props"), action="test.roundtrip",
                        object_type="", object_id="", use_case=None, before=values["before"],
                        after=values["after"], reason=reason, keyring=keyring)
    event.save(using=sqlite_alias, force_insert=True)
    row = _row(AuditEvent.objects.using(sqlite_alias), event.pk)
    assert event_findings(row, keyring) == []


def test_the_whole_sqlite_chain_verifies(sqlite_alias):
    """Walks the events the property test left, plus a few of the issue's values, as `audit_verify` would."""
    keyring = hmac_keyring()
    head = AuditEvent.objects.using(sqlite_alias).order_by("-sequence").first()
    prev, start = (head.hash, head.sequence + 1) if head else (GENESIS_HASH, 1)
    for sequence, value in enumerate([1e16, 2 ** 70, "e\u0301", {"x": [Decimal("1.10"), 1e-7]}], start=start):
        event = build_event(sequence=sequence, prev_hash=prev, created_at=timezone.now(),
                            actor=Actor.system("props"), action="test.roundtrip", object_type="", object_id="",
                            use_case=None, before=None, after=normalise_json({"v": value}), reason="",
                            keyring=keyring)
        event.save(using=sqlite_alias, force_insert=True)
        prev = event.hash
    result = walk_chain(checkpoints=[], using=sqlite_alias)
    assert result.ok and result.count == start + 3, result.breaks


def _row(queryset, pk):
    """Read the event back exactly as the verification walk reads it."""
    return next(row for row in _rows(100, queryset.db) if row["id"] == pk)


@pytest.mark.django_db
def test_a_measurement_of_1e16_through_the_api_verifies_clean(postgres_only, make_user, use_case, grant):
    owner = grant(make_user("po-1e16"), use_case, "product_owner").user
    platform = grant(make_user("plat-1e16"), use_case, "platform_owner").user
    goal = effect_goal_create(actor=Actor.for_user(owner), use_case=use_case, metric="tickets", target=1.0,
                              direction="at_least", unit="count")
    client = APIClient()
    client.force_login(platform)

    response = client.post(f"/api/v1/use-cases/{use_case.slug}/effect-goals/{goal.pk}/measurements",
                           {"value": 1e16}, format="json")

    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="effect_measurement.recorded")
    event.refresh_from_db()
    assert event.after["value"] == 10 ** 16  # jsonb reads the float back as an integer...
    assert audit_verify_chain().ok  # ...and the chain still verifies, from the bytes it hashed
    assert EffectGoal.objects.filter(pk=goal.pk).exists() and connection.vendor == "postgresql"


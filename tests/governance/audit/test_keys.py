"""Audit keys live outside the database, rotate by id, and production without them refuses to write."""
import base64
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from governance.audit import audit_record, audit_verify_chain
from governance.auditlog import verification as v
from governance.auditlog.keys import parse_hmac_keys
from governance.models import AuditEvent
from tests.governance.audit.helpers import find, owner_with_triggers_off, write

pytestmark = pytest.mark.django_db


def _key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def test_a_rotated_key_keys_new_events_and_the_old_one_still_verifies_old_ones(settings, system_actor):
    old, new = _key("2025-a"), _key("2026-a")
    settings.DRIFTGATE_AUDIT_HMAC_KEYS = old
    write(system_actor, 2)
    settings.DRIFTGATE_AUDIT_HMAC_KEYS = f"{new},{old}"
    write(system_actor, 2)

    assert list(AuditEvent.objects.order_by("sequence").values_list("key_id", flat=True)) == [
        "2025-a", "2025-a", "2026-a", "2026-a"]
    assert audit_verify_chain().ok

    settings.DRIFTGATE_AUDIT_HMAC_KEYS = new
    (found,) = find(audit_verify_chain(), v.UNKNOWN_KEY)
    assert (found.first_sequence, found.last_sequence) == (1, 2)


def test_a_key_with_the_right_id_but_other_bytes_fails_every_mac(settings, system_actor):
    settings.DRIFTGATE_AUDIT_HMAC_KEYS = _key("k1")
    write(system_actor, 3)
    settings.DRIFTGATE_AUDIT_HMAC_KEYS = _key("k1")
    (found,) = find(audit_verify_chain(), v.MAC_INVALID)
    assert found.count == 3


def test_without_keys_and_without_development_keys_nothing_is_written(settings, system_actor):
    settings.DRIFTGATE_AUDIT_DEV_KEYS = False
    settings.DRIFTGATE_AUDIT_HMAC_KEYS = ""
    settings.DRIFTGATE_AUDIT_HMAC_KEYS_FILE = ""
    with pytest.raises(ImproperlyConfigured, match="DRIFTGATE_AUDIT_HMAC_KEYS"), transaction.atomic():
        audit_record(actor=system_actor, action="test.event")
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("text, message", [
    ("k1", "id:base64"), ("k1:c2hvcnQ=", "at least 32"), (f"{_key('a')},{_key('a')}", "twice"), ("", "no key"),
    ("bad id!:AAAA", "id:base64"),
])
def test_malformed_key_lists_are_refused(text, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_hmac_keys(text, source="test")


def test_unkeyed_events_are_accepted_only_up_to_the_declared_legacy_count(postgres_only, settings, system_actor):
    write(system_actor, 4)
    with owner_with_triggers_off() as cursor:
        # What an upgraded installation holds: events of the first format, without bytes or MAC.
        cursor.execute("UPDATE governance_auditevent SET canonical = '', mac = '', key_id = '' WHERE sequence <= 2")
    result = audit_verify_chain()
    assert {(f.first_sequence, f.last_sequence) for f in find(result, v.UNKEYED_EVENT)} == {(1, 2)}

    settings.DRIFTGATE_AUDIT_LEGACY_EVENTS = 2
    result = audit_verify_chain()
    # Their first-format hash is recomputed from the columns, which these two do not match: named, not hidden.
    assert not find(result, v.UNKEYED_EVENT) and result.legacy_events == 2
    assert [(f.first_sequence, f.last_sequence) for f in find(result, v.HASH_MISMATCH)] == [(1, 2)]

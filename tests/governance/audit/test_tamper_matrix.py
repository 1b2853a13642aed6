"""Every way of rewriting the audit log that the issue lists is detected, naming the event or the missing range.

PostgreSQL with the README's two roles: the application (DML only, no UPDATE/DELETE/TRUNCATE on the audit tables)
and the tables' owner (the migration role). The owner can switch the triggers off; only the keys and the external
checkpoint sink, which the database never holds, reveal what it did.
"""
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from driftgate.canonical import canonical_json
from governance.audit import audit_verify_chain
from governance.auditlog import verification as v
from governance.auditlog.checkpoints import audit_checkpoint_create
from governance.auditlog.format import isoformat_utc
from governance.auditlog.sinks import checkpoint_name
from governance.auditlog.statements import sign_checkpoint
from governance.models import AuditEvent
from tests.governance.audit.helpers import find, kinds, owner_with_triggers_off, write

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres_only")]


@pytest.fixture
def chain(system_actor):
    """Ten keyed events and a signed checkpoint over them in the external directory sink."""
    events = write(system_actor, 10, after={"n": 1})
    audit_checkpoint_create()
    return events


def _broken_with(kind, result):
    assert not result.ok
    found = find(result, kind)
    assert found, result.breaks
    return found


@pytest.mark.parametrize("statement", [
    "UPDATE governance_auditevent SET reason = 'x' WHERE sequence = 3",
    "DELETE FROM governance_auditevent WHERE sequence = 10",
    "TRUNCATE governance_auditevent CASCADE",
    "UPDATE governance_auditcheckpoint SET root_hash = repeat('0', 64)",
    "DELETE FROM governance_auditcheckpoint",
    "ALTER TABLE governance_auditevent DISABLE TRIGGER USER",
])
def test_the_application_role_may_not_change_or_remove_events(chain, statement):
    with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert audit_verify_chain().ok


def test_the_owner_editing_a_field_with_triggers_off_is_named(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditevent SET reason = 'quietly edited' WHERE sequence = 3")

    result = audit_verify_chain()
    (found,) = _broken_with(v.COLUMNS_MISMATCH, result)
    assert (found.first_sequence, found.last_sequence) == (3, 3) and "reason" in found.detail
    assert kinds(result) == {v.COLUMNS_MISMATCH}
    with pytest.raises(CommandError, match="#3") as excinfo:
        call_command("audit_verify")
    assert excinfo.value.returncode == 1


def test_the_owner_editing_the_bytes_too_breaks_the_hash(chain):
    event = AuditEvent.objects.get(sequence=4)
    forged = event.canonical.replace('"reason":""', '"reason":"approved by nobody"')
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditevent SET canonical = %s, reason = 'approved by nobody' "
                       "WHERE sequence = 4", [forged])

    (found,) = _broken_with(v.HASH_MISMATCH, audit_verify_chain())
    assert found.first_sequence == 4


def _rehash_from(k, *, keyed_format):
    """Rewrite event k's reason and re-hash k..end as the owner would, without the HMAC key."""
    prev = AuditEvent.objects.get(sequence=k - 1).hash if k > 1 else "0" * 64
    with owner_with_triggers_off() as cursor:
        for event in AuditEvent.objects.filter(sequence__gte=k).order_by("sequence"):
            reason = "rewritten" if event.sequence == k else event.reason
            if keyed_format:
                payload = json.loads(event.canonical)
                payload["reason"] = reason
                canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
                digest = hashlib.sha256((canonical + prev).encode()).hexdigest()
            else:
                canonical = ""
                fields = {"sequence": event.sequence, "created_at": isoformat_utc(event.created_at),
                          "actor_kind": event.actor_kind, "actor_user": event.actor_user_id,
                          "actor_token": event.actor_token_id, "actor_display": event.actor_display,
                          "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
                          "use_case": event.use_case_id, "before": event.before, "after": event.after,
                          "reason": reason, "request_id": event.request_id}
                digest = hashlib.sha256((canonical_json(fields) + prev).encode()).hexdigest()
            cursor.execute("UPDATE governance_auditevent SET reason = %s, canonical = %s, hash = %s, prev_hash = %s "
                           "WHERE sequence = %s", [reason, canonical, "x" + digest[1:], prev, event.sequence])
            cursor.execute("UPDATE governance_auditevent SET hash = %s WHERE sequence = %s", [digest, event.sequence])
            prev = digest


def test_the_owner_rehashing_from_event_k_with_the_unkeyed_formula_is_named_from_k(chain):
    _rehash_from(6, keyed_format=False)

    result = audit_verify_chain()
    (found,) = _broken_with(v.UNKEYED_EVENT, result)
    assert (found.first_sequence, found.last_sequence, found.count) == (6, 10, 5)
    assert find(result, v.CHECKPOINT_ROOT_MISMATCH)
    assert not find(result, v.LINK_BROKEN) and not find(result, v.HASH_MISMATCH)


def test_the_owner_rehashing_the_whole_chain_in_the_keyed_format_fails_every_mac(chain):
    _rehash_from(1, keyed_format=True)

    result = audit_verify_chain()
    (found,) = _broken_with(v.MAC_INVALID, result)
    assert (found.first_sequence, found.last_sequence) == (1, 10)
    assert find(result, v.CHECKPOINT_ROOT_MISMATCH)


def test_deleting_the_last_events_is_named_by_the_external_checkpoint(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("DELETE FROM governance_auditevent WHERE sequence > 7")
        cursor.execute("DELETE FROM governance_auditcheckpoint")

    result = audit_verify_chain()
    (found,) = _broken_with(v.TRUNCATED, result)
    assert (found.first_sequence, found.last_sequence, found.count) == (8, 10, 3)
    assert result.external_checkpoint["tree_size"] == 10


def test_the_owner_truncating_both_tables_is_named_by_the_external_checkpoint(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("TRUNCATE governance_auditevent, governance_auditcheckpoint")

    (found,) = _broken_with(v.TRUNCATED, audit_verify_chain())
    assert (found.first_sequence, found.last_sequence) == (1, 10)


def test_a_forged_insert_with_a_correct_plain_hash_fails_its_mac(chain):
    head = AuditEvent.objects.order_by("-sequence").first()
    payload = json.loads(head.canonical)
    payload.update(sequence=11, action="signature.signed", reason="signed as governance owner",
                   created_at=isoformat_utc(timezone.now()))
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((canonical + head.hash).encode()).hexdigest()
    with connection.cursor() as cursor:  # the application role: INSERT is all it needs
        cursor.execute(
            "INSERT INTO governance_auditevent (sequence, created_at, actor_kind, actor_display, action, object_type, "
            "object_id, before, after, reason, request_id, prev_hash, hash, canonical, mac, key_id) VALUES "
            "(11, %s, 'system', %s, 'signature.signed', 'test', '9', NULL, '{\"n\": 1}', %s, '', %s, %s, %s, %s, %s)",
            [timezone.now(), head.actor_display, "signed as governance owner", head.hash, digest, canonical,
             hashlib.sha256(digest.encode()).hexdigest(), head.key_id])

    result = audit_verify_chain()
    (found,) = _broken_with(v.MAC_INVALID, result)
    assert found.first_sequence == 11
    assert find(result, v.COLUMNS_MISMATCH)  # the columns' created_at differs from the bytes' too


def test_a_fork_is_named(chain):
    third = AuditEvent.objects.get(sequence=3)
    with owner_with_triggers_off() as cursor:
        cursor.execute("ALTER TABLE governance_auditevent DROP CONSTRAINT auditevent_prev_hash_unique")
        cursor.execute("ALTER TABLE governance_auditevent DROP CONSTRAINT governance_auditevent_sequence_key")
        cursor.execute(
            "INSERT INTO governance_auditevent (sequence, created_at, actor_kind, actor_display, action, object_type, "
            "object_id, before, after, reason, request_id, prev_hash, hash, canonical, mac, key_id) "
            "SELECT sequence, created_at, actor_kind, actor_display, action, object_type, object_id, before, after, "
            "'the other branch', request_id, prev_hash, repeat('f', 64), canonical, mac, key_id "
            "FROM governance_auditevent WHERE id = %s", [third.pk])

    result = audit_verify_chain()
    forks = _broken_with(v.FORK, result)
    assert {found.first_sequence for found in forks} == {3}
    # The branch is named; the events after it still link to the first #3 and match the signed checkpoint.
    assert kinds(result) <= {v.FORK, v.COLUMNS_MISMATCH, v.HASH_MISMATCH, v.MAC_INVALID}
    assert not find(result, v.CHECKPOINT_ROOT_MISMATCH) and not find(result, v.REORDERED)


def test_two_swapped_events_are_named(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditevent SET sequence = -1 WHERE sequence = 4")
        cursor.execute("UPDATE governance_auditevent SET sequence = 4 WHERE sequence = 5")
        cursor.execute("UPDATE governance_auditevent SET sequence = 5 WHERE sequence = -1")

    result = audit_verify_chain()
    reordered = _broken_with(v.REORDERED, result)
    named = {s for found in reordered for s in range(found.first_sequence, found.last_sequence + 1)}
    assert {4, 5} <= named
    assert find(result, v.CHECKPOINT_ROOT_MISMATCH)


def test_an_edited_created_at_is_named(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditevent SET created_at = created_at - interval '3 days' "
                       "WHERE sequence = 7")

    (found,) = _broken_with(v.COLUMNS_MISMATCH, audit_verify_chain())
    assert found.first_sequence == 7 and "created_at" in found.detail


def test_a_replaced_external_checkpoint_is_named(chain, audit_checkpoint_sink):
    impostor = Ed25519PrivateKey.generate()
    forged = sign_checkpoint(tree_size=10, root="ab" * 32, timestamp=timezone.now(), private_key=impostor)
    path = audit_checkpoint_sink / checkpoint_name(forged)
    path.chmod(0o644)
    path.write_bytes(forged.document_bytes())

    result = audit_verify_chain()
    (found,) = _broken_with(v.CHECKPOINT_SIGNATURE_INVALID, result)
    assert "not a trusted checkpoint key" in found.detail


def test_a_checkpoint_edited_in_the_sink_no_longer_verifies(chain, audit_checkpoint_sink):
    path = next(audit_checkpoint_sink.iterdir())
    document = json.loads(path.read_bytes())
    document["body"] = document["body"].replace("tree_size=10", "tree_size=12")
    path.chmod(0o644)
    path.write_text(json.dumps(document))

    result = audit_verify_chain()
    assert find(result, v.CHECKPOINT_UNREADABLE) or find(result, v.CHECKPOINT_SIGNATURE_INVALID)


def test_a_swapped_database_checkpoint_is_named(chain):
    impostor = Ed25519PrivateKey.generate()
    forged = sign_checkpoint(tree_size=10, root="cd" * 32, timestamp=timezone.now(), private_key=impostor)
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditcheckpoint SET body = %s, signature = %s, root_hash = %s",
                       [forged.body, forged.signature, forged.root])

    result = audit_verify_chain()
    assert find(result, v.CHECKPOINT_SIGNATURE_INVALID)


def test_one_break_never_hides_the_next(chain):
    with owner_with_triggers_off() as cursor:
        cursor.execute("UPDATE governance_auditevent SET reason = 'a' WHERE sequence = 2")
        cursor.execute("UPDATE governance_auditevent SET action = 'b' WHERE sequence = 9")
        cursor.execute("DELETE FROM governance_auditevent WHERE sequence = 5")

    result = audit_verify_chain()
    named = sorted((found.kind, found.first_sequence, found.last_sequence) for found in result.breaks
                   if found.first_sequence is not None)
    assert (v.COLUMNS_MISMATCH, 2, 2) in named and (v.COLUMNS_MISMATCH, 9, 9) in named
    assert (v.SEQUENCE_GAP, 5, 5) in named
    body = result.as_dict()
    json.dumps(body)
    assert body["intact"] is False and len(body["breaks"]) == len(result.breaks)


def test_a_signed_checkpoint_over_the_intact_chain_verifies(chain):
    result = audit_verify_chain()
    assert result.ok, result.breaks
    assert result.checkpoints_checked == 2  # the database's row and the sink's file
    assert result.external_checkpoint["tree_size"] == 10

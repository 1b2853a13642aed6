"""The audit log is one append-only hash chain that concurrent writers cannot fork and tampering cannot hide."""
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from driftgate.actors import Actor
from governance.audit import GENESIS_HASH, audit_record, audit_verify_chain, compute_hash
from governance.models import AuditEvent


def _write(actor, n=1, **kwargs):
    with transaction.atomic():
        return [audit_record(actor=actor, action="test.event", object_type="test", object_id=str(i), **kwargs)
                for i in range(n)]


@pytest.mark.django_db
def test_events_link_into_one_chain(system_actor):
    first, second, third = _write(system_actor, 3, before={"a": 1}, after={"a": 2}, reason="because")

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert all(compute_hash(event) == event.hash for event in (first, second, third))
    assert audit_verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_write_outside_a_transaction(system_actor):
    with pytest.raises(RuntimeError):
        audit_record(actor=system_actor, action="test.event")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_event_rolls_back_with_the_change_it_records(system_actor):
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            audit_record(actor=system_actor, action="test.event")
            1 / 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_database_refuses_update(system_actor):
    (event,) = _write(system_actor)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    event.refresh_from_db()
    assert event.reason == ""


@pytest.mark.django_db
def test_the_database_refuses_delete(system_actor):
    (event,) = _write(system_actor)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM governance_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_audit_verify_names_the_row_altered_with_triggers_disabled(postgres_only, system_actor):
    _write(system_actor, 5)
    call_command("audit_verify")  # intact: exits normally

    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the inserts must fire before the table can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE governance_auditevent SET reason = 'quietly edited' WHERE sequence = 3")
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")

    with pytest.raises(CommandError, match="#3") as excinfo:
        call_command("audit_verify")
    assert excinfo.value.returncode == 1
    result = audit_verify_chain()
    assert not result.ok and result.first_bad_sequence == 3 and "content" in result.problem


@pytest.mark.django_db
def test_audit_verify_catches_a_deleted_row(postgres_only, system_actor):
    _write(system_actor, 4)
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the inserts must fire before the table can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM governance_auditevent WHERE sequence = 2")
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")
    result = audit_verify_chain()
    assert not result.ok and result.first_bad_sequence == 3


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_writers_leave_one_valid_chain(postgres_only):
    writers, per_writer = 50, 4
    barrier = threading.Barrier(writers)
    errors = []

    def writer(index):
        try:
            barrier.wait(timeout=30)
            actor = Actor.system(f"writer-{index}")
            for _ in range(per_writer):
                with transaction.atomic():
                    audit_record(actor=actor, action="test.concurrent", object_type="writer", object_id=index)
        except Exception as exc:  # collected and asserted below: a lost write must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert AuditEvent.objects.count() == writers * per_writer
    result = audit_verify_chain()
    assert result.ok, result
    assert result.count == writers * per_writer
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, writers * per_writer + 1))

"""The audit log is one append-only keyed hash chain that concurrent writers cannot fork."""
import json
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from driftgate.actors import Actor
from governance.audit import GENESIS_HASH, audit_record, audit_verify_chain, compute_hash, event_hash
from governance.auditlog.checkpoints import audit_checkpoint_create
from governance.auditlog.keys import hmac_keyring
from governance.models import AuditCheckpoint, AuditEvent, UseCase
from tests.conftest import OWNER_ROLE, as_role
from tests.governance.audit.helpers import write


@pytest.mark.django_db
def test_events_link_into_one_keyed_chain(system_actor):
    first, second, third = write(system_actor, 3, before={"a": 1}, after={"a": 2}, reason="because")

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert all(compute_hash(event) == event.hash for event in (first, second, third))
    keyring = hmac_keyring()
    assert all(event.mac == keyring.mac(keyring.current_id, event.hash) for event in (first, second, third))
    assert audit_verify_chain().ok


@pytest.mark.django_db
def test_an_event_keeps_the_exact_bytes_it_hashed(system_actor):
    (event,) = write(system_actor, after={"big": 1e16, "when": "2026-01-01"}, reason="Zoë")
    event.refresh_from_db()

    payload = json.loads(event.canonical)
    assert event.canonical.isascii()
    assert event_hash(event.canonical, event.prev_hash) == event.hash
    assert payload["after"] == {"big": 1e16, "when": "2026-01-01"} and payload["reason"] == "Zoë"
    assert payload["sequence"] == event.sequence and payload["key_id"] == event.key_id


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
            raise ZeroDivisionError("the change after the event fails")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_event_that_opens_its_transaction_commits_and_rolls_back_with_the_change(postgres_only, system_actor):
    # Here the event is the transaction's first statement, so audit_record itself sends the BEGIN.
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(actor=system_actor, action="test.rolled_back")
        UseCase.objects.create(name="Rolled back", slug="rolled-back")
        raise ZeroDivisionError("the change after the event fails")
    assert not AuditEvent.objects.exists() and not UseCase.objects.exists()
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    with transaction.atomic():
        first = audit_record(actor=system_actor, action="test.event")
        UseCase.objects.create(name="Kept", slug="kept")
    with transaction.atomic():
        second = audit_record(actor=system_actor, action="test.event")
        with connection.cursor() as cursor:
            cursor.execute("SELECT now() = statement_timestamp()")
            # One transaction from the event on: its start time is older than this statement's.
            assert cursor.fetchone() == (False,)

    assert [e.sequence for e in AuditEvent.objects.order_by("sequence")] == [first.sequence, second.sequence] == [1, 2]
    assert UseCase.objects.filter(slug="kept").exists()
    assert audit_verify_chain().ok


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_insert_is_prepared_once_per_connection_unless_the_deployment_says_never(postgres_only, system_actor,
                                                                                   settings):
    connections.close_all()
    for _ in range(3):
        write(system_actor)
    inserts = [text for text in _prepared_statements() if "INSERT INTO governance_auditevent" in text]
    assert len(inserts) == 1
    # Django's own statements are not prepared by this.
    assert all("governance_auditevent" in text or "pg_advisory_xact_lock" in text for text in _prepared_statements())

    connections.close_all()
    settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    try:
        write(system_actor)
        assert _prepared_statements() == []
    finally:
        del settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
        connections.close_all()
    assert audit_verify_chain().ok


@pytest.mark.django_db
def test_a_value_that_is_not_json_is_refused_before_anything_is_written(system_actor):
    with pytest.raises(ValueError):
        write(system_actor, after={"x": float("nan")})
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_append_only_triggers_refuse_update_and_delete_even_by_the_owner(system_actor):
    (event,) = write(system_actor)
    owner = as_role(OWNER_ROLE) if connection.vendor == "postgresql" else transaction.atomic()
    with owner:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM governance_auditevent WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.reason == ""


@pytest.mark.django_db
def test_audit_verify_exits_0_on_an_intact_chain_and_prints_json(system_actor, capsys):
    write(system_actor, 4)
    call_command("audit_verify", "--json")
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is True and body["intact"] is True and body["breaks"] == []
    assert body["count"] == 4 and body["head_sequence"] == 4 and body["checked"]["keyed_events"] == 4


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_writers_leave_one_valid_chain_while_checkpoints_are_signed(postgres_only):
    writers, per_writer = 50, 4
    barrier = threading.Barrier(writers + 1)
    errors = []
    done = threading.Event()

    def checkpointer():
        try:
            barrier.wait(timeout=30)
            while not done.is_set():
                audit_checkpoint_create()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

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
    signer = threading.Thread(target=checkpointer)
    signer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    signer.join(timeout=60)
    audit_checkpoint_create()

    assert errors == []
    assert AuditEvent.objects.count() == writers * per_writer
    result = audit_verify_chain()
    assert result.ok, result
    assert result.count == writers * per_writer
    assert result.checkpoints_checked >= 2 and AuditCheckpoint.objects.count() >= 1
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, writers * per_writer + 1))


@pytest.mark.django_db
def test_an_event_links_to_the_real_head_when_the_expected_one_is_stale_or_rolled_back(postgres_only, system_actor):
    from governance import audit

    (first,) = write(system_actor)
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            audit_record(actor=system_actor, action="test.rolled_back")
            raise ZeroDivisionError("the savepoint and its event roll back")
        second = audit_record(actor=system_actor, action="test.event")
    # As if another process had appended events since this one last wrote.
    for key in audit._expected_heads:
        audit._expected_heads[key] = (first.sequence + 7, "f" * 64)
    (third,) = write(system_actor)

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    stored = AuditEvent.objects.get(sequence=3)
    assert (stored.pk, stored.hash, stored.canonical, stored.mac) == (third.pk, third.hash, third.canonical, third.mac)
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert audit_verify_chain().ok

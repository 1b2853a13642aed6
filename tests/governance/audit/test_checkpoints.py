"""Signed checkpoints: RFC 9162 roots over the chain, written once to a directory and to S3, proofs that hold."""
import json
import socket

import boto3
import pytest
from django.core.management import call_command
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.audit import audit_verify_chain
from governance.auditlog import verification as v
from governance.auditlog.checkpoints import (
    audit_checkpoint_create,
    audit_consistency_proof,
    audit_inclusion_proof,
    audit_proof_bundle,
)
from governance.auditlog.keys import signing_keys
from governance.auditlog.merkle import root_of, verify_consistency, verify_inclusion
from governance.auditlog.sinks import SinkError, configured_sinks
from governance.auditlog.statements import parse_document
from governance.models import AuditCheckpoint, AuditEvent
from governance.services.organisation import organisation_role_grant
from governance.tasks import audit_checkpoint_task
from tests.governance.audit.helpers import find, owner_with_triggers_off, write

pytestmark = pytest.mark.django_db


def test_a_checkpoint_signs_the_rfc9162_root_of_every_event_hash(system_actor, audit_checkpoint_sink):
    write(system_actor, 7)
    row = audit_checkpoint_create()

    hashes = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("sequence").values_list("hash", flat=True)]
    assert row.tree_size == 7 and row.root_hash == root_of(hashes).hex()
    (path,) = audit_checkpoint_sink.iterdir()
    stored = parse_document(path.read_bytes())
    assert stored.body == row.body and stored.verify(signing_keys().trusted) == ""
    assert path.stat().st_mode & 0o222 == 0  # read-only once written


def test_the_interval_job_signs_only_when_the_chain_grew(system_actor):
    assert audit_checkpoint_task() is None  # an empty chain: nothing to sign
    write(system_actor, 3)
    assert audit_checkpoint_task() == 3
    assert audit_checkpoint_task() is None
    write(system_actor, 2)
    assert audit_checkpoint_task() == 5
    assert list(AuditCheckpoint.objects.values_list("tree_size", flat=True)) == [3, 5]


def test_the_beat_schedule_runs_the_interval_job_every_five_minutes_by_default(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["governance-audit-checkpoint"]
    assert entry["task"] == "governance.tasks.audit_checkpoint" and entry["schedule"] == 300.0


def test_an_extended_checkpoint_has_the_root_of_a_fresh_computation(system_actor):
    write(system_actor, 5)
    audit_checkpoint_create()
    write(system_actor, 6)
    row = audit_checkpoint_create()
    hashes = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("sequence").values_list("hash", flat=True)]
    assert row.root_hash == root_of(hashes).hex()


def test_consistency_and_inclusion_proofs_hold_between_checkpoints(system_actor):
    write(system_actor, 6)
    first = audit_checkpoint_create()
    write(system_actor, 9)
    second = audit_checkpoint_create()

    proof = audit_consistency_proof(first=first.tree_size, second=second.tree_size)
    assert verify_consistency(old_size=6, new_size=15, old_root=bytes.fromhex(first.root_hash),
                              new_root=bytes.fromhex(second.root_hash),
                              proof=[bytes.fromhex(h) for h in proof["consistency_proof"]])
    included = audit_inclusion_proof(sequence=4, tree_size=15)
    assert verify_inclusion(index=3, size=15, leaf=bytes.fromhex(included["hash"]),
                            proof=[bytes.fromhex(h) for h in included["inclusion_proof"]],
                            root=bytes.fromhex(second.root_hash))


def test_a_proof_bundle_signs_a_new_checkpoint_when_the_newest_does_not_cover_the_events(system_actor):
    write(system_actor, 4)
    audit_checkpoint_create()
    write(system_actor, 2)
    bundle = audit_proof_bundle(sequences=[2, 6])
    assert bundle.checkpoint.tree_size == 6
    assert [event["sequence"] for event in bundle.events] == [2, 6]


def test_a_sink_never_overwrites_a_checkpoint_with_different_bytes(system_actor, audit_checkpoint_sink):
    write(system_actor, 2)
    row = audit_checkpoint_create()
    (sink,) = configured_sinks()
    impostor = parse_document(next(audit_checkpoint_sink.iterdir()).read_bytes())
    forged = type(impostor)(**{**impostor.__dict__, "signature": "AAAA"})
    with pytest.raises(SinkError, match="different checkpoint"):
        sink.write(forged)
    assert sink.read(next(audit_checkpoint_sink.iterdir()).name).body == row.body


def test_the_checkpoint_command_and_public_key(system_actor, capsys):
    write(system_actor, 2)
    call_command("audit_checkpoint")
    document = json.loads(capsys.readouterr().out)
    assert document["tree_size"] == 2
    call_command("audit_checkpoint", "--public-key")
    assert capsys.readouterr().out.startswith("-----BEGIN PUBLIC KEY-----")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """A local S3 (moto in server mode) on a free loopback port, with one empty bucket per test."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_sink(s3_server, settings, request):
    bucket = f"checkpoints-{abs(hash(request.node.name)) % 10**8}"
    client = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "audit_checkpoints": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": s3_server, "access_key": "test", "secret_key": "test",
                    "region_name": "us-east-1", "location": "checkpoints", "file_overwrite": False},
    }}
    settings.DRIFTGATE_AUDIT_CHECKPOINT_STORAGE = "audit_checkpoints"
    settings.DRIFTGATE_AUDIT_CHECKPOINT_DIR = ""
    return client, bucket


def test_checkpoints_go_to_an_s3_bucket_and_verification_reads_the_latest_back(system_actor, s3_sink):
    client, bucket = s3_sink
    write(system_actor, 3)
    audit_checkpoint_create()
    write(system_actor, 2)
    audit_checkpoint_create()

    keys = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["checkpoints/checkpoint-00000000000000000003.json",
                    "checkpoints/checkpoint-00000000000000000005.json"]
    result = audit_verify_chain()
    assert result.ok and result.external_checkpoint["tree_size"] == 5


def test_a_truncated_tail_is_caught_by_the_s3_checkpoint(postgres_only, system_actor, s3_sink):
    write(system_actor, 6)
    audit_checkpoint_create()
    with owner_with_triggers_off() as cursor:
        cursor.execute("DELETE FROM governance_auditevent WHERE sequence > 4")
        cursor.execute("DELETE FROM governance_auditcheckpoint")

    (found,) = find(audit_verify_chain(), v.TRUNCATED)
    assert (found.first_sequence, found.last_sequence) == (5, 6)


def test_the_api_lists_signs_and_proves(system_actor, make_user):
    staff, person = make_user("ops-admin", is_staff=True), make_user("someone")
    # Staff sign checkpoints; reading the events' proofs is the audit log's, read organisation-wide. The grant is
    # the chain's first event.
    organisation_role_grant(actor=Actor.for_user(make_user("root", is_superuser=True)), user=staff,
                            reason="Runs the platform and checks its audit trail.")
    write(system_actor, 2)
    admin = APIClient()
    admin.force_login(staff)

    refused = APIClient()
    refused.force_login(person)
    response = refused.post("/api/v1/audit/checkpoints")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"

    response = admin.post("/api/v1/audit/checkpoints")
    assert response.status_code == 201 and response.json()["tree_size"] == 3
    listed = admin.get("/api/v1/audit/checkpoints").json()
    assert [item["tree_size"] for item in listed] == [3]
    proof = admin.get("/api/v1/audit-events/2/proof").json()
    assert proof["checkpoint"]["tree_size"] == 3 and proof["leaf_index"] == 1
    assert admin.get("/api/v1/audit-events/99/proof").json()["code"] == "audit_event_not_found"
    assert admin.get("/api/v1/audit/consistency?first=x&second=3").json()["code"] == "invalid_tree_sizes"
    verified = admin.get("/api/v1/audit/verify").json()
    assert verified["intact"] is True and verified["external_checkpoint"]["tree_size"] == 3


def test_a_sink_that_cannot_be_read_is_a_finding_not_a_crash(system_actor, s3_sink):
    client, bucket = s3_sink
    write(system_actor, 2)
    audit_checkpoint_create()
    for item in client.list_objects_v2(Bucket=bucket)["Contents"]:
        client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)

    result = audit_verify_chain()
    (found,) = find(result, v.CHECKPOINT_UNREADABLE)
    assert "cannot be read" in found.detail and not result.ok

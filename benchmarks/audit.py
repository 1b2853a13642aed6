"""Benchmark: audit_record throughput with MAC and checkpoints, and audit_verify over 1,000,000 events.

Targets (issue 9): ≥ 1,000 events/s written through `audit_record` while checkpoints are signed, and the whole
verification (bytes, hash, MAC, columns, links, Merkle roots of every checkpoint) of 1,000,000 events in ≤ 60 s on
two cores. Runs in a throwaway PostgreSQL database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.audit [--events 1000000]

The million events are built by the same `build_event` as `audit_record` (canonical bytes, hash, MAC) and loaded
with COPY, so the verification reads exactly what production writes. Prints JSON.
"""
import argparse
import base64
import json
import multiprocessing
import os
import platform
import resource
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_audit")


def _production_settings() -> None:
    """Run as production does: DEBUG off, and audit keys from files (throwaway ones, made for this run).

    With DEBUG on, Django keeps every statement in `connection.queries`, a cost production does not pay.
    """
    keys = Path(tempfile.mkdtemp(prefix="audit-keys-"))
    hmac_file, signing_file = keys / "hmac.keys", keys / "checkpoint.pem"
    hmac_file.write_text(f"bench-1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")
    signing_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    for name, value in {
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "localhost",
        "DRIFTGATE_AUDIT_HMAC_KEYS_FILE": str(hmac_file), "DRIFTGATE_AUDIT_SIGNING_KEY_FILE": str(signing_file),
        "DRIFTGATE_AUDIT_CHECKPOINT_DIR": str(keys / "checkpoints"),
    }.items():
        os.environ.setdefault(name, value)


_production_settings()

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from driftgate.actors import Actor  # noqa: E402
from governance.audit import audit_record, audit_verify_chain, build_event  # noqa: E402
from governance.auditlog.checkpoints import audit_checkpoint_create  # noqa: E402
from governance.auditlog.format import GENESIS_HASH  # noqa: E402
from governance.auditlog.keys import hmac_keyring  # noqa: E402
from governance.models import AuditCheckpoint, AuditEvent  # noqa: E402

COLUMNS = ("sequence", "created_at", "actor_kind", "actor_display", "action", "object_type", "object_id", "before",
           "after", "reason", "request_id", "prev_hash", "hash", "canonical", "mac", "key_id")


def _write(index: int, stop: float, per_transaction: int) -> None:
    """One writer: append events through `audit_record` until `stop`, one transaction at a time."""
    actor = Actor.system(f"bench-{index}")
    try:
        while time.monotonic() < stop:
            with transaction.atomic():
                for _ in range(per_transaction):
                    audit_record(actor=actor, action="bench.event", object_type="bench", object_id=index,
                                 after={"value": 1e16, "note": "benchmark"}, reason="throughput")
    finally:
        connections.close_all()


def _write_process(index: int, stop: float, per_transaction: int, errors) -> None:
    """A writer process: its failure is reported to the parent, which invalidates the figure."""
    try:
        _write(index, stop, per_transaction)
    except Exception as error:
        errors.put(repr(error))


def throughput(*, writers: int, seconds: float, per_transaction: int, checkpoint_every: float,
               kind: str = "processes") -> dict:
    """Write events from `writers` processes (as gunicorn and Celery run) or threads of this one for `seconds`,
    while a thread signs a checkpoint every few seconds."""
    stop = time.monotonic() + seconds
    checkpoints: list[float] = []
    errors: list[str] = []

    def write_thread(index: int) -> None:
        try:
            _write(index, stop, per_transaction)
        except Exception as error:  # reported in the JSON: a failed writer invalidates the figure
            errors.append(repr(error))

    def checkpointer() -> None:
        try:
            while (remaining := stop - time.monotonic()) > 0:
                time.sleep(min(checkpoint_every, remaining))
                started = time.perf_counter()
                row = audit_checkpoint_create()
                if row is not None:
                    checkpoints.append(time.perf_counter() - started)
        finally:
            connections.close_all()

    before = AuditEvent.objects.count()
    # A forked writer must open its own connection, never the parent's socket.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    started = time.perf_counter()
    if kind == "processes":
        workers: list = [context.Process(target=_write_process, args=(i, stop, per_transaction, queue))
                         for i in range(writers)]
    else:
        workers = [threading.Thread(target=write_thread, args=(i,)) for i in range(writers)]
    signer = threading.Thread(target=checkpointer)
    for worker in [*workers, signer]:
        worker.start()
    for worker in workers:
        worker.join()
    # The rate is over the writers' time: the checkpoint signed as they stop is not part of it.
    elapsed = time.perf_counter() - started
    signer.join()
    while not queue.empty():
        errors.append(queue.get())
    if any(getattr(worker, "exitcode", 0) for worker in workers):
        errors.append("a writer process exited with an error")
    written = AuditEvent.objects.count() - before
    return {"writers": writers, "writer_kind": kind, "events_per_transaction": per_transaction,
            "seconds": round(elapsed, 2), "events": written, "events_per_second": round(written / elapsed, 1),
            "checkpoints_signed": len(checkpoints),
            "checkpoint_seconds_max": round(max(checkpoints), 4) if checkpoints else None, "errors": errors}


def load_events(n: int, batch: int = 20_000) -> float:
    """Append n events built like audit_record's, with COPY; returns the seconds it took."""
    keyring = hmac_keyring()
    actor = Actor.system("bench-bulk")
    head = AuditEvent.objects.order_by("-sequence").first()
    sequence, prev = (head.sequence, head.hash) if head else (0, GENESIS_HASH)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    while n > 0:
        rows = []
        for _ in range(min(batch, n)):
            sequence += 1
            event = build_event(sequence=sequence, prev_hash=prev, created_at=moment + timedelta(seconds=sequence),
                                actor=actor, action="bench.bulk", object_type="bench", object_id=str(sequence % 97),
                                use_case=None, before=None, after={"value": sequence * 1.5, "tag": "ü"},
                                reason="bulk", keyring=keyring)
            prev = event.hash
            rows.append((event.sequence, event.created_at, event.actor_kind, event.actor_display, event.action,
                         event.object_type, event.object_id, None, json.dumps(event.after), event.reason,
                         event.request_id, event.prev_hash, event.hash, event.canonical, event.mac, event.key_id))
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY governance_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        n -= len(rows)
    return time.perf_counter() - started


def _shapes(text: str) -> list[tuple[int, int]]:
    """Parse `--shapes`: comma-separated `WRITERSxEVENTS`, both positive, such as `4x1,1x10`."""
    shapes = []
    for shape in text.split(","):
        writers, _, per_transaction = shape.strip().partition("x")
        if not (writers.isdigit() and per_transaction.isdigit() and int(writers) > 0 and int(per_transaction) > 0):
            raise argparse.ArgumentTypeError(f"{shape!r} is not WRITERSxEVENTS, such as 4x1")
        shapes.append((int(writers), int(per_transaction)))
    return shapes


def main() -> None:
    """Run both measurements and print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to verify (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each throughput run")
    parser.add_argument("--writers", choices=("processes", "threads"), default="processes",
                        help="writers as processes, as gunicorn and Celery run them (default), or threads of one")
    parser.add_argument("--shapes", type=_shapes, default="1x1,4x1,1x10,4x10",
                        help="the throughput runs, as writers x events per transaction (default 1x1,4x1,1x10,4x10)")
    options = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        result: dict[str, Any] = {"throughput": [
            throughput(writers=writers, seconds=options.seconds, per_transaction=per_transaction, checkpoint_every=5.0,
                       kind=options.writers)
            for writers, per_transaction in options.shapes]}
        existing = AuditEvent.objects.count()
        load_seconds = load_events(max(options.events - existing, 0))
        started = time.perf_counter()
        # None when the throughput phase's last checkpoint already covers every event (`--events` below what it
        # wrote): the walk is then checked against that one.
        checkpoint = audit_checkpoint_create() or AuditCheckpoint.objects.order_by("-tree_size").first()
        checkpoint_seconds = time.perf_counter() - started
        started = time.perf_counter()
        verification = audit_verify_chain()
        verify_seconds = time.perf_counter() - started
        result["verify"] = {
            "events": verification.count, "ok": verification.ok, "breaks": len(verification.breaks),
            "checkpoints_checked": verification.checkpoints_checked, "seconds": round(verify_seconds, 1),
            "events_per_second": round(verification.count / verify_seconds),
            "checkpoint_extend_seconds": round(checkpoint_seconds, 2), "checkpoint_tree_size": checkpoint.tree_size if checkpoint else None,
            "bulk_load_seconds": round(load_seconds, 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        result["machine"] = {"cpus": os.cpu_count(), "load": os.getloadavg(), "python": platform.python_version(),
                             "debug": settings.DEBUG}
        print(json.dumps(result, indent=1))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

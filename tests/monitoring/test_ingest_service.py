"""traffic_ingest and the writers on PostgreSQL: concurrency, atomicity and the portable fallback."""
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from monitoring.ingest import writer
from monitoring.ingest.validation import CleanRecord
from monitoring.models import TrafficRecord
from monitoring.services.traffic import traffic_ingest
from tests.factories import ModelVersionFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


def _records(n: int, prefix: str = "req") -> list[dict]:
    stamp = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [{"external_id": f"{prefix}-{i}", "timestamp": stamp, "prompt": f"prompt {i}", "response": "ok",
             "model_version": "v1"} for i in range(n)]


def _clean(external_id: str, model_version_id: int) -> CleanRecord:
    moment = datetime(2025, 1, 1, 10, 30, tzinfo=UTC)
    return CleanRecord(external_id=external_id, timestamp=moment, hour=moment.replace(minute=0), prompt="p",
                       response="r", prompt_digest="0" * 32, response_digest="1" * 32,
                       model_version_id=model_version_id, score=None, feedback=None, segment="")


def test_the_system_actor_may_ingest_without_a_role(use_case, system_actor):
    ModelVersionFactory(use_case=use_case, label="v1")
    result = traffic_ingest(actor=system_actor, use_case=use_case, body=json.dumps(_records(2)).encode(),
                            content_type="application/json")
    assert (result.accepted, result.duplicate, result.rejected) == (2, 0, 0)


def test_two_ingests_in_one_outer_transaction_both_succeed(use_case, system_actor):
    ModelVersionFactory(use_case=use_case, label="v1")
    with transaction.atomic():
        first = traffic_ingest(actor=system_actor, use_case=use_case, body=json.dumps(_records(3, "a")).encode(),
                               content_type="application/json")
        second = traffic_ingest(actor=system_actor, use_case=use_case, body=json.dumps(_records(3, "b")).encode(),
                                content_type="application/json")
    assert (first.accepted, second.accepted) == (3, 3)


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_leaves_nothing_behind():
    version = ModelVersionFactory(label="v1")
    records = [_clean("good-1", version.pk), _clean("bad", 987_654_321), _clean("good-2", version.pk)]
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            writer.write_records(use_case_id=version.use_case_id, records=records, received_at=datetime.now(UTC))
    assert not TrafficRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_posted_at_once_store_each_record_once():
    use_case = UseCaseFactory()
    ModelVersionFactory(use_case=use_case, label="v1")
    user = UserFactory(username="concurrent-owner")
    use_case.memberships.create(user=user, role="platform_owner")
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="serving",
                              scopes=["traffic:write"])
    body = json.dumps(_records(3000)).encode()
    barrier = threading.Barrier(2)
    results: list = []

    def post() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            barrier.wait()
            response = client.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=body,
                                   content_type="application/json")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in results] == [200, 200]
    assert sorted(body["accepted"] for _, body in results) == [0, 3000]
    assert sorted(body["duplicate"] for _, body in results) == [0, 3000]
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 3000


def test_the_portable_writer_skips_existing_ids_and_counts_exactly(use_case):
    version = ModelVersionFactory(use_case=use_case, label="v1")
    now = datetime.now(UTC)
    first = writer._write_portable(use_case.pk, [_clean(f"id-{i}", version.pk) for i in range(600)], now)
    second = writer._write_portable(use_case.pk, [_clean(f"id-{i}", version.pk) for i in range(590, 610)], now)
    assert (first.inserted, first.duplicate, second.inserted, second.duplicate) == (600, 0, 10, 10)
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 610


def test_both_writers_store_the_same_row(use_case):
    version = ModelVersionFactory(use_case=use_case, label="v1")
    now = datetime(2025, 1, 2, tzinfo=UTC)
    record = _clean("copy", version.pk)
    record.metadata_json = json.dumps({"lang": "de", "nested": {"n": [1, 2.5, None, "ä"]}}, ensure_ascii=False)
    record.score, record.feedback, record.segment = 0.75, -1, "mobile"
    writer._write_postgresql(use_case.pk, [record], ["copy"], now)
    record.external_id = "orm"
    writer._write_portable(use_case.pk, [record], now)
    fields = ["timestamp", "hour", "received_at", "prompt", "response", "prompt_digest", "response_digest",
              "model_version_id", "score", "feedback", "segment", "metadata", "redactions", "sample_key"]
    copied, created = (TrafficRecord.objects.filter(external_id=external_id).values(*fields).get()
                       for external_id in ("copy", "orm"))
    assert copied == created
    assert copied["metadata"] == {"lang": "de", "nested": {"n": [1, 2.5, None, "ä"]}}


def test_ids_stored_by_a_concurrent_batch_after_the_look_up_are_skipped(use_case, monkeypatch):
    version = ModelVersionFactory(use_case=use_case, label="v1")
    now = datetime.now(UTC)
    writer.write_records(use_case_id=use_case.pk, records=[_clean("id-1", version.pk)], received_at=now)
    # As if another batch committed id-1 between the look-up and the COPY: the COPY collides and the
    # staging path must still store the other rows and count exactly.
    monkeypatch.setattr(writer, "_existing_ids", lambda *args: set())
    with transaction.atomic():
        inserted = writer.write_records(use_case_id=use_case.pk, received_at=now,
                                        records=[_clean(f"id-{i}", version.pk) for i in range(3)])
    assert (inserted.inserted, inserted.duplicate) == (2, 1)
    assert sorted(TrafficRecord.objects.values_list("external_id", flat=True)) == ["id-0", "id-1", "id-2"]


def test_a_batch_whose_stored_ids_lie_past_the_probe_still_counts_exactly(use_case):
    version = ModelVersionFactory(use_case=use_case, label="v1")
    now = datetime.now(UTC)
    writer.write_records(use_case_id=use_case.pk, received_at=now,
                         records=[_clean(f"id-{i:03d}", version.pk) for i in range(60, 100)])
    # The first 60 ids are new, so the probe of the first ids finds nothing and the key COPY collides later.
    result = writer.write_records(use_case_id=use_case.pk, received_at=now,
                                  records=[_clean(f"id-{i:03d}", version.pk) for i in range(100)])
    assert (result.inserted, result.duplicate) == (60, 40)
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 100

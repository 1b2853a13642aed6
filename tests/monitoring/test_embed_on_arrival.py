"""Embedding on arrival: stored traffic queues its window's embedding, so the hourly run finds vectors ready."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from monitoring.embeddings import embedding_model_key
from monitoring.models import TextEmbedding
from monitoring.selectors.sampling import window_sample
from monitoring.services import embeddings as embedding_services
from monitoring.services.traffic import traffic_ingest
from monitoring.tasks.embedding import window_bounds
from tests.factories import ModelVersionFactory, MonitoringPolicyFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


def _body(n: int, *, moment: datetime, prefix: str) -> bytes:
    # Ten distinct prompts repeated: the embedding is per distinct text, not per record.
    return json.dumps([{"external_id": f"{prefix}-{i}", "timestamp": moment.isoformat(),
                        "prompt": f"How do I change the billing address of order {i % 10}?",
                        "response": f"Open the order {i % 10} and choose Edit address.", "model_version": "v1"}
                       for i in range(n)]).encode()


def _embedded(texts_of_window) -> int:
    digests = {r.prompt_digest for r in texts_of_window} | {r.response_digest for r in texts_of_window}
    return TextEmbedding.objects.filter(model_key=embedding_model_key(), digest__in=digests).count()


def test_stored_traffic_is_embedded_once_per_distinct_text_and_the_run_then_embeds_nothing(
        use_case, system_actor, settings, django_capture_on_commit_callbacks):
    settings.DRIFTGATE_EMBED_ON_ARRIVAL = True
    ModelVersionFactory(use_case=use_case, label="v1")
    MonitoringPolicyFactory(use_case=use_case, window_hours=2, sample_size=100)
    moment = datetime.now(UTC).replace(minute=10, second=0, microsecond=0) - timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        traffic_ingest(actor=system_actor, use_case=use_case, body=_body(40, moment=moment, prefix="a"),
                       content_type="application/json")

    assert len(queued) == 1  # one window touched, one task queued after the commit
    start, end = window_bounds(moment, window_hours=2)
    assert end - start == timedelta(hours=2) and start <= moment < end and start.hour % 2 == 0
    records = window_sample(use_case=use_case, start=start, end=end, n=100)
    assert _embedded(records) == 20  # ten prompts and ten responses
    # The run's own embedding step now finds every text of its window there.
    assert embedding_services.window_embed(use_case=use_case, start=start, end=end) == 0


def test_a_duplicate_batch_queues_nothing_and_arrival_embedding_can_be_switched_off(
        use_case, system_actor, settings, django_capture_on_commit_callbacks):
    ModelVersionFactory(use_case=use_case, label="v1")
    moment = datetime.now(UTC) - timedelta(hours=1)
    settings.DRIFTGATE_EMBED_ON_ARRIVAL = False
    with django_capture_on_commit_callbacks(execute=True) as queued:
        traffic_ingest(actor=system_actor, use_case=use_case, body=_body(5, moment=moment, prefix="b"),
                       content_type="application/json")
    assert queued == [] and not TextEmbedding.objects.exists()

    settings.DRIFTGATE_EMBED_ON_ARRIVAL = True
    with django_capture_on_commit_callbacks(execute=True) as queued:
        result = traffic_ingest(actor=system_actor, use_case=use_case, body=_body(5, moment=moment, prefix="b"),
                                content_type="application/json")
    # A retried batch stores nothing new, so nothing new needs embedding.
    assert result.duplicate == 5 and queued == []

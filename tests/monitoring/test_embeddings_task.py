"""The `embed_window` Celery task: embeds a window's sample once, however often it is delivered."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from monitoring.ingest.digest import text_digest
from monitoring.models import TextEmbedding
from monitoring.selectors.sampling import window_sample
from monitoring.services.embeddings import texts_embed_missing
from monitoring.tasks.embedding import embed_window
from tests.factories import MonitoringPolicyFactory, pydoc_sentences, traffic_rows

HOUR = datetime(2026, 4, 2, 10, tzinfo=UTC)
KEY = "all-MiniLM-L6-v2:384"


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    by_topic = pydoc_sentences()
    return [sentence for topic in sorted(by_topic) for sentence in by_topic[topic]]


def fill_window(use_case, sentences, records=240) -> None:
    """Records repeating 60 prompts and 40 answers inside one hour."""
    traffic_rows(use_case=use_case, prompts=[sentences[i % 60] for i in range(records)],
                 responses=[sentences[100 + i % 40] for i in range(records)], start=HOUR, end=HOUR + timedelta(hours=1))


@pytest.mark.django_db
def test_the_task_embeds_each_distinct_text_of_the_window_once(use_case, sentences):
    fill_window(use_case, sentences)
    embedded = embed_window.delay(use_case.pk, HOUR.isoformat(), (HOUR + timedelta(hours=1)).isoformat()).get()
    assert embedded == 100
    assert TextEmbedding.objects.filter(model_key=KEY).count() == 100


@pytest.mark.django_db
def test_delivering_the_task_twice_adds_no_rows(use_case, sentences):
    fill_window(use_case, sentences)
    args = (use_case.pk, HOUR.isoformat(), (HOUR + timedelta(hours=1)).isoformat())
    embed_window.apply(args=args).get()
    assert embed_window.apply(args=args).get() == 0
    assert TextEmbedding.objects.count() == 100


@pytest.mark.django_db
def test_only_the_policys_sample_is_embedded(use_case, sentences):
    MonitoringPolicyFactory(use_case=use_case, sample_size=100)
    traffic_rows(use_case=use_case, prompts=sentences[:300], responses=[""] * 300, start=HOUR,
                 end=HOUR + timedelta(hours=1))
    embedded = embed_window.apply(args=(use_case.pk, HOUR.isoformat(), (HOUR + timedelta(hours=1)).isoformat())).get()
    sample = window_sample(use_case=use_case, start=HOUR, end=HOUR + timedelta(hours=1), n=100)
    assert embedded == 100
    assert set(TextEmbedding.objects.values_list("digest", flat=True)) == {r.prompt_digest for r in sample}


@pytest.mark.django_db
def test_a_window_of_an_unknown_use_case_does_nothing(sentences):
    assert embed_window.apply(args=(987654, HOUR.isoformat(), HOUR.isoformat())).get() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_embedding_the_same_texts_at_once_store_each_text_once(sentences):
    items = [(text_digest(text), text) for text in sentences[:80]]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            texts_embed_missing(items=items, model_key=KEY)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TextEmbedding.objects.filter(model_key=KEY).count() == 80

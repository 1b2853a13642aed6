"""Building, freezing, replacing and loading baselines, on PostgreSQL with real embeddings."""
import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_verify_chain
from governance.models import AuditEvent
from monitoring.drift import SEVERITIES, BaselineData, Policy, WindowData, run_signals
from monitoring.ingest.digest import text_digest
from monitoring.models import Baseline, BaselineStatus, TextEmbedding, TrafficRecord
from monitoring.selectors.baselines import BaselineArtifactInvalid, clear_baseline_cache, load_baseline_data
from monitoring.selectors.embeddings import digest_groups, embeddings_for
from monitoring.services.baselines import (
    BaselineTooSmall,
    baseline_build,
    baseline_compute,
    baseline_create,
    baseline_freeze,
)
from monitoring.services.embeddings import texts_embed_missing
from tests.factories import ModelVersionFactory, pydoc_sentences, traffic_rows

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)
MINIMUM = 300


@pytest.fixture(autouse=True)
def small_baselines(settings):
    """Baselines of a few hundred records, so tests embed a few hundred real texts."""
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = MINIMUM
    clear_baseline_cache()


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    by_topic = pydoc_sentences()
    return [sentence for topic in sorted(by_topic) for sentence in by_topic[topic]]


def add_traffic(use_case, sentences, *, records=400, start=START, end=END, prefix="b", seed=1) -> None:
    """Insert records that repeat 150 distinct prompts and 120 distinct answers, with scores and feedback."""
    rng = np.random.default_rng(seed)
    prompts = [sentences[i] for i in rng.integers(0, 150, size=records)]
    answers = [f"{sentences[150 + i]} {sentences[300 + i]}" for i in rng.integers(0, 120, size=records)]
    scores = list(np.clip(rng.normal(0.8, 0.05, size=records), 0, 1))
    traffic_rows(use_case=use_case, prompts=prompts, responses=answers, scores=scores, start=start, end=end,
                 prefix=prefix, seed=seed)
    positive = TrafficRecord.objects.filter(use_case=use_case, external_id__startswith=f"{prefix}-")
    positive.filter(pk__in=list(positive.values_list("pk", flat=True)[: records // 2])).update(feedback=1)
    positive.filter(feedback__isnull=True).update(feedback=-1)


@pytest.fixture
def owner(make_user, grant, use_case):
    person = make_user("gov-owner")
    grant(person, use_case, "governance_owner")
    return Actor.for_user(person)


def actions_on(baseline: Baseline) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="monitoring.baseline", object_id=str(baseline.pk))
                .order_by("sequence").values_list("action", flat=True))


@pytest.mark.django_db
def test_a_built_and_frozen_baseline_stores_its_artifact_and_is_audited(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_freeze(actor=owner, baseline=baseline_build(actor=owner, use_case=use_case, start=START,
                                                                    end=END))
    stored = Baseline.objects.get(pk=baseline.pk)
    assert stored.status == BaselineStatus.FROZEN
    assert stored.frozen_at is not None
    assert stored.n_records == 400
    assert hashlib.sha256(bytes(stored.artifact)).hexdigest() == stored.artifact_sha256
    assert stored.embedding_model == "all-MiniLM-L6-v2:384"
    assert stored.summary["distinct_prompts"] <= 150
    assert stored.summary["score_stats"]["n"] == 400
    assert stored.summary["score_stats"]["mean"] == pytest.approx(0.8, abs=0.02)
    assert stored.summary["feedback_stats"] == {"n": 400, "positive_share": 0.5}
    assert stored.summary["prompt_clusters"]["centroids"]
    assert stored.summary["tfidf"]
    assert actions_on(stored) == ["baseline.created", "baseline.built", "baseline.frozen"]
    assert audit_verify_chain().ok


@pytest.mark.django_db
def test_the_sampled_texts_are_embedded_once_each(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_build(actor=owner, use_case=use_case, start=START, end=END)
    records = TrafficRecord.objects.filter(use_case=use_case)
    distinct = set(records.values_list("prompt_digest", flat=True)) | set(records.values_list("response_digest",
                                                                                               flat=True))
    assert TextEmbedding.objects.filter(model_key=baseline.embedding_model).count() == len(distinct)


@pytest.mark.django_db
def test_freezing_a_second_baseline_replaces_the_first_with_a_reason(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    first = baseline_freeze(actor=owner, baseline=baseline_build(actor=owner, use_case=use_case, start=START, end=END))
    second = baseline_build(actor=owner, use_case=use_case, start=START, end=END, reason="Retrained on March data")
    second = baseline_freeze(actor=owner, baseline=second)
    first.refresh_from_db()
    assert (first.status, first.replaced_by_id) == (BaselineStatus.REPLACED, second.pk)
    assert second.status == BaselineStatus.FROZEN
    assert Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN).count() == 1
    replaced = AuditEvent.objects.get(action="baseline.replaced", object_id=str(first.pk))
    assert replaced.reason == "Retrained on March data"
    assert replaced.after["replaced_by"] == second.pk
    assert AuditEvent.objects.get(action="baseline.frozen", object_id=str(second.pk)).after["replaces"] == first.pk


@pytest.mark.django_db
def test_replacing_the_frozen_baseline_without_a_reason_is_refused(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline_freeze(actor=owner, baseline=baseline_build(actor=owner, use_case=use_case, start=START, end=END))
    with pytest.raises(ValidationFailed) as refused:
        baseline_create(actor=owner, use_case=use_case, start=START, end=END)
    assert refused.value.code == "reason_required"
    assert Baseline.objects.filter(use_case=use_case).count() == 1


@pytest.mark.django_db
def test_a_range_with_too_few_records_is_refused_and_nothing_is_written(use_case, owner, sentences):
    add_traffic(use_case, sentences, records=MINIMUM - 1)
    events = AuditEvent.objects.count()
    with pytest.raises(BaselineTooSmall) as refused:
        baseline_build(actor=owner, use_case=use_case, start=START, end=END)
    assert refused.value.code == "baseline_too_small"
    assert refused.value.status_code == 400
    assert refused.value.extra == {"available": MINIMUM - 1, "minimum": MINIMUM}
    assert not Baseline.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_the_default_range_is_the_active_versions_first_30_days(use_case, owner, sentences):
    ModelVersionFactory(use_case=use_case, label="v7", activated_at=START)
    add_traffic(use_case, sentences, records=350)
    add_traffic(use_case, sentences, records=100, start=START - timedelta(days=10), end=START, prefix="early")
    add_traffic(use_case, sentences, records=100, start=END, end=END + timedelta(days=5), prefix="late")
    baseline = baseline_build(actor=owner, use_case=use_case)
    assert (baseline.start, baseline.end) == (START, END)
    assert baseline.n_records == 350
    assert baseline.model_version.label == "v7"


@pytest.mark.django_db
def test_without_a_range_or_an_active_version_the_build_is_refused(use_case, owner):
    with pytest.raises(ValidationFailed) as refused:
        baseline_create(actor=owner, use_case=use_case)
    assert refused.value.code == "no_active_model_version"


@pytest.mark.parametrize("start, end", [(END, START), (START, START)])
@pytest.mark.django_db
def test_a_range_that_ends_before_it_starts_is_refused(use_case, owner, start, end):
    with pytest.raises(ValidationFailed) as refused:
        baseline_create(actor=owner, use_case=use_case, start=start, end=end)
    assert refused.value.code == "invalid_range"


@pytest.mark.parametrize("size", [MINIMUM - 1, 50_001])
@pytest.mark.django_db
def test_a_sample_size_outside_the_bounds_is_refused(use_case, owner, size):
    with pytest.raises(ValidationFailed) as refused:
        baseline_create(actor=owner, use_case=use_case, start=START, end=END, sample_size=size)
    assert refused.value.code == "invalid_sample_size"


@pytest.mark.django_db
def test_a_large_range_is_sampled_uniformly_by_sample_key(use_case, owner, sentences):
    add_traffic(use_case, sentences, records=500)
    baseline = baseline_build(actor=owner, use_case=use_case, start=START, end=END, sample_size=MINIMUM)
    assert baseline.n_records == MINIMUM
    assert baseline.summary["records_in_range"] == 500
    smallest_keys = TrafficRecord.objects.filter(use_case=use_case).order_by("sample_key")[:MINIMUM]
    expected = digest_groups(record.prompt_digest for record in smallest_keys)
    np.testing.assert_array_equal(np.sort(load_baseline_data(baseline).prompt_groups), np.sort(expected))


@pytest.mark.parametrize("role", ["product_owner", "reviewer", "viewer"])
@pytest.mark.django_db
def test_only_governance_and_platform_owners_may_build(use_case, make_user, grant, role):
    person = make_user("someone")
    grant(person, use_case, role)
    with pytest.raises(PermissionRefused) as refused:
        baseline_create(actor=Actor.for_user(person), use_case=use_case, start=START, end=END)
    assert refused.value.code == "missing_role"


@pytest.mark.django_db
def test_a_platform_owner_may_freeze_and_a_product_owner_may_not(use_case, make_user, grant, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_build(actor=owner, use_case=use_case, start=START, end=END)
    product, platform = make_user("po"), make_user("pe")
    grant(product, use_case, "product_owner")
    grant(platform, use_case, "platform_owner")
    with pytest.raises(PermissionRefused):
        baseline_freeze(actor=Actor.for_user(product), baseline=baseline)
    assert baseline_freeze(actor=Actor.for_user(platform), baseline=baseline).status == BaselineStatus.FROZEN


@pytest.mark.django_db
def test_a_baseline_that_was_never_computed_cannot_be_frozen(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_create(actor=owner, use_case=use_case, start=START, end=END)
    with pytest.raises(Conflict) as refused:
        baseline_freeze(actor=owner, baseline=baseline)
    assert refused.value.code == "baseline_not_built"


@pytest.mark.django_db
def test_freezing_twice_changes_nothing_the_second_time(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_freeze(actor=owner, baseline=baseline_build(actor=owner, use_case=use_case, start=START,
                                                                    end=END))
    again = baseline_freeze(actor=owner, baseline=baseline)
    assert again.frozen_at == baseline.frozen_at
    assert actions_on(baseline).count("baseline.frozen") == 1


@pytest.mark.django_db
def test_traffic_with_too_few_distinct_texts_fails_the_build_and_says_so(use_case, owner, sentences):
    traffic_rows(use_case=use_case, prompts=[sentences[i % 10] for i in range(MINIMUM)], start=START, end=END)
    baseline = baseline_create(actor=owner, use_case=use_case, start=START, end=END)
    with pytest.raises(BaselineTooSmall):
        baseline_compute(actor=owner, baseline=baseline)
    baseline.refresh_from_db()
    assert baseline.status == BaselineStatus.FAILED
    assert baseline.summary["error"]["code"] == "baseline_too_small"
    assert actions_on(baseline) == ["baseline.created", "baseline.failed"]


@pytest.mark.django_db
def test_loaded_baseline_data_feeds_the_drift_statistics(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_freeze(actor=owner, baseline=baseline_build(actor=owner, use_case=use_case, start=START,
                                                                    end=END))
    data = load_baseline_data(Baseline.objects.defer("artifact").get(pk=baseline.pk))
    assert isinstance(data, BaselineData)
    assert data.prompt_embeddings.shape == (400, 384) and data.prompt_embeddings.dtype == np.float32
    assert data.prompt_groups.shape == (400,) and data.prompt_groups.dtype == np.int64
    assert data.response_embeddings.shape == (400, 384)
    assert data.response_clusters is not None
    assert data.scores.shape == (400,) and data.feedback.shape == (400,)
    assert not data.prompt_embeddings.flags.writeable

    rng = np.random.default_rng(5)
    prompts = [sentences[i] for i in rng.integers(0, 150, size=250)]
    answers = [sentences[150 + i] for i in rng.integers(0, 120, size=250)]
    items = [(digest, text) for digest, text in zip(_digests(prompts + answers), prompts + answers, strict=True)]
    texts_embed_missing(items=items, model_key=baseline.embedding_model)
    prompt_digests, answer_digests = _digests(prompts), _digests(answers)
    window = WindowData(
        prompt_embeddings=embeddings_for(digests=prompt_digests, model_key=baseline.embedding_model),
        prompt_groups=digest_groups(prompt_digests), prompt_texts=prompts,
        response_embeddings=embeddings_for(digests=answer_digests, model_key=baseline.embedding_model),
        response_groups=digest_groups(answer_digests),
        scores=np.clip(rng.normal(0.8, 0.05, size=250), 0, 1), feedback=rng.choice([-1, 1], size=250))
    signals, severity = run_signals(data, window, Policy(), seed=1)
    assert severity in SEVERITIES
    assert {"prompt_drift", "response_drift", "quality_drop"} <= {signal.name for signal in signals}
    assert all(0.0 <= signal.p_value <= 1.0 for signal in signals)


def _digests(texts: list[str]) -> list[str]:
    return [text_digest(text) for text in texts]


@pytest.mark.django_db
def test_a_loaded_baseline_is_served_from_the_cache_the_second_time(use_case, owner, sentences,
                                                                    django_assert_num_queries):
    add_traffic(use_case, sentences)
    baseline = baseline_build(actor=owner, use_case=use_case, start=START, end=END)
    first = load_baseline_data(baseline)
    with django_assert_num_queries(0):
        assert load_baseline_data(baseline) is first


@pytest.mark.django_db
def test_an_artifact_that_no_longer_matches_its_hash_is_refused(use_case, owner, sentences):
    add_traffic(use_case, sentences)
    baseline = baseline_build(actor=owner, use_case=use_case, start=START, end=END)
    Baseline.objects.filter(pk=baseline.pk).update(artifact=b"tampered")
    with pytest.raises(BaselineArtifactInvalid) as refused:
        load_baseline_data(baseline)
    assert refused.value.code == "baseline_artifact_invalid"

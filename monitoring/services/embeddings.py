"""Embedding distinct texts once per model, and the window sample ahead of a drift run.

Embeddings are derived data, like traffic: they are not written to the audit log.
"""
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction

from driftgate.errors import ApplicationError
from governance.models import UseCase
from monitoring.embeddings import Encoder, embedding_model_key, get_encoder, vector_to_bytes
from monitoring.ingest.digest import normalise_text
from monitoring.models import Baseline, BaselineStatus, EmbeddingTier, MonitoringPolicy, TextEmbedding
from monitoring.selectors.embeddings import stored_digests
from monitoring.selectors.sampling import window_sample
from monitoring.static_embeddings import get_static_encoder, static_model_dir, static_model_key

# Texts encoded and inserted per step: a few seconds of work on two cores, so a time limit loses little.
EMBED_BATCH = 256


class EmbeddingModelMismatch(ApplicationError):
    """Vectors were asked for under a model other than the one this process is configured to load."""

    code = "embedding_model_mismatch"
    status_code = 409


class StaticEmbeddingsNotDistilled(ApplicationError):
    """The static tier was asked for on an installation where its model was never distilled."""

    code = "static_embeddings_not_distilled"
    status_code = 400


class StaticTierRefusedForDrift(ApplicationError):
    """The static tier was asked for drift monitoring, which its measured error rates do not support."""

    code = "static_tier_refused_for_drift"
    status_code = 400


# benchmarks/static_tier.py on the error-rate suite's scenarios (docs/benchmarks-embeddings.md): the share of
# 2,000-record windows whose prompt alarm fires at alpha 0.01, per tier. The tier is offered for drift only if
# it detects within 2 points of the default model and no false-alarm rate exceeds 1.5%.
STATIC_TIER_MEASURED = {
    "default": {"new_topic_5pct": 0.94, "new_topic_10pct": 0.99, "worst_no_drift": 0.02},
    "static": {"new_topic_5pct": 0.56, "new_topic_10pct": 0.92, "worst_no_drift": 0.04},
    "windows": {"new_topic": 100, "no_drift_per_scenario": 100},
}
# 38 and 7 points fewer detections, and 4% false alarms on Zipf-popular traffic: refused for drift.
STATIC_TIER_OFFERED_FOR_DRIFT = False


def tier_model_key(tier: str) -> str:
    """Return the model key of an embedding tier on this installation; refuse a static tier not distilled here."""
    if tier != EmbeddingTier.STATIC:
        return embedding_model_key()
    key = static_model_key()
    if key is None:
        raise StaticEmbeddingsNotDistilled(
            "The static embedding tier needs its model, which has not been distilled on this installation: "
            "run `manage.py embeddings_distill_static` on the machines that embed traffic.",
            extra={"directory": str(static_model_dir())})
    return key


def policy_model_key(*, use_case: UseCase) -> str:
    """Return the model key of the tier the use case's policy selects (the default tier without a policy)."""
    tier = (MonitoringPolicy.objects.filter(use_case=use_case).values_list("embedding_tier", flat=True).first()
            or EmbeddingTier.DEFAULT)
    return tier_model_key(tier)


def _encoder_for(model_key: str) -> Encoder:
    configured = embedding_model_key()
    if configured == model_key:
        return get_encoder()
    if static_model_key() == model_key:
        return get_static_encoder()
    raise EmbeddingModelMismatch(
        f"Texts must be embedded with {model_key}, but this process is configured for {configured}"
        + (f" and a static model {static_model_key()}" if static_model_key() else "")
        + "; rebuild the baseline with a model this process has or configure the baseline's model.",
        extra={"wanted": model_key, "configured": configured, "static": static_model_key()})


def texts_embed_missing(*, items: Iterable[tuple[str, str]], model_key: str) -> int:
    """Embed the (digest, text) items that have no vector under the model yet; return how many were embedded."""
    text_of: dict[str, str] = {}
    for digest, text in items:
        text_of.setdefault(digest, text)
    stored = stored_digests(digests=text_of, model_key=model_key)
    # Similar lengths in one batch pad less: a batch costs as much as its longest text.
    missing = sorted((digest for digest in text_of if digest not in stored), key=lambda digest: len(text_of[digest]))
    if not missing:
        return 0
    encoder = _encoder_for(model_key)
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start:start + EMBED_BATCH]
        # The normalised text is what the digest names, so every spelling of a text gets the same vector.
        vectors = encoder.encode([normalise_text(text_of[digest]) for digest in batch])
        rows = [TextEmbedding(model_key=model_key, digest=digest, vector=vector_to_bytes(vector), dim=encoder.dim)
                for digest, vector in zip(batch, vectors, strict=True)]
        with transaction.atomic():
            # Two workers may embed the same new text at once; the unique (model_key, digest) keeps the first.
            TextEmbedding.objects.bulk_create(rows, ignore_conflicts=True)
    return len(missing)


def window_model_key(*, use_case: UseCase) -> str:
    """Return the model a use case's traffic is embedded with: its frozen baseline's, else its policy's tier's."""
    frozen = (Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN)
              .values_list("embedding_model", flat=True).first())
    return frozen or policy_model_key(use_case=use_case)


def window_embed(*, use_case: UseCase, start: datetime, end: datetime, sample_size: int | None = None) -> int:
    """Embed the distinct prompts and responses of a window's uniform sample; return how many were new."""
    if sample_size is None:
        policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
        sample_size = policy.sample_size if policy is not None else settings.DRIFTGATE_WINDOW_SAMPLE_SIZE
    records = window_sample(use_case=use_case, start=start, end=end, n=sample_size)
    items = [(record.prompt_digest, record.prompt) for record in records]
    items += [(record.response_digest, record.response) for record in records if record.response_digest]
    return texts_embed_missing(items=items, model_key=window_model_key(use_case=use_case))

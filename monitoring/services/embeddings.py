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
from monitoring.models import Baseline, BaselineStatus, MonitoringPolicy, TextEmbedding
from monitoring.selectors.embeddings import stored_digests
from monitoring.selectors.sampling import window_sample

# Texts encoded and inserted per step: a few seconds of work on two cores, so a time limit loses little.
EMBED_BATCH = 256


class EmbeddingModelMismatch(ApplicationError):
    """Vectors were asked for under a model other than the one this process is configured to load."""

    code = "embedding_model_mismatch"
    status_code = 409


def _encoder_for(model_key: str) -> Encoder:
    configured = embedding_model_key()
    if configured != model_key:
        raise EmbeddingModelMismatch(
            f"Texts must be embedded with {model_key}, but this process is configured for {configured}; "
            "rebuild the baseline with the configured model or configure the baseline's model.",
            extra={"wanted": model_key, "configured": configured})
    return get_encoder()


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
    """Return the model a use case's traffic is embedded with: its frozen baseline's, else the configured one."""
    frozen = (Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN)
              .values_list("embedding_model", flat=True).first())
    return frozen or embedding_model_key()


def window_embed(*, use_case: UseCase, start: datetime, end: datetime, sample_size: int | None = None) -> int:
    """Embed the distinct prompts and responses of a window's uniform sample; return how many were new."""
    if sample_size is None:
        policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
        sample_size = policy.sample_size if policy is not None else settings.DRIFTGATE_WINDOW_SAMPLE_SIZE
    records = window_sample(use_case=use_case, start=start, end=end, n=sample_size)
    items = [(record.prompt_digest, record.prompt) for record in records]
    items += [(record.response_digest, record.response) for record in records if record.response_digest]
    return texts_embed_missing(items=items, model_key=window_model_key(use_case=use_case))

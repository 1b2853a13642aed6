"""Building, freezing and replacing baselines: the frozen reference of normal traffic every drift run compares with.

A baseline is created (range checked, size checked), computed (sample embedded, clusters and vocabulary fitted,
arrays packed into one artifact with its SHA-256) and frozen (the previous frozen baseline becomes replaced).
Computing takes minutes and runs outside any transaction; each state change is one short, audited transaction.
"""
import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.errors import ApplicationError, Conflict, ValidationFailed
from governance.audit import audit_record
from governance.models import ModelVersion, ModelVersionStatus, Role, UseCase
from governance.permissions import require_role
from monitoring.drift import fit_clusters, fit_tfidf
from monitoring.embeddings import STORAGE_DTYPE
from monitoring.models import Baseline, BaselineStatus, TrafficRecord
from monitoring.selectors.baselines import ARTIFACT_ARRAYS
from monitoring.selectors.embeddings import EmbeddingsMissing, digest_groups, embeddings_for
from monitoring.selectors.sampling import window_sample
from monitoring.services.embeddings import policy_model_key, texts_embed_missing

logger = logging.getLogger(__name__)
# Called with one line per finished step of a computation; None reports to the log only.
Progress = Callable[[str], None] | None

MAX_BASELINE_RECORDS = 50_000
DEFAULT_BASELINE_DAYS = 30
BUILDER_ROLES = (Role.GOVERNANCE_OWNER, Role.PLATFORM_OWNER)
SCORE_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Namespace of the session advisory locks that keep two workers from computing the same baseline at once.
_COMPUTE_LOCK_CLASS = 0x62736C6E  # "bsln"


class BaselineTooSmall(ValidationFailed):
    """The range holds fewer records (or distinct texts) than a baseline needs."""

    code = "baseline_too_small"


def _require_builder(*, actor: Actor, use_case: UseCase) -> None:
    # Scheduled work and operators' management commands act as the system; people need an owner role.
    if actor.kind == ActorKind.SYSTEM:
        return
    require_role(actor=actor, use_case=use_case, roles=BUILDER_ROLES, action="build or freeze a baseline")


def _active_model_version(use_case: UseCase) -> ModelVersion | None:
    return ModelVersion.objects.filter(use_case=use_case, status=ModelVersionStatus.ACTIVE).first()


def _resolve_range(*, use_case: UseCase, start: datetime | None, end: datetime | None,
                   active: ModelVersion | None) -> tuple[datetime, datetime]:
    if start is None and end is not None:
        raise ValidationFailed("Give a start with the end, or neither.", code="invalid_range")
    if start is None:
        if active is None or active.activated_at is None:
            raise ValidationFailed(
                f"{use_case.slug!r} has no active model version with an activation time; give start and end.",
                code="no_active_model_version")
        start = active.activated_at
    end = end or start + timedelta(days=DEFAULT_BASELINE_DAYS)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationFailed("start and end need a time zone.", code="invalid_range")
    if start >= end:
        raise ValidationFailed("start must lie before end.", code="invalid_range",
                               extra={"start": start.isoformat(), "end": end.isoformat()})
    return start, end


def _baseline_view(baseline: Baseline) -> dict:
    return {"status": baseline.status, "start": baseline.start, "end": baseline.end, "n_records": baseline.n_records,
            "embedding_model": baseline.embedding_model, "artifact_sha256": baseline.artifact_sha256,
            "model_version": baseline.model_version.label if baseline.model_version else None,
            "frozen_at": baseline.frozen_at, "replaced_by": baseline.replaced_by_id}


def baseline_create(*, actor: Actor, use_case: UseCase, start: datetime | None = None, end: datetime | None = None,
                    sample_size: int = MAX_BASELINE_RECORDS, reason: str = "") -> Baseline:
    """Check the range and its size and record a baseline to be computed (status building)."""
    _require_builder(actor=actor, use_case=use_case)
    minimum = settings.DRIFTGATE_BASELINE_MIN_RECORDS
    if not minimum <= sample_size <= MAX_BASELINE_RECORDS:
        raise ValidationFailed(f"sample_size must lie between {minimum} and {MAX_BASELINE_RECORDS}.",
                               code="invalid_sample_size", extra={"minimum": minimum, "maximum": MAX_BASELINE_RECORDS})
    active = _active_model_version(use_case)
    start, end = _resolve_range(use_case=use_case, start=start, end=end, active=active)
    available = TrafficRecord.objects.filter(use_case=use_case, timestamp__gte=start, timestamp__lt=end).count()
    if available < minimum:
        raise BaselineTooSmall(
            f"{available} records between {start.isoformat()} and {end.isoformat()}; a baseline needs {minimum}.",
            extra={"available": available, "minimum": minimum})
    if Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN).exists() and not reason.strip():
        raise ValidationFailed("Replacing the frozen baseline needs a reason.", code="reason_required")
    # The policy's embedding tier picks the model; a static tier not distilled here is refused before anything.
    model_key = policy_model_key(use_case=use_case)
    with transaction.atomic():
        baseline = Baseline.objects.create(
            use_case=use_case, model_version=active, start=start, end=end, status=BaselineStatus.BUILDING,
            embedding_model=model_key, n_records=min(available, sample_size),
            created_by=actor.user if actor.kind == ActorKind.USER else None,
            summary={"requested_sample_size": sample_size, "records_in_range": available, "reason": reason.strip()})
        audit_record(actor=actor, action="baseline.created", obj=baseline, use_case=use_case,
                     after={**_baseline_view(baseline), "records_in_range": available, "sample_size": sample_size},
                     reason=reason.strip())
    return baseline


@contextmanager
def _compute_lock(baseline_id: int) -> Iterator[bool]:
    """Yield whether this process holds the baseline's compute lock (always true off PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield True
        return
    # A session lock, not a transaction lock: computing takes minutes and must not hold a transaction open.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_COMPUTE_LOCK_CLASS, baseline_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_COMPUTE_LOCK_CLASS, baseline_id])


def _value_stats(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"n": 0}
    quantiles = np.quantile(values, SCORE_QUANTILES)
    return {"n": int(len(values)), "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max()),
            "quantiles": {f"p{round(q * 100):02d}": float(v) for q, v in zip(SCORE_QUANTILES, quantiles, strict=True)}}


def _feedback_stats(feedback: np.ndarray) -> dict:
    if len(feedback) == 0:
        return {"n": 0}
    return {"n": int(len(feedback)), "positive_share": float(np.mean(feedback > 0))}


def _pack_artifact(arrays: dict[str, np.ndarray]) -> bytes:
    unknown = set(arrays) - set(ARTIFACT_ARRAYS)
    if unknown:
        raise ValueError(f"unknown artifact arrays: {sorted(unknown)}")
    buffer = io.BytesIO()
    # Uncompressed: float16 embeddings barely compress (72 of 77 MB for 50,000 records) and zlib took 40 s of
    # a freeze and seconds of every run's load on two busy cores.
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub matches **arrays against allow_pickle
    return buffer.getvalue()


def _fit_clusters_or_refuse(embeddings: np.ndarray, groups: np.ndarray, *, seed: int, what: str):
    try:
        return fit_clusters(embeddings, groups=groups, seed=seed)
    except ValueError as exc:
        raise BaselineTooSmall(f"The {what} of the baseline cannot be clustered: {exc}.",
                               extra={"distinct_texts": int(len(np.unique(groups)))}) from exc


def _compute(baseline: Baseline, progress: Progress) -> tuple[dict[str, np.ndarray], dict]:
    """Embed the baseline's sample and fit what the signals need; pure work, no writes besides embeddings."""
    started = time.monotonic()

    def step(message: str) -> None:
        logger.info("baseline %s: %s (%.1f s)", baseline.pk, message, time.monotonic() - started)
        if progress is not None:
            progress(f"{message} ({time.monotonic() - started:.1f} s)")

    sample_size = int(baseline.summary.get("requested_sample_size", MAX_BASELINE_RECORDS))
    records = list(window_sample(use_case=baseline.use_case, start=baseline.start, end=baseline.end, n=sample_size))
    minimum = settings.DRIFTGATE_BASELINE_MIN_RECORDS
    if len(records) < minimum:
        raise BaselineTooSmall(f"{len(records)} records in the range; a baseline needs {minimum}.",
                               extra={"available": len(records), "minimum": minimum})
    step(f"sampled {len(records)} records")
    key = baseline.embedding_model
    answered = [record for record in records if record.response_digest]
    prompt_digests = [record.prompt_digest for record in records]
    response_digests = [record.response_digest for record in answered]
    try:
        # Traffic is embedded as it arrives, so the vectors are usually all there: read them straight away
        # rather than first asking which of 100,000 digests exist (that check alone took a third of a freeze).
        prompt_embeddings = embeddings_for(digests=prompt_digests, model_key=key)
        response_embeddings = embeddings_for(digests=response_digests, model_key=key)
    except EmbeddingsMissing:
        step("embedding the texts that have no vector yet")
        texts_embed_missing(items=[(r.prompt_digest, r.prompt) for r in records]
                            + [(r.response_digest, r.response) for r in answered], model_key=key)
        prompt_embeddings = embeddings_for(digests=prompt_digests, model_key=key)
        response_embeddings = embeddings_for(digests=response_digests, model_key=key)
    prompt_groups = digest_groups(prompt_digests)
    response_groups = digest_groups(response_digests)
    scores = np.array([record.score for record in records if record.score is not None], dtype=np.float64)
    feedback = np.array([record.feedback for record in records if record.feedback is not None], dtype=np.int8)
    step(f"loaded {len(prompt_digests)} prompt and {len(response_digests)} response embeddings")

    seed = int(baseline.pk)
    prompt_clusters = _fit_clusters_or_refuse(prompt_embeddings, prompt_groups, seed=seed, what="prompts")
    step("clustered the prompts")
    response_clusters, response_note = None, ""
    try:
        response_clusters = fit_clusters(response_embeddings, groups=response_groups, seed=seed) if answered else None
    except ValueError as exc:
        # Some use cases post prompts only, or few distinct answers: response drift is then not monitored.
        response_note = str(exc)
    step("clustered the responses" if response_clusters is not None else "responses not clustered")
    tfidf = fit_tfidf([record.prompt for record in records])
    step("fitted the vocabulary")

    arrays = {"prompt_embeddings": prompt_embeddings.astype(STORAGE_DTYPE), "prompt_groups": prompt_groups,
              "scores": scores, "feedback": feedback}
    if response_clusters is not None:
        arrays["response_embeddings"] = response_embeddings.astype(STORAGE_DTYPE)
        arrays["response_groups"] = response_groups
    timestamps = [record.timestamp for record in records]
    summary = {
        **baseline.summary,
        "n": len(records),
        "n_responses": len(answered),
        "distinct_prompts": int(len(np.unique(prompt_groups))),
        "distinct_responses": int(len(np.unique(response_groups))),
        "observed_range": {"first": min(timestamps).isoformat(), "last": max(timestamps).isoformat()},
        "model_version": baseline.model_version.label if baseline.model_version else None,
        "embedding_model": key,
        "seed": seed,
        "score_stats": _value_stats(scores),
        "feedback_stats": _feedback_stats(feedback),
        "prompt_clusters": prompt_clusters.to_dict(),
        "response_clusters": response_clusters.to_dict() if response_clusters is not None else None,
        "response_clusters_skipped": response_note if answered else "no responses in the sample",
        "tfidf": tfidf,
    }
    return arrays, summary


def _mark_failed(*, actor: Actor, baseline: Baseline, error: ApplicationError) -> Baseline:
    with transaction.atomic():
        baseline = Baseline.objects.select_for_update().defer("artifact").get(pk=baseline.pk)
        if baseline.status != BaselineStatus.BUILDING:
            return baseline
        before = _baseline_view(baseline)
        baseline.status = BaselineStatus.FAILED
        baseline.summary = {**baseline.summary, "error": {"code": error.code, "message": error.message}}
        baseline.save(update_fields=["status", "summary"])
        audit_record(actor=actor, action="baseline.failed", obj=baseline, use_case=baseline.use_case,
                     before=before, after={**_baseline_view(baseline), "error": error.code}, reason=error.message)
    return baseline


def baseline_compute(*, actor: Actor, baseline: Baseline, progress: Progress = None) -> Baseline:
    """Embed the baseline's sample, fit clusters and vocabulary and store the artifact; a refusal marks it failed.

    `progress`, when given, is called with a line per finished step (the command prints them).
    """
    with _compute_lock(baseline.pk) as acquired:
        current = Baseline.objects.defer("artifact").select_related("use_case", "model_version").get(pk=baseline.pk)
        if not acquired or current.status != BaselineStatus.BUILDING or current.artifact_sha256:
            # Another worker is computing it, or it was finished by an earlier delivery of the same task.
            return current
        try:
            arrays, summary = _compute(current, progress)
        except ApplicationError as error:
            _mark_failed(actor=actor, baseline=current, error=error)
            raise
        artifact = _pack_artifact(arrays)
        sha256 = hashlib.sha256(artifact).hexdigest()
        with transaction.atomic():
            locked = Baseline.objects.select_for_update().defer("artifact").get(pk=current.pk)
            if locked.status != BaselineStatus.BUILDING:
                return locked
            before = _baseline_view(locked)
            locked.artifact = artifact
            locked.artifact_sha256 = sha256
            locked.summary = summary
            locked.n_records = summary["n"]
            locked.save(update_fields=["artifact", "artifact_sha256", "summary", "n_records"])
            audit_record(actor=actor, action="baseline.built", obj=locked, use_case=current.use_case, before=before,
                         after={**_baseline_view(locked), "artifact_bytes": len(artifact),
                                "distinct_prompts": summary["distinct_prompts"],
                                "score_stats": summary["score_stats"], "feedback_stats": summary["feedback_stats"]})
    logger.info("baseline %s of %s built: %s records, artifact %s bytes", current.pk, current.use_case.slug,
                summary["n"], len(artifact))
    return Baseline.objects.defer("artifact").get(pk=current.pk)


def baseline_build(*, actor: Actor, use_case: UseCase, start: datetime | None = None, end: datetime | None = None,
                   sample_size: int = MAX_BASELINE_RECORDS, reason: str = "", progress: Progress = None) -> Baseline:
    """Create and compute a baseline here, not yet frozen (default range: the active version's first 30 days)."""
    baseline = baseline_create(actor=actor, use_case=use_case, start=start, end=end, sample_size=sample_size,
                               reason=reason)
    return baseline_compute(actor=actor, baseline=baseline, progress=progress)


def baseline_freeze(*, actor: Actor, baseline: Baseline, reason: str = "") -> Baseline:
    """Make a computed baseline the use case's frozen reference; the previous frozen one becomes replaced."""
    reason = (reason or baseline.summary.get("reason", "")).strip()
    with transaction.atomic():
        # Lock order: the use case, then its baselines; every freeze of one use case queues on the first lock.
        use_case = UseCase.objects.select_for_update().get(pk=baseline.use_case_id)
        _require_builder(actor=actor, use_case=use_case)
        baseline = Baseline.objects.select_for_update().defer("artifact").get(pk=baseline.pk)
        if baseline.status == BaselineStatus.FROZEN:
            return baseline
        if baseline.status != BaselineStatus.BUILDING or not baseline.artifact_sha256:
            raise Conflict(f"Baseline {baseline.pk} is {baseline.status} and has no computed artifact to freeze.",
                           code="baseline_not_built", extra={"status": baseline.status})
        previous = (Baseline.objects.select_for_update().defer("artifact")
                    .filter(use_case=use_case, status=BaselineStatus.FROZEN).first())
        if previous is not None and not reason:
            raise ValidationFailed("Replacing the frozen baseline needs a reason.", code="reason_required")
        if previous is not None:
            before = _baseline_view(previous)
            previous.status = BaselineStatus.REPLACED
            previous.replaced_by = baseline
            previous.save(update_fields=["status", "replaced_by"])
            audit_record(actor=actor, action="baseline.replaced", obj=previous, use_case=use_case, before=before,
                         after=_baseline_view(previous), reason=reason)
        before = _baseline_view(baseline)
        baseline.status = BaselineStatus.FROZEN
        baseline.frozen_at = timezone.now()
        baseline.save(update_fields=["status", "frozen_at"])
        audit_record(actor=actor, action="baseline.frozen", obj=baseline, use_case=use_case, before=before,
                     after={**_baseline_view(baseline), "replaces": previous.pk if previous else None}, reason=reason)
    return baseline


def baseline_complete(*, actor: Actor, baseline: Baseline) -> Baseline:
    """Compute and freeze a created baseline (the queued half of a build request); a refusal leaves it failed."""
    try:
        baseline = baseline_compute(actor=actor, baseline=baseline)
        if baseline.status == BaselineStatus.BUILDING and baseline.artifact_sha256:
            baseline = baseline_freeze(actor=actor, baseline=baseline)
    except ApplicationError as error:
        logger.warning("baseline %s not completed: %s (%s)", baseline.pk, error.message, error.code)
        baseline = _mark_failed(actor=actor, baseline=baseline, error=error)
    return baseline

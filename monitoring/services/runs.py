"""Drift runs: one comparison of a traffic window with the frozen baseline, exactly once per (use case, window).

A run is claimed by inserting its row (the unique window constraint lets only one insert win) or, for a row a
dead worker left behind, by taking it over under a row lock. The statistics run outside any transaction, so no
lock is held for the seconds they take; the signals, the verdict and the alert are written in one transaction.
"""
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg.errors
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from driftgate.errors import ValidationFailed
from governance.models import UseCase
from monitoring.drift import Policy, WindowData, run_signals
from monitoring.models import (
    Baseline,
    BaselineStatus,
    CalibrationItem,
    CalibrationRating,
    DriftRun,
    DriftSignal,
    MonitoringPolicy,
    RunStatus,
    Severity,
)
from monitoring.selectors.baselines import load_baseline_data
from monitoring.selectors.embeddings import EmbeddingsMissing, digest_groups, embeddings_for
from monitoring.selectors.sampling import window_sample
from monitoring.services.alerts import alert_raise
from monitoring.services.embeddings import texts_embed_missing

logger = logging.getLogger(__name__)

FINISHED = (RunStatus.SUCCEEDED, RunStatus.SKIPPED)


def run_seed(*, use_case_id: int, window_start: datetime) -> int:
    """Return the run's default seed: the same window always gets the same random draws, so a rerun agrees."""
    material = f"{use_case_id}:{window_start.astimezone(UTC).isoformat()}".encode()
    # 31 bits: every numpy and scikit-learn random_state accepts it.
    return int.from_bytes(hashlib.sha256(material).digest()[:4], "big") & 0x7FFFFFFF


def json_safe(value: Any) -> Any:
    """Return the value with numpy scalars and arrays as Python values and NaN/infinity as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class _Claim:
    run: DriftRun
    owned: bool


def _claim(*, use_case: UseCase, window_start: datetime, window_end: datetime, seed: int) -> _Claim:
    """Insert or take over the window's run row; `owned` says whether this caller is to do the work."""
    try:
        with transaction.atomic():
            # The unique window constraint lets exactly one insert win: a second worker or a redelivered
            # message finds the row instead of creating a second run.
            run = DriftRun.objects.create(use_case=use_case, window_start=window_start, window_end=window_end,
                                          seed=seed, status=RunStatus.RUNNING, started_at=timezone.now())
        return _Claim(run=run, owned=True)
    except IntegrityError:
        pass
    try:
        with transaction.atomic():
            # NOWAIT: a worker holding the row is taking it over or finishing it right now; waiting would only
            # repeat its work.
            run = DriftRun.objects.select_for_update(nowait=True).get(
                use_case=use_case, window_start=window_start, window_end=window_end)
            if run.status in FINISHED:
                return _Claim(run=run, owned=False)
            now = timezone.now()
            if run.status == RunStatus.RUNNING:
                if now - run.started_at < timedelta(seconds=settings.DRIFTGATE_DRIFT_TIME_LIMIT):
                    return _Claim(run=run, owned=False)
                logger.warning("taking over drift run %s started at %s by a worker that is gone", run.pk,
                               run.started_at)
            # A failed run being retried, or a dead worker's run: claim it under a new start time.
            run.status = RunStatus.RUNNING
            run.seed = seed
            run.started_at = now
            run.error = ""
            run.save(update_fields=["status", "seed", "started_at", "error"])
            return _Claim(run=run, owned=True)
    except OperationalError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise
        run = DriftRun.objects.get(use_case=use_case, window_start=window_start, window_end=window_end)
        return _Claim(run=run, owned=False)


def _finish(*, run: DriftRun, claimed_at: datetime, status: str, started: float, n: int = 0,
            severity: str = "", error: str = "", signals: list | None = None,
            policy: MonitoringPolicy | None = None, baseline: Baseline | None = None) -> DriftRun:
    """Write the run's outcome in one transaction, unless another worker has taken the run over meanwhile."""
    with transaction.atomic():
        locked = DriftRun.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=run.pk)
        if locked.status != RunStatus.RUNNING or locked.started_at != claimed_at:
            logger.warning("drift run %s was taken over while it ran; keeping the other worker's result", run.pk)
            return locked
        locked.status = status
        locked.n = n
        locked.severity = severity
        locked.error = error[:5000]
        locked.baseline = baseline
        locked.finished_at = timezone.now()
        locked.duration_ms = int((time.monotonic() - started) * 1000)
        locked.save(update_fields=["status", "n", "severity", "error", "baseline", "finished_at", "duration_ms"])
        stored = DriftSignal.objects.bulk_create([
            DriftSignal(run=locked, name=result.name, statistic=float(result.statistic),
                        p_value=float(result.p_value),
                        p_adjusted=None if result.p_adjusted is None else float(result.p_adjusted),
                        effect_size=float(result.effect_size), effect_unit=result.effect_unit,
                        severity=result.severity, details=json_safe(result.details))
            for result in signals or []
        ])
        if severity in (Severity.REVIEW, Severity.STOP):
            alert_raise(run=locked, signals=stored, policy=policy)
    return locked


def _label_pairs(*, use_case: UseCase, window_start: datetime,
                 window_end: datetime) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (baseline rating, latest rating in the window) per calibration item re-rated in the window."""
    in_window = CalibrationRating.objects.filter(item=OuterRef("pk"), rated_at__gte=window_start,
                                                 rated_at__lt=window_end).order_by("-rated_at", "-id")
    rows = list(CalibrationItem.objects.filter(use_case=use_case)
                .annotate(latest=Subquery(in_window.values("rating")[:1]))
                .filter(latest__isnull=False).order_by("key").values_list("baseline_rating", "latest"))
    if not rows:
        return None
    before, after = zip(*rows, strict=True)
    return np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)


def _window_data(*, use_case: UseCase, records: list, model_key: str, window_start: datetime,
                 window_end: datetime, with_responses: bool) -> WindowData:
    """Embed what is missing and assemble the window's arrays for the statistics."""
    items = [(record.prompt_digest, record.prompt) for record in records]
    answered = [record for record in records if record.response_digest] if with_responses else []
    items += [(record.response_digest, record.response) for record in answered]
    prompt_digests = [record.prompt_digest for record in records]
    response_digests = [record.response_digest for record in answered]
    try:
        # Embedded on arrival, the window's vectors are normally all there: read them without first asking
        # which digests exist; only a window that is not ready pays for the check and the embedding.
        prompt_embeddings = embeddings_for(digests=prompt_digests, model_key=model_key)
        response_embeddings = embeddings_for(digests=response_digests, model_key=model_key) if answered else None
    except EmbeddingsMissing:
        texts_embed_missing(items=items, model_key=model_key)
        prompt_embeddings = embeddings_for(digests=prompt_digests, model_key=model_key)
        response_embeddings = embeddings_for(digests=response_digests, model_key=model_key) if answered else None
    scores = [record.score for record in records if record.score is not None]
    feedback = [record.feedback for record in records if record.feedback is not None]
    return WindowData(
        prompt_embeddings=prompt_embeddings,
        prompt_groups=digest_groups(prompt_digests),
        prompt_texts=[record.prompt for record in records],
        response_embeddings=response_embeddings,
        response_groups=digest_groups(response_digests) if answered else None,
        scores=np.asarray(scores, dtype=np.float64) if scores else None,
        feedback=np.asarray(feedback, dtype=np.float64) if feedback else None,
        label_pairs=_label_pairs(use_case=use_case, window_start=window_start, window_end=window_end),
    )


def drift_run_execute(*, use_case: UseCase, window_start: datetime, window_end: datetime,
                      seed: int | None = None) -> DriftRun:
    """Compare the window with the frozen baseline once; a finished or in-progress run is returned untouched."""
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValidationFailed("Window bounds need a time zone.", code="invalid_window")
    if window_end <= window_start:
        raise ValidationFailed("The window must end after it starts.", code="invalid_window",
                               extra={"start": window_start.isoformat(), "end": window_end.isoformat()})
    if seed is None:
        seed = run_seed(use_case_id=use_case.pk, window_start=window_start)
    claim = _claim(use_case=use_case, window_start=window_start, window_end=window_end, seed=seed)
    if not claim.owned:
        return claim.run
    run, claimed_at, started = claim.run, claim.run.started_at, time.monotonic()
    try:
        policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
        # Deferred: the artifact is tens of MB, and load_baseline_data fetches it only when its cache misses.
        baseline = Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN).defer("artifact").first()
        if baseline is None:
            return _finish(run=run, claimed_at=claimed_at, status=RunStatus.SKIPPED, started=started,
                           error="No frozen baseline to compare with.")
        sample_size = policy.sample_size if policy is not None else settings.DRIFTGATE_WINDOW_SAMPLE_SIZE
        records = list(window_sample(use_case=use_case, start=window_start, end=window_end, n=sample_size))
        if len(records) < settings.DRIFTGATE_RUN_MIN_RECORDS:
            return _finish(run=run, claimed_at=claimed_at, status=RunStatus.SKIPPED, started=started,
                           n=len(records), baseline=baseline,
                           error=f"Too few records: {len(records)} in the window, "
                                 f"{settings.DRIFTGATE_RUN_MIN_RECORDS} needed.")
        baseline_data = load_baseline_data(baseline)
        window = _window_data(use_case=use_case, records=records, model_key=baseline.embedding_model,
                              window_start=window_start, window_end=window_end,
                              with_responses=baseline_data.response_embeddings is not None)
        statistics_policy = Policy.from_dict(policy.config) if policy is not None else Policy()
        results, severity = run_signals(baseline_data, window, policy=statistics_policy, seed=seed)
    except Exception as exc:
        # Includes the soft time limit: a failed run may be claimed again by a retry or the next delivery.
        _fail_quietly(run=run, claimed_at=claimed_at, started=started, exc=exc)
        raise
    return _finish(run=run, claimed_at=claimed_at, status=RunStatus.SUCCEEDED, started=started, n=len(records),
                   severity=severity, signals=list(results), policy=policy, baseline=baseline)


def _fail_quietly(*, run: DriftRun, claimed_at: datetime, started: float, exc: Exception) -> None:
    """Mark the run failed; if the database itself is what failed, the stale-run takeover recovers it later."""
    try:
        _finish(run=run, claimed_at=claimed_at, status=RunStatus.FAILED, started=started,
                error=f"{type(exc).__name__}: {exc}")
    except DatabaseError:
        logger.exception("could not mark drift run %s failed", run.pk)

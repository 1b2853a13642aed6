"""Executing a probe run: call the endpoint for every item, grade, compare, and raise the behaviour signal.

The calls run outside any transaction (minutes of network I/O must not hold a lock) on a small thread pool
that never touches the database; the results, statistics, signals and alert are then written in one
transaction. A run is claimed under a row lock, so a redelivered message or a second worker finds it taken.
"""
import logging
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from governance.audit import audit_record
from monitoring.drift import Policy, assign_severity
from monitoring.embeddings import encode
from monitoring.models import (
    DriftRun,
    DriftSignal,
    EndpointTarget,
    GoldenItem,
    ModelEndpoint,
    MonitoringPolicy,
    ProbeOutcome,
    ProbePolicy,
    ProbeResult,
    ProbeRun,
    ProbeRunStatus,
    RunStatus,
    Severity,
)
from monitoring.probes.client import CallBudget, CallResult, EndpointConfig, chat
from monitoring.probes.graders import GraderKind, grade
from monitoring.probes.stats import (
    BASE_SIGNAL,
    BEHAVIOUR_SIGNAL,
    Verdict,
    behaviour_signal,
    compare_by_set,
    flaky_items,
    summarise,
)
from monitoring.selectors.probes import latest_succeeded
from monitoring.services.alerts import alert_raise
from monitoring.services.runs import json_safe

logger = logging.getLogger(__name__)
PROBE_SYSTEM = "model-probes"
FLAKY_HISTORY_RUNS = 5
FINISHED = (ProbeRunStatus.SUCCEEDED, ProbeRunStatus.FAILED)


class KeyUnavailable(Exception):
    """The endpoint's key source names a variable or file that is not there; the message never holds a key."""


def endpoint_key(endpoint: ModelEndpoint) -> str:
    """Read the endpoint's key from its environment variable or secret file; '' when it needs none."""
    if endpoint.key_env:
        value = os.environ.get(endpoint.key_env, "").strip()
        if not value:
            raise KeyUnavailable(f"the environment variable {endpoint.key_env} is not set")
        return value
    if endpoint.key_file:
        path = Path(settings.DRIFTGATE_SECRETS_DIR) / endpoint.key_file
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyUnavailable(f"the secret file {endpoint.key_file} cannot be read ({exc.strerror})") from None
        if not value:
            raise KeyUnavailable(f"the secret file {endpoint.key_file} is empty")
        return value
    return ""


def _claim(run_id: int) -> ProbeRun | None:
    """Mark the run running under a row lock; None when it is finished or another worker holds it."""
    with transaction.atomic():
        run = ProbeRun.objects.select_for_update().get(pk=run_id)
        now = timezone.now()
        if run.status in FINISHED:
            return None
        if run.status == ProbeRunStatus.RUNNING and run.started_at and \
                now - run.started_at < timedelta(seconds=settings.DRIFTGATE_PROBE_TIME_LIMIT):
            return None
        run.status, run.started_at, run.error = ProbeRunStatus.RUNNING, now, ""
        run.save(update_fields=["status", "started_at", "error"])
    return run


def _call_all(config: EndpointConfig, items: list[GoldenItem], *, seed: int, budget: CallBudget,
              concurrency: int) -> dict[int, CallResult]:
    """Call the endpoint for every item on a thread pool; the threads do network I/O only."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="probe") as pool:
        futures = {item.pk: pool.submit(chat, config, item.messages, seed=seed, budget=budget) for item in items}
        return {pk: future.result() for pk, future in futures.items()}


def _similarities(items: list[GoldenItem], calls: dict[int, CallResult]) -> dict[int, float]:
    """Cosine similarity of answer and reference for semantic items, embedded in one batch."""
    semantic = [item for item in items if item.grader == GraderKind.SEMANTIC and calls[item.pk].ok]
    if not semantic:
        return {}
    answers = encode([calls[item.pk].answer or " " for item in semantic])
    references = encode([item.reference for item in semantic])
    cosines = np.sum(answers * references, axis=1)
    return {item.pk: float(value) for item, value in zip(semantic, cosines, strict=True)}


def _storable(value):
    """Replace NUL characters, which PostgreSQL text and jsonb refuse, in what a remote endpoint sent."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _result_row(run: ProbeRun, item: GoldenItem, call: CallResult, similarity: float | None) -> ProbeResult:
    detail: dict = {}
    if not call.ok:
        outcome = ProbeOutcome.ERROR
    else:
        verdict = grade(kind=item.grader, config=item.grader_config, reference=item.reference,
                        answer=call.answer or "", similarity=similarity,
                        refused_by_filter=call.finish_reason == "content_filter")
        outcome, detail = (ProbeOutcome.PASSED if verdict.passed else ProbeOutcome.FAILED), verdict.detail
    return ProbeResult(run=run, item=item, outcome=outcome, answer=_storable(call.answer or ""),
                       finish_reason=_storable(call.finish_reason[:40]), error=call.error,
                       error_message=_storable(call.error_message[:500]), http_status=call.http_status,
                       attempts=call.attempts, latency_ms=call.latency_ms, prompt_tokens=call.prompt_tokens,
                       completion_tokens=call.completion_tokens, request=call.request,
                       response=_storable(json_safe(call.response)), grade_detail=_storable(json_safe(detail)))


def _verdicts(results) -> list[Verdict]:
    """Verdicts of stored results (rows with item, version and set loaded)."""
    return [Verdict(set_key=row.item.version.golden_set.key, category=row.item.category, digest=row.item.digest,
                    passed=None if row.outcome == ProbeOutcome.ERROR else row.outcome == ProbeOutcome.PASSED)
            for row in results]


def _stored_verdicts(run: ProbeRun) -> list[Verdict]:
    return _verdicts(run.results.select_related("item__version__golden_set"))


def _calls_summary(rows: list[ProbeResult], budget: CallBudget) -> dict:
    latencies = sorted(row.latency_ms for row in rows if row.latency_ms is not None and not row.error)
    def pct(q: float):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None
    return {"items": len(rows), "attempts": budget.used, "budget": budget.limit,
            "errors": dict(sorted(Counter(row.error for row in rows if row.error).items())),
            "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "max": latencies[-1] if latencies else None},
            "prompt_tokens": sum(row.prompt_tokens or 0 for row in rows),
            "completion_tokens": sum(row.completion_tokens or 0 for row in rows)}


def _comparison(reference: ProbeRun, verdicts: list[Verdict], *, exclude=()) -> tuple[dict, object]:
    compared = compare_by_set(_stored_verdicts(reference), verdicts, exclude=exclude)
    return {"run": reference.pk, "pooled": compared["pooled"].to_dict(), "sets": compared["sets"]}, compared["pooled"]


def _answer_history(run: ProbeRun) -> list[dict[str, str]]:
    """Answers by item digest of the endpoint's previous succeeded runs, newest first."""
    previous = (ProbeRun.objects.filter(model_version=run.model_version, target=run.target,
                                        status=ProbeRunStatus.SUCCEEDED)
                .order_by("-finished_at", "-id")[:FLAKY_HISTORY_RUNS - 1])
    return [dict(earlier.results.exclude(outcome=ProbeOutcome.ERROR).values_list("item__digest", "answer"))
            for earlier in previous]


def _flaky_named(rows: list[ProbeResult], digests: list[str]) -> list[dict]:
    names = {row.item.digest: {"set": row.item.version.golden_set.key, "key": row.item.key} for row in rows}
    return [names[digest] for digest in digests if digest in names]


def _signals(*, run: ProbeRun, now, comparisons: dict, pooled: dict) -> DriftRun | None:
    """Grade the behaviour signals under the use case's monitoring policy (Holm, tiers, caps) and store them."""
    signals = []
    if "previous" in pooled and pooled["previous"].paired:
        signals.append(behaviour_signal(BEHAVIOUR_SIGNAL, pooled["previous"],
                                        details={"compared_with_run": comparisons["previous"]["run"],
                                                 "sets": comparisons["previous"]["sets"]}))
    if "base" in pooled and pooled["base"].paired:
        signals.append(behaviour_signal(BASE_SIGNAL, pooled["base"],
                                        details={"compared_with_run": comparisons["base"]["run"],
                                                 "sets": comparisons["base"]["sets"]}))
    if not signals:
        return None
    monitoring_policy = MonitoringPolicy.objects.filter(use_case=run.use_case).first()
    statistics_policy = Policy.from_dict(monitoring_policy.config) if monitoring_policy is not None else Policy()
    results, severity = assign_severity(signals, statistics_policy)
    assert run.started_at is not None  # a run is graded after it started
    duration = int((now - run.started_at).total_seconds() * 1000)
    signal_run = DriftRun.objects.create(use_case=run.use_case, baseline=None, window_start=run.started_at,
                                         window_end=now, status=RunStatus.SUCCEEDED, n=max(s.details["paired"]
                                                                                          for s in results),
                                         severity=severity, seed=run.seed, started_at=run.started_at,
                                         finished_at=now, duration_ms=duration)
    stored = DriftSignal.objects.bulk_create([
        DriftSignal(run=signal_run, name=result.name, statistic=result.statistic, p_value=result.p_value,
                    p_adjusted=result.p_adjusted, effect_size=result.effect_size, effect_unit=result.effect_unit,
                    severity=result.severity, details=json_safe({**result.details, "probe_run": run.pk}))
        for result in results
    ])
    if severity in (Severity.REVIEW, Severity.STOP):
        alert_raise(run=signal_run, signals=stored, policy=monitoring_policy)
    return signal_run


def _finish(*, run: ProbeRun, claimed_at, items: list[GoldenItem], calls: dict[int, CallResult],
            similarities: dict[int, float], budget: CallBudget, policy: ProbePolicy) -> ProbeRun:
    """Store every result and the statistics, signals and alert in one transaction."""
    with transaction.atomic():
        locked = ProbeRun.objects.select_for_update(of=("self",)).select_related("use_case", "model_version").get(
            pk=run.pk)
        if locked.status != ProbeRunStatus.RUNNING or locked.started_at != claimed_at:
            logger.warning("probe run %s was taken over while it ran; keeping the other worker's result", run.pk)
            return locked
        rows = ProbeResult.objects.bulk_create([_result_row(locked, item, calls[item.pk], similarities.get(item.pk))
                                                for item in items])
        by_pk = {item.pk: item for item in items}
        for row in rows:
            row.item = by_pk[row.item_id]
        verdicts = _verdicts(rows)
        summary = summarise(verdicts)
        for version in locked.set_versions.select_related("golden_set"):
            summary["sets"].setdefault(version.golden_set.key, {})["version"] = version.number
        summary["calls"] = _calls_summary(rows, budget)
        now = timezone.now()
        comparisons, pooled = {}, {}
        history = _answer_history(locked)
        # Known-flaky items come from earlier runs only, so leaving them out cannot bias the test of this one.
        # They are left out against the previous run alone: against the base model an item that changed may be
        # the very regression the comparison is for.
        known_flaky = set(flaky_items(history))
        previous = latest_succeeded(model_version=locked.model_version, target=locked.target, before=now)
        if previous is not None:
            comparisons["previous"], pooled["previous"] = _comparison(previous, verdicts, exclude=known_flaky)
        if locked.target == EndpointTarget.MODEL:
            base = latest_succeeded(model_version=locked.model_version, target=EndpointTarget.BASE,
                                    since=now - timedelta(days=policy.max_age_days))
            if base is not None:
                comparisons["base"], pooled["base"] = _comparison(base, verdicts)
        graded = summary["overall"]["graded"]
        current = {row.item.digest: row.answer for row in rows if not row.error}
        locked.flaky_items = _flaky_named(rows, flaky_items([current, *history]))
        # Only the use case's own model raises alerts; the base model is a yardstick, not something governed here.
        if graded and locked.target == EndpointTarget.MODEL:
            locked.signal_run = _signals(run=locked, now=now, comparisons=comparisons, pooled=pooled)
        locked.status = ProbeRunStatus.SUCCEEDED if graded else ProbeRunStatus.FAILED
        locked.error = "" if graded else "No item was answered: " + ", ".join(
            f"{count} {kind}" for kind, count in summary["calls"]["errors"].items())
        locked.summary, locked.comparisons = json_safe(summary), json_safe(comparisons)
        locked.calls_made, locked.finished_at = budget.used, now
        locked.save(update_fields=["status", "error", "summary", "comparisons", "flaky_items", "calls_made",
                                   "finished_at", "signal_run"])
        audit_record(actor=Actor.system(PROBE_SYSTEM), action="probe_run.finished", obj=locked,
                     use_case=locked.use_case, after={
                         "status": locked.status, "model_version": locked.model_version.label,
                         "target": locked.target, "pass_rates": {key: row.get("pass_rate") for key, row
                                                                 in summary["sets"].items()},
                         "errors": summary["calls"]["errors"], "attempts": budget.used,
                         "severity": locked.signal_run.severity if locked.signal_run else None})
    return locked


def _fail(*, run: ProbeRun, claimed_at, message: str) -> ProbeRun:
    with transaction.atomic():
        locked = ProbeRun.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=run.pk)
        if locked.status != ProbeRunStatus.RUNNING or locked.started_at != claimed_at:
            return locked
        locked.status, locked.error, locked.finished_at = ProbeRunStatus.FAILED, message[:5000], timezone.now()
        locked.save(update_fields=["status", "error", "finished_at"])
        audit_record(actor=Actor.system(PROBE_SYSTEM), action="probe_run.finished", obj=locked,
                     use_case=locked.use_case, after={"status": locked.status, "error": locked.error})
    return locked


def probe_run_execute(*, run_id: int) -> ProbeRun:
    """Run a queued probe run once; a finished run, or one another worker holds, is returned untouched."""
    run = _claim(run_id)
    if run is None:
        return ProbeRun.objects.get(pk=run_id)
    claimed_at, started = run.started_at, time.monotonic()
    try:
        endpoint = ModelEndpoint.objects.filter(model_version_id=run.model_version_id, target=run.target).first()
        if endpoint is None:
            return _fail(run=run, claimed_at=claimed_at, message="The endpoint was removed before the run started.")
        try:
            key = endpoint_key(endpoint)
        except KeyUnavailable as exc:
            return _fail(run=run, claimed_at=claimed_at, message=f"No key for the endpoint: {exc}.")
        policy = ProbePolicy.objects.filter(use_case_id=run.use_case_id).first() or ProbePolicy(use_case=run.use_case)
        config = EndpointConfig(url=run.endpoint_url, model=run.endpoint_model, api_key=key,
                                timeout_s=policy.timeout_seconds, max_retries=policy.max_retries)
        items = list(GoldenItem.objects.filter(version__in=run.set_versions.all())
                     .select_related("version__golden_set").order_by("version__golden_set__key", "position"))
        budget = CallBudget(run.call_budget)
        calls = _call_all(config, items, seed=run.seed, budget=budget, concurrency=policy.concurrency)
        similarities = _similarities(items, calls)
        finished = _finish(run=run, claimed_at=claimed_at, items=items, calls=calls, similarities=similarities,
                           budget=budget, policy=policy)
    except Exception as exc:
        # The soft time limit included: the run is marked failed rather than left "running" for an hour.
        _fail(run=run, claimed_at=claimed_at, message=f"{type(exc).__name__}: {exc}")
        raise
    logger.info("probe run %s finished in %.1f s: %s", run_id, time.monotonic() - started, finished.status)
    return finished

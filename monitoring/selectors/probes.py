"""Reads of model probes: sets in scope, runs, results, and the facts a gate asks for."""
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.models import ModelVersion, ModelVersionStatus, UseCase
from governance.permissions import require_member, use_cases_visible_to
from monitoring.models import (
    EndpointTarget,
    GoldenSet,
    GoldenSetVersion,
    ModelEndpoint,
    ProbePolicy,
    ProbeRun,
    ProbeRunStatus,
)
from monitoring.probes.goldens import BUILTIN_KEYS

GENERAL_CAPABILITY = "general-capability"


def current_version(golden_set: GoldenSet) -> GoldenSetVersion | None:
    """The newest version of a set."""
    return golden_set.versions.order_by("-number").first()


def sets_in_scope(*, use_case: UseCase, policy: ProbePolicy | None) -> list[GoldenSet]:
    """The use case's own sets and the built-in sets its policy names (every built-in one by default)."""
    builtin_keys = list(policy.builtin_sets) if policy is not None and policy.pk else list(BUILTIN_KEYS)
    return list(GoldenSet.objects.filter(Q(use_case=use_case) | Q(use_case__isnull=True, key__in=builtin_keys))
                .order_by("use_case_id", "key"))


def golden_sets_for(*, use_case: UseCase) -> QuerySet[GoldenSet]:
    """The use case's own sets and every built-in set, with their versions."""
    return (GoldenSet.objects.filter(Q(use_case=use_case) | Q(use_case__isnull=True))
            .prefetch_related("versions").order_by("use_case_id", "key"))


def golden_set_get_visible(*, actor: Actor, golden_set_id: int) -> GoldenSet:
    """A set the actor may read: a built-in set, or one of a use case the actor is a member of."""
    golden_set = GoldenSet.objects.select_related("use_case").filter(pk=golden_set_id).first()
    owner = golden_set.use_case if golden_set is not None else None
    if owner is not None:
        if not use_cases_visible_to(actor).filter(pk=owner.pk).exists():
            golden_set = None
        else:
            require_member(actor=actor, use_case=owner)
    if golden_set is None:
        raise NotFound(f"Golden set {golden_set_id} does not exist or is not visible to you.",
                       code="golden_set_not_found")
    return golden_set


def probe_runs_for(*, use_case: UseCase, target: str | None = None,
                   model_version: ModelVersion | None = None) -> QuerySet[ProbeRun]:
    """The use case's probe runs, newest first."""
    queryset = ProbeRun.objects.filter(use_case=use_case).select_related("model_version", "use_case", "signal_run")
    if target:
        queryset = queryset.filter(target=target)
    if model_version is not None:
        queryset = queryset.filter(model_version=model_version)
    return queryset.order_by("-created_at", "-id")


def probe_run_get_visible(*, actor: Actor, run_id: int) -> ProbeRun:
    """A probe run of a use case the actor may read."""
    run = (ProbeRun.objects.select_related("use_case", "model_version", "signal_run")
           .filter(pk=run_id, use_case__in=use_cases_visible_to(actor)).first())
    if run is None:
        raise NotFound(f"Probe run {run_id} does not exist or is not visible to you.", code="probe_run_not_found")
    require_member(actor=actor, use_case=run.use_case)
    return run


def latest_succeeded(*, model_version: ModelVersion, target: str, before=None,
                     since=None) -> ProbeRun | None:
    """The newest succeeded run of a version's endpoint, optionally finished before or since a time."""
    queryset = ProbeRun.objects.filter(model_version=model_version, target=target, status=ProbeRunStatus.SUCCEEDED)
    if before is not None:
        queryset = queryset.filter(finished_at__lt=before)
    if since is not None:
        queryset = queryset.filter(finished_at__gte=since)
    return queryset.order_by("-finished_at", "-id").first()


def version_under_decision(use_case: UseCase) -> ModelVersion | None:
    """The model version gates judge: the newest candidate or active one."""
    return (ModelVersion.objects.filter(use_case=use_case,
                                        status__in=(ModelVersionStatus.CANDIDATE, ModelVersionStatus.ACTIVE))
            .order_by("-created_at", "-id").first())


def probe_facts(use_case: UseCase) -> dict:
    """What gates 2 and 3 ask of the probes, for the version under decision: recent runs, pass rates, base gap."""
    saved = ProbePolicy.objects.filter(use_case=use_case).first()
    policy = saved or ProbePolicy(use_case=use_case, builtin_sets=list(BUILTIN_KEYS))
    version = version_under_decision(use_case)
    facts: dict[str, Any] = {"configured": saved is not None, "enabled": policy.enabled, "pass_target": policy.pass_target, "max_age_days": policy.max_age_days,
             "gate_alpha": policy.gate_alpha, "model_version": None, "endpoint_registered": False,
             "base_endpoint_registered": False, "sets": [], "last_run": None, "base_comparison": None}
    if version is None:
        return facts
    targets = set(ModelEndpoint.objects.filter(model_version=version).values_list("target", flat=True))
    facts.update(model_version={"id": version.pk, "label": version.label},
                 endpoint_registered=EndpointTarget.MODEL in targets,
                 base_endpoint_registered=EndpointTarget.BASE in targets)
    since = timezone.now() - timedelta(days=policy.max_age_days)
    run = latest_succeeded(model_version=version, target=EndpointTarget.MODEL, since=since)
    ran = {}
    if run is not None:
        ran = {key: number for key, number in run.set_versions.values_list("golden_set__key", "number")}
        facts["last_run"] = {"id": run.pk, "finished_at": run.finished_at.isoformat() if run.finished_at else None}
        base = run.comparisons.get("base")
        if base:
            general = base.get("sets", {}).get(GENERAL_CAPABILITY)
            facts["base_comparison"] = {"base_run": base.get("run"), "set": GENERAL_CAPABILITY, **(general or {}),
                                        "compared": general is not None and general.get("paired", 0) > 0}
    for golden_set in sets_in_scope(use_case=use_case, policy=policy):
        latest = current_version(golden_set)
        row = run.summary.get("sets", {}).get(golden_set.key, {}) if run is not None else {}
        facts["sets"].append({"key": golden_set.key, "current_version": latest.number if latest else None,
                              "ran_version": ran.get(golden_set.key), "pass_rate": row.get("pass_rate"),
                              "graded": row.get("graded", 0), "errors": row.get("errors", 0)})
    return facts

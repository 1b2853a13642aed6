"""Golden sets and their versions, model endpoints, probe policies, and asking for a probe run.

Every change is audited by the service in its transaction. A golden set is validated as a whole before
anything is written: one bad item refuses the set and names every bad item, so nothing is half-saved.
"""
import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from driftgate.actors import Actor, ActorKind
from driftgate.errors import Conflict, NotFound, ValidationFailed
from governance.audit import audit_record
from governance.models import ModelVersion, Role, Stage, UseCase
from governance.permissions import require_role
from monitoring.models import (
    EndpointTarget,
    GoldenItem,
    GoldenSet,
    GoldenSetVersion,
    ModelEndpoint,
    ProbePolicy,
    ProbeRun,
    ProbeTrigger,
)
from monitoring.probes.goldens import (
    BUILTIN_KEYS,
    MAX_ITEMS,
    SLUG,
    GoldenItemsInvalid,
    TooManyItems,
    clean_items,
    content_sha256,
    load_builtin,
)
from monitoring.selectors.probes import current_version, sets_in_scope, version_under_decision

logger = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SET_EDITORS = (Role.PRODUCT_OWNER, Role.PLATFORM_OWNER)
ENDPOINT_EDITORS = (Role.PLATFORM_OWNER,)
POLICY_EDITORS = (Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
RUN_REQUESTERS = (Role.PRODUCT_OWNER, Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
PROBE_SYSTEM = "model-probes"
# Looked up when queued: the task module imports this one, as the report service does with its render task.
PROBE_TASK = "monitoring.tasks.probes.probe_run"
MAX_URL_LENGTH = 500
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def golden_items_validate(items: Any) -> list[dict]:
    """Return the items in stored form, or refuse the set naming every bad item (`invalid_golden_items`)."""
    try:
        return clean_items(items)
    except GoldenItemsInvalid as exc:
        raise ValidationFailed(str(exc), code="invalid_golden_items", extra={"errors": exc.errors}) from exc
    except TooManyItems as exc:
        raise ValidationFailed(str(exc), code="too_many_items", extra={"limit": MAX_ITEMS, "given": len(items)}) \
            from exc


def _write_version(*, golden_set: GoldenSet, cleaned: list[dict], actor: Actor, note: str) -> GoldenSetVersion:
    latest = golden_set.versions.order_by("-number").first()
    version = GoldenSetVersion.objects.create(golden_set=golden_set, number=(latest.number + 1) if latest else 1,
                                              content_sha256=content_sha256(cleaned), note=note[:500],
                                              created_by=actor.user)
    GoldenItem.objects.bulk_create([
        GoldenItem(version=version, position=position, key=item["key"], category=item["category"],
                   messages=item["messages"], reference=item["reference"], grader=item["grader"],
                   grader_config=item["config"], digest=item["digest"])
        for position, item in enumerate(cleaned)
    ])
    return version


def _version_view(version: GoldenSetVersion, items: int) -> dict:
    return {"golden_set": version.golden_set.key, "version": version.number, "items": items,
            "content_sha256": version.content_sha256, "note": version.note}


def golden_set_create(*, actor: Actor, use_case: UseCase, key: str, title: str, items: Any,
                      description: str = "", note: str = "") -> GoldenSetVersion:
    """Create a use case's golden set with its first version (product or platform owner)."""
    require_role(actor=actor, use_case=use_case, roles=SET_EDITORS, action="edit its golden sets")
    if not isinstance(key, str) or not SLUG.match(key):
        raise ValidationFailed("key must be a slug (lowercase letters, digits, - and _).", code="invalid_key")
    if key in BUILTIN_KEYS:
        raise ValidationFailed(f"{key!r} is the key of a built-in set.", code="reserved_key")
    if not isinstance(title, str) or not title.strip():
        raise ValidationFailed("A golden set needs a title.", code="title_required")
    cleaned = golden_items_validate(items)
    try:
        with transaction.atomic():
            golden_set = GoldenSet.objects.create(use_case=use_case, key=key, title=title.strip()[:200],
                                                  description=description or "")
            version = _write_version(golden_set=golden_set, cleaned=cleaned, actor=actor, note=note)
            audit_record(actor=actor, action="golden_set.created", obj=golden_set, use_case=use_case,
                         after={**_version_view(version, len(cleaned)), "title": golden_set.title})
    except IntegrityError as exc:
        raise Conflict(f"The use case already has a golden set {key!r}.", code="golden_set_exists",
                       extra={"key": key}) from exc
    return version


def golden_set_revise(*, actor: Actor, golden_set: GoldenSet, items: Any, note: str = "") -> GoldenSetVersion:
    """Save a new version of a use case's golden set; the old versions and their results stay as they were."""
    if golden_set.use_case is None:
        raise Conflict("Built-in sets change with the software, not through the API.", code="builtin_set_readonly")
    require_role(actor=actor, use_case=golden_set.use_case, roles=SET_EDITORS, action="edit its golden sets")
    cleaned = golden_items_validate(items)
    with transaction.atomic():
        locked = GoldenSet.objects.select_for_update().get(pk=golden_set.pk)
        latest = current_version(locked)
        if latest is not None and latest.content_sha256 == content_sha256(cleaned):
            raise Conflict("The items are the same as the current version.", code="golden_set_unchanged",
                           extra={"version": latest.number})
        version = _write_version(golden_set=locked, cleaned=cleaned, actor=actor, note=note)
        audit_record(actor=actor, action="golden_set.versioned", obj=locked, use_case=locked.use_case,
                     before=_version_view(latest, latest.items.count()) if latest else None,
                     after=_version_view(version, len(cleaned)))
    return version


def _builtin_sync_one(*, key: str, data: dict, actor: Actor) -> GoldenSetVersion:
    digest = content_sha256(data["items"])
    with transaction.atomic():
        golden_set, created = GoldenSet.objects.select_for_update().get_or_create(
            use_case=None, key=key, defaults={"title": data["title"], "description": data["description"],
                                              "builtin": True})
        latest = current_version(golden_set)
        if latest is not None and latest.content_sha256 == digest:
            return latest
        version = _write_version(golden_set=golden_set, cleaned=data["items"], actor=actor,
                                 note="shipped with Driftgate")
        audit_record(actor=actor, action="golden_set.created" if created else "golden_set.versioned",
                     obj=golden_set, after=_version_view(version, len(data["items"])))
    return version


def builtin_sets_sync() -> list[GoldenSetVersion]:
    """Bring the built-in sets up to the shipped data; a set whose data changed gets a new, audited version."""
    actor = Actor.system(PROBE_SYSTEM)
    versions = []
    for key in BUILTIN_KEYS:
        data = load_builtin(key)
        try:
            versions.append(_builtin_sync_one(key=key, data=data, actor=actor))
        except IntegrityError:
            # Another process wrote the same new version first; its row now holds the shipped data.
            versions.append(_builtin_sync_one(key=key, data=data, actor=actor))
    return versions


def _key_source_validate(*, key_env: str, key_file: str) -> None:
    if key_env and key_file:
        raise ValidationFailed("Name the key's environment variable or its secret file, not both.",
                               code="one_key_source")
    if key_env and not _ENV_NAME.match(key_env):
        raise ValidationFailed("key_env is the name of an environment variable (A-Z, 0-9, _), not the key.",
                               code="invalid_key_env")
    if key_file and not _FILE_NAME.match(key_file):
        raise ValidationFailed(f"key_file is a file name inside {settings.DRIFTGATE_SECRETS_DIR}, without a path.",
                               code="invalid_key_file")


def _endpoint_url_ok(url: Any) -> bool:
    """An http(s) URL with a host and no credentials in it (keys belong in the environment, not the URL)."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username and not parts.password


def endpoint_view(endpoint: ModelEndpoint) -> dict:
    """Return the audited fields of an endpoint (there is no key to leave out: only where it is kept)."""
    return {"model_version": endpoint.model_version_id, "target": endpoint.target, "url": endpoint.url,
            "model_name": endpoint.model_name, "key_env": endpoint.key_env, "key_file": endpoint.key_file}


def model_endpoint_set(*, actor: Actor, model_version: ModelVersion, target: str, url: str, model_name: str,
                       key_env: str = "", key_file: str = "") -> ModelEndpoint:
    """Register or replace the chat-completions endpoint of a model version or its base model (platform owner)."""
    require_role(actor=actor, use_case=model_version.use_case, roles=ENDPOINT_EDITORS, action="register endpoints")
    if target not in EndpointTarget.values:
        raise ValidationFailed(f"target must be one of {', '.join(EndpointTarget.values)}.", code="invalid_target")
    if not _endpoint_url_ok(url):
        raise ValidationFailed("url is an http(s) URL of a chat-completions endpoint, without credentials in it.",
                               code="invalid_endpoint_url")
    if not isinstance(model_name, str) or not model_name.strip() or len(model_name) > 200:
        raise ValidationFailed("model_name names the model the endpoint serves.", code="invalid_model_name")
    _key_source_validate(key_env=key_env or "", key_file=key_file or "")
    with transaction.atomic():
        endpoint = ModelEndpoint.objects.select_for_update().filter(model_version=model_version, target=target).first()
        before = endpoint_view(endpoint) if endpoint else None
        endpoint = endpoint or ModelEndpoint(model_version=model_version, target=target)
        endpoint.url, endpoint.model_name = url, model_name.strip()
        endpoint.key_env, endpoint.key_file, endpoint.updated_at = key_env or "", key_file or "", timezone.now()
        endpoint.save()
        audit_record(actor=actor, action="model_endpoint.set", obj=endpoint, use_case=model_version.use_case,
                     before=before, after=endpoint_view(endpoint))
    return endpoint


def probe_policy_defaults(*, use_case: UseCase) -> ProbePolicy:
    """An unsaved policy with the defaults: daily, every built-in set, base model included."""
    return ProbePolicy(use_case=use_case, builtin_sets=list(BUILTIN_KEYS))


def probe_policy_view(policy: ProbePolicy) -> dict:
    """Return the audited and API-visible fields of a probe policy."""
    fields = ("enabled", "interval_hours", "builtin_sets", "include_base", "pass_target", "max_age_days",
              "gate_alpha", "call_budget", "concurrency", "timeout_seconds", "max_retries")
    return {name: getattr(policy, name) for name in fields}


_POLICY_RULES: dict[str, tuple[type, float, float, str]] = {
    "interval_hours": (int, 1, 24 * 30, "whole hours from 1 to 720"),
    "pass_target": (float, 0, 1, "a pass rate from 0 to 1"),
    "max_age_days": (int, 1, 365, "whole days from 1 to 365"),
    "gate_alpha": (float, 0.0001, 0.5, "a significance level from 0.0001 to 0.5"),
    "call_budget": (int, 1, 100_000, "from 1 to 100000 calls"),
    "concurrency": (int, 1, 32, "from 1 to 32 parallel calls"),
    "timeout_seconds": (float, 0.1, 600, "from 0.1 to 600 seconds"),
    "max_retries": (int, 0, 10, "from 0 to 10"),
}


def probe_policy_configure(*, actor: Actor, use_case: UseCase, values: dict[str, Any]) -> ProbePolicy:
    """Create or change the use case's probe policy (platform or governance owner); unnamed fields keep their value."""
    require_role(actor=actor, use_case=use_case, roles=POLICY_EDITORS, action="configure its model probes")
    for name, value in values.items():
        if name in _POLICY_RULES:
            kind, low, high, text = _POLICY_RULES[name]
            number_ok = (not isinstance(value, bool) and isinstance(value, (int, float))
                         and (kind is float or float(value).is_integer()) and math.isfinite(value))
            if not number_ok or not low <= value <= high:
                raise ValidationFailed(f"{name} must be {text}.", code=f"invalid_{name}", extra={"value": value})
        elif name in ("enabled", "include_base"):
            if not isinstance(value, bool):
                raise ValidationFailed(f"{name} must be true or false.", code=f"invalid_{name}")
        elif name == "builtin_sets":
            if not isinstance(value, list) or any(key not in BUILTIN_KEYS for key in value):
                raise ValidationFailed(f"builtin_sets lists keys of built-in sets: {', '.join(BUILTIN_KEYS)}.",
                                       code="invalid_builtin_sets", extra={"valid": list(BUILTIN_KEYS)})
        else:
            raise ValidationFailed(f"unknown probe policy field {name!r}.", code="unknown_field")
    with transaction.atomic():
        policy = ProbePolicy.objects.select_for_update().filter(use_case=use_case).first()
        before = probe_policy_view(policy) if policy else None
        policy = policy or probe_policy_defaults(use_case=use_case)
        for name, value in values.items():
            setattr(policy, name, int(value) if _POLICY_RULES.get(name, (None,))[0] is int else value)
        policy.updated_at = timezone.now()
        policy.save()
        audit_record(actor=actor, action="probe_policy.configured", obj=policy, use_case=use_case, before=before,
                     after=probe_policy_view(policy))
    return policy


def probe_run_request(*, actor: Actor, use_case: UseCase, model_version: ModelVersion | None = None,
                      target: str = EndpointTarget.MODEL, trigger: str = ProbeTrigger.API,
                      scheduled_for=None) -> ProbeRun:
    """Queue a probe run of the use case's golden sets against an endpoint; the run itself happens in a task."""
    # The schedule and an operator's shell act as the system; people and tokens need a role on the use case.
    if actor.kind != ActorKind.SYSTEM:
        require_role(actor=actor, use_case=use_case, roles=RUN_REQUESTERS, action="run its model probes")
    if target not in EndpointTarget.values:
        raise ValidationFailed(f"target must be one of {', '.join(EndpointTarget.values)}.", code="invalid_target")
    model_version = model_version or version_under_decision(use_case)
    if model_version is None:
        raise NotFound("The use case has no candidate or active model version to probe.", code="no_model_version")
    if model_version.use_case_id != use_case.pk:
        raise NotFound("That model version belongs to another use case.", code="model_version_not_found")
    endpoint = ModelEndpoint.objects.filter(model_version=model_version, target=target).first()
    if endpoint is None:
        raise ValidationFailed(f"Model version {model_version.label!r} has no {target} endpoint registered.",
                               code="no_endpoint", extra={"model_version": model_version.pk, "target": target})
    builtin_sets_sync()
    policy = ProbePolicy.objects.filter(use_case=use_case).first() or probe_policy_defaults(use_case=use_case)
    current = [current_version(golden_set) for golden_set in sets_in_scope(use_case=use_case, policy=policy)]
    versions = [version for version in current if version is not None]
    if not versions:
        raise ValidationFailed("No golden set is in scope: add one or enable a built-in set.", code="no_golden_sets")
    try:
        with transaction.atomic():
            run = ProbeRun.objects.create(use_case=use_case, model_version=model_version, target=target,
                                          endpoint_url=endpoint.url, endpoint_model=endpoint.model_name,
                                          trigger=trigger, scheduled_for=scheduled_for,
                                          seed=settings.DRIFTGATE_PROBE_SEED, call_budget=policy.call_budget,
                                          requested_by=actor.user)
            run.set_versions.set(versions)
            audit_record(actor=actor, action="probe_run.requested", obj=run, use_case=use_case, after={
                "model_version": model_version.label, "target": target, "trigger": trigger,
                "sets": {version.golden_set.key: version.number for version in versions},
                "call_budget": run.call_budget})
            run_id = run.pk
            transaction.on_commit(lambda: import_string(PROBE_TASK).delay(run_id))
    except IntegrityError as exc:
        raise Conflict("This schedule slot already has a probe run.", code="probe_slot_taken") from exc
    return run


def schedule_slot(*, now: datetime, interval_hours: int) -> datetime:
    """The start of the schedule slot `now` falls in; slots of `interval_hours` tile time from the Unix epoch."""
    hours = int((now - _EPOCH).total_seconds() // 3600)
    return _EPOCH + timedelta(hours=hours - hours % interval_hours)


def probe_runs_schedule_due(*, now: datetime) -> list[ProbeRun]:
    """Queue this slot's run (and the base model's) for every use case probed on a schedule; once per slot."""
    actor = Actor.system(PROBE_SYSTEM)
    policies = {policy.use_case_id: policy for policy in ProbePolicy.objects.all()}
    # A use case with an endpoint but no saved policy is probed with the defaults: daily, base included.
    use_case_ids = set(ModelEndpoint.objects.values_list("model_version__use_case_id", flat=True)) | set(policies)
    queued = []
    for use_case in UseCase.objects.filter(pk__in=use_case_ids).exclude(stage=Stage.RETIRED).order_by("pk"):
        policy = policies.get(use_case.pk) or probe_policy_defaults(use_case=use_case)
        if not policy.enabled:
            continue
        version = version_under_decision(use_case)
        if version is None:
            continue
        slot = schedule_slot(now=now, interval_hours=policy.interval_hours)
        targets = [EndpointTarget.BASE, EndpointTarget.MODEL] if policy.include_base else [EndpointTarget.MODEL]
        for target in targets:
            if not ModelEndpoint.objects.filter(model_version=version, target=target).exists():
                continue
            if ProbeRun.objects.filter(model_version=version, target=target, scheduled_for=slot).exists():
                continue
            try:
                queued.append(probe_run_request(actor=actor, use_case=use_case, model_version=version,
                                                target=target, trigger=ProbeTrigger.SCHEDULE, scheduled_for=slot))
            except Conflict:
                # Another scheduler tick took the slot between the check and the insert.
                continue
            except ValidationFailed as exc:
                logger.warning("not probing %s (%s): %s", use_case.slug, target, exc.message)
    return queued

"""Per-use-case data protection: which personal data is redacted at ingest, and how long raw traffic is kept."""
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from governance.audit import audit_record
from governance.models import Role, UseCase
from governance.permissions import require_role
from monitoring.ingest.redaction import BUILTIN_KINDS, MAX_CUSTOM_PATTERNS, Redactor, compile_custom_pattern
from monitoring.models import DataProtectionPolicy

DATA_PROTECTION_EDITORS = (Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3660
# Compiled redactors per policy version; custom patterns are compiled once, not once per batch.
_REDACTORS: dict[tuple[int | None, Any], Redactor] = {}
_MAX_CACHED_REDACTORS = 256


def data_protection_defaults(*, use_case: UseCase) -> DataProtectionPolicy:
    """Return an unsaved policy with every built-in kind redacted and the configured default retention."""
    return DataProtectionPolicy(use_case=use_case, redact_kinds=list(BUILTIN_KINDS), custom_patterns=[],
                                retention_days=settings.DRIFTGATE_TRAFFIC_RETENTION_DAYS)


def data_protection_of(*, use_case: UseCase) -> DataProtectionPolicy:
    """Return the use case's policy, or the defaults while it has none."""
    policy = DataProtectionPolicy.objects.filter(use_case=use_case).first()
    return policy or data_protection_defaults(use_case=use_case)


def data_protection_view(policy: DataProtectionPolicy) -> dict[str, Any]:
    """Return the audited and API-visible fields of a policy."""
    return {"redact_kinds": list(policy.redact_kinds), "custom_patterns": list(policy.custom_patterns),
            "retention_days": policy.retention_days}


def retention_of(policy: DataProtectionPolicy) -> timedelta:
    """Return how long the policy keeps raw traffic."""
    return timedelta(days=policy.retention_days)


def redactor_for(policy: DataProtectionPolicy) -> Redactor:
    """Return the compiled redactor of a policy (cached per policy version)."""
    key = (policy.pk, policy.updated_at)
    redactor = _REDACTORS.get(key)
    if redactor is None:
        custom = [compile_custom_pattern(item["name"], item["pattern"]) for item in policy.custom_patterns]
        redactor = Redactor(kinds=policy.redact_kinds, custom=custom)
        if len(_REDACTORS) >= _MAX_CACHED_REDACTORS:
            _REDACTORS.clear()
        _REDACTORS[key] = redactor
    return redactor


def _validated_kinds(kinds: Any) -> list[str]:
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise ValidationFailed("redact_kinds must be a list of kind names.", code="invalid_redaction_kind",
                               extra={"field": "redact_kinds", "kinds": list(BUILTIN_KINDS)})
    unknown = sorted(set(kinds) - set(BUILTIN_KINDS))
    if unknown:
        raise ValidationFailed(f"Unknown redaction kinds: {', '.join(unknown)}.", code="invalid_redaction_kind",
                               extra={"field": "redact_kinds", "unknown": unknown, "kinds": list(BUILTIN_KINDS)})
    return [kind for kind in BUILTIN_KINDS if kind in set(kinds)]


def _validated_patterns(patterns: Any) -> list[dict[str, str]]:
    if not isinstance(patterns, list) or not all(isinstance(item, dict) for item in patterns):
        raise ValidationFailed('custom_patterns must be a list of {"name", "pattern"} objects.',
                               code="invalid_redaction_pattern", extra={"field": "custom_patterns"})
    if len(patterns) > MAX_CUSTOM_PATTERNS:
        raise ValidationFailed(f"At most {MAX_CUSTOM_PATTERNS} custom patterns.", code="invalid_redaction_pattern",
                               extra={"field": "custom_patterns"})
    cleaned: list[dict[str, str]] = []
    names: set[str] = set()
    for index, item in enumerate(patterns):
        name, pattern = item.get("name"), item.get("pattern")
        try:
            compile_custom_pattern(name, pattern)
        except ValueError as exc:
            raise ValidationFailed(str(exc), code="invalid_redaction_pattern",
                                   extra={"field": "custom_patterns", "index": index}) from None
        if name in names:
            raise ValidationFailed(f"Two custom patterns are named {name!r}.", code="invalid_redaction_pattern",
                                   extra={"field": "custom_patterns", "index": index})
        names.add(name)
        cleaned.append({"name": name, "pattern": pattern})
    return cleaned


def _validated_retention(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed(f"retention_days is a whole number from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}.",
                               code="invalid_retention", extra={"field": "retention_days"})
    return days


def data_protection_configure(*, actor: Actor, use_case: UseCase, redact_kinds: list[str],
                              custom_patterns: list[dict[str, str]], retention_days: int) -> DataProtectionPolicy:
    """Create or replace the use case's redaction and retention rules (platform or governance owner), audited."""
    require_role(actor=actor, use_case=use_case, roles=DATA_PROTECTION_EDITORS,
                 action="configure its data protection")
    kinds = _validated_kinds(redact_kinds)
    patterns = _validated_patterns(custom_patterns)
    days = _validated_retention(retention_days)
    with transaction.atomic():
        # The use case row lock serialises two editors, so `before` is the state the change replaced.
        UseCase.objects.select_for_update().filter(pk=use_case.pk).first()
        policy = DataProtectionPolicy.objects.filter(use_case=use_case).first()
        before = data_protection_view(policy) if policy is not None else None
        if policy is None:
            policy = DataProtectionPolicy(use_case=use_case)
        policy.redact_kinds = kinds
        policy.custom_patterns = patterns
        policy.retention_days = days
        policy.save()
        audit_record(actor=actor, action="data_protection.configured", obj=policy, use_case=use_case, before=before,
                     after=data_protection_view(policy))
    return policy

"""The CI status of a use case: may it ship to a stage, or must it stop? One answer with its reasons."""
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from driftgate.errors import ValidationFailed
from governance.facts import monitoring_facts
from governance.models import Decision, DecisionStatus, Gate, GateNumber, GateStatus, Stage, UseCase

# A stage a pipeline may require, with the gate whose approval leads to it.
REQUIRABLE_STAGES = {Stage.PRE_PRODUCTION.value: GateNumber.AFTER_PILOT,
                     Stage.PRODUCTION.value: GateNumber.BEFORE_PRODUCTION}
_STAGE_ORDER: list[str] = [Stage.PILOT, Stage.PRE_PRODUCTION, Stage.PRODUCTION]
_DECIDED = [GateStatus.APPROVED, GateStatus.REJECTED, GateStatus.EXPIRED]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _latest_gates(use_case: UseCase) -> dict[int, Gate]:
    """Return the newest row of each gate number; a re-opened gate supersedes its earlier passes."""
    final = Prefetch("decisions", queryset=Decision.objects.filter(status=DecisionStatus.FINAL), to_attr="final")
    gates = Gate.objects.filter(use_case=use_case).prefetch_related(final).order_by("number", "-opened_at", "-id")
    latest: dict[int, Gate] = {}
    for gate in gates:
        latest.setdefault(gate.number, gate)
    return latest


def _latest_decided(use_case: UseCase, number: int) -> Gate | None:
    return (Gate.objects.filter(use_case=use_case, number=number, status__in=_DECIDED)
            .order_by("-decided_at", "-opened_at", "-id").first())


def _gate_row(gate: Gate) -> dict:
    # `final` is a to_attr prefetch made by the caller's query.
    final = gate.final  # type: ignore[attr-defined]
    decision = final[-1] if final else None
    return {"number": gate.number, "status": gate.status, "decided_at": _iso(gate.decided_at),
            "expires_at": _iso(gate.expires_at), "outcome": decision.outcome if decision else None}


def _stage_reasons(use_case: UseCase, require: str) -> list[str]:
    reasons = []
    # A retired use case has its own reason; "not yet production" would mislead.
    if use_case.stage != Stage.RETIRED and _STAGE_ORDER.index(use_case.stage) < _STAGE_ORDER.index(require):
        reasons.append(f"The use case is in stage {use_case.stage}, not yet {require}.")
    number = REQUIRABLE_STAGES[require]
    leading = _latest_decided(use_case, number)
    if leading is None or leading.status != GateStatus.APPROVED:
        state = "has no decision yet" if leading is None else f"is {leading.status}"
        reasons.append(f"Gate {number}, which leads to {require}, is not approved: it {state}.")
    return reasons


def _certification_reasons(use_case: UseCase, now: datetime) -> list[str]:
    gate3 = _latest_decided(use_case, GateNumber.AFTER_ROLLOUT)
    if gate3 is None:
        return []  # Newly in production: gate 3 comes after the rollout, so its absence is not a failure.
    if gate3.status == GateStatus.EXPIRED or (gate3.status == GateStatus.APPROVED and gate3.expires_at is not None
                                              and gate3.expires_at < now):
        return [f"Gate 3 certification expired on {_iso(gate3.expires_at) or 'an earlier date'}; re-certify it."]
    if gate3.status == GateStatus.REJECTED:
        return ["Gate 3 (after rollout) was rejected: the stable operation in production is not confirmed."]
    return []


def use_case_status(*, use_case: UseCase, require: str | None, now: datetime | None = None) -> dict:
    """Return `{ok, stage, required, checked, halted, gates, drift, reasons}`; ok only when no rule fails.

    Without `require`, the use case's own stage is required (pre-production or production): a pipeline that asks
    "may it ship?" of a use case in production means "is it still fit for production?", its gates and
    certification included. `checked` names every rule applied, so an ok says what it covers.
    """
    if require is not None and require not in REQUIRABLE_STAGES:
        raise ValidationFailed(f"require must be one of {', '.join(REQUIRABLE_STAGES)}, not {require!r}.",
                               code="invalid_require", extra={"valid": list(REQUIRABLE_STAGES)})
    if require is None and use_case.stage in REQUIRABLE_STAGES:
        require = use_case.stage
    now = now or timezone.now()
    checked = ["not halted", "not retired", "no open stop alert"]
    reasons: list[str] = []
    if use_case.halted:
        halt_reason = use_case.halted_reason.strip().rstrip(".") or "no reason recorded"
        reasons.append(f"The use case is halted: {halt_reason}.")
    if use_case.stage == Stage.RETIRED:
        reasons.append("The use case is retired.")
    facts = monitoring_facts(use_case)
    if facts is not None and facts.open_stop_alerts > 0:
        count = facts.open_stop_alerts
        reasons.append(f"Monitoring has {count} open stop alert{'s' if count != 1 else ''}.")
    if require is not None:
        checked.append(f"stage {require} reached with gate {REQUIRABLE_STAGES[require]} approved")
        reasons.extend(_stage_reasons(use_case, require))
        if require == Stage.PRODUCTION:
            checked.append("gate 3 certification not expired or rejected")
            reasons.extend(_certification_reasons(use_case, now))
    return {
        "ok": not reasons,
        "stage": use_case.stage,
        "required": require,
        "checked": checked,
        "halted": use_case.halted,
        "gates": [_gate_row(gate) for gate in _latest_gates(use_case).values()],
        "drift": facts.as_dict() if facts is not None else {"configured": False},
        "reasons": reasons,
    }

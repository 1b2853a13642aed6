"""Automated gate criteria, evaluated live each time they are read or a decision is proposed or signed.

Each criterion is `{code, title, passed, reasons}`; `passed` is True, False, or None when it cannot be evaluated
(monitoring not configured). A go decision needs every applicable criterion to be True: None blocks too, because
an unknown is not evidence. A no-go never depends on them.
"""
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from governance.facts import monitoring_facts
from governance.models import (
    ChecklistItem,
    Direction,
    EffectGoal,
    Gate,
    GateStatus,
    ItemStatus,
    Membership,
    Obligation,
    ObligationStatus,
    Role,
)

DEFAULT_GATE1_MIN_EFFECT_GOALS = 3
GATE1_OWNER_ROLES = (Role.PRODUCT_OWNER, Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
# Listing every failing item would drown the reasons on a fresh gate; the gate view shows every item anyway.
_MAX_REASONS = 15


def _result(code: str, title: str, reasons: list[str], *, unknown: bool = False) -> dict:
    passed = None if unknown else not reasons
    if len(reasons) > _MAX_REASONS:
        reasons = [*reasons[:_MAX_REASONS], f"and {len(reasons) - _MAX_REASONS} more"]
    return {"code": code, "title": title, "passed": passed, "reasons": reasons}


def gate1_min_effect_goals() -> int:
    """Return how many effect goals gate 1 asks for (the seed's three, overridable in settings)."""
    return int(getattr(settings, "DRIFTGATE_GATE1_MIN_EFFECT_GOALS", DEFAULT_GATE1_MIN_EFFECT_GOALS))


def item_is_complete(item: ChecklistItem, live_evidence_count: int) -> bool:
    """Return whether an item counts as complete: done with evidence, or waived / not applicable with a reason."""
    if item.status == ItemStatus.DONE:
        return live_evidence_count > 0
    if item.status in (ItemStatus.WAIVED, ItemStatus.NOT_APPLICABLE):
        return bool(item.reason.strip())
    return False


def checklists_complete(gate: Gate) -> dict:
    """Every required item is done with evidence, or waived / not applicable with a reason."""
    items = (ChecklistItem.objects.filter(checklist__gate=gate, required=True)
             .select_related("checklist__template")
             .annotate(live_evidence=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
             .order_by("checklist__template__key", "position", "id"))
    reasons = []
    for item in items:
        if item_is_complete(item, item.live_evidence):
            continue
        state = "done but without evidence" if item.status == ItemStatus.DONE else item.status
        reasons.append(f"{item.checklist.template.key}/{item.key}: {state}")
    if not items:
        reasons.append("the gate has no required checklist items")
    return _result("checklists_complete", "Required checklist items complete", reasons)


def effect_goals_met(gate: Gate) -> dict:
    """Enough effect goals exist and the latest measurement of every one meets its target."""
    minimum = gate1_min_effect_goals() if gate.number == 1 else 1
    goals = list(EffectGoal.objects.filter(use_case_id=gate.use_case_id).prefetch_related("measurements"))
    reasons = []
    if len(goals) < minimum:
        reasons.append(f"{len(goals)} effect goal(s) defined, at least {minimum} needed")
    for goal in goals:
        latest = max(goal.measurements.all(), key=lambda m: (m.measured_at, m.pk), default=None)
        if latest is None:
            reasons.append(f"{goal.metric}: not measured")
        elif not goal.is_met_by(latest.value):
            bound = ">=" if goal.direction == Direction.AT_LEAST else "<="
            reasons.append(f"{goal.metric}: latest {latest.value:g} misses the target {bound} {goal.target:g}")
    return _result("effect_goals_met", "Effect goals met", reasons)


def owners_named(gate: Gate) -> dict:
    """The product, platform and governance owners are named on the use case."""
    held = set(Membership.objects.filter(use_case_id=gate.use_case_id).values_list("role", flat=True))
    reasons = [f"no {Role(role).label.lower()} named" for role in GATE1_OWNER_ROLES if role not in held]
    return _result("owners_named", "Owners named", reasons)


def no_overdue_obligations(gate: Gate) -> dict:
    """No open obligation of the use case is past its due date."""
    overdue = Obligation.objects.filter(use_case_id=gate.use_case_id, status=ObligationStatus.OPEN,
                                        due_date__lt=timezone.localdate()).order_by("due_date", "id")
    reasons = [f"obligation {o.pk} \"{o.title}\" overdue since {o.due_date.isoformat()}" for o in overdue]
    return _result("no_overdue_obligations", "No overdue obligations", reasons)


def previous_gate_approved(gate: Gate) -> dict:
    """The previous gate of the use case was approved."""
    previous = gate.number - 1
    approved = Gate.objects.filter(use_case_id=gate.use_case_id, number=previous, status=GateStatus.APPROVED).exists()
    reasons = [] if approved else [f"gate {previous} has not been approved"]
    return _result("previous_gate_approved", f"Gate {previous} approved", reasons)


def monitoring_ready(gate: Gate) -> dict:
    """Monitoring is set up: a policy (gate 2); also a frozen baseline and alerts under control (gate 3)."""
    title = "Monitoring ready"
    facts = monitoring_facts(gate.use_case)
    if facts is None:
        return _result("monitoring_ready", title, ["monitoring not configured"], unknown=True)
    reasons = []
    if not facts.policy_configured:
        reasons.append("no monitoring policy configured")
    if gate.number == 3:
        if not facts.baseline_frozen:
            reasons.append("no frozen baseline")
        if facts.open_stop_alerts:
            reasons.append(f"{facts.open_stop_alerts} open stop alert(s)")
        if facts.untriaged_review_alerts_overdue:
            reasons.append(f"{facts.untriaged_review_alerts_overdue} review alert(s) not triaged in time")
    return _result("monitoring_ready", title, reasons)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def model_probes_passed(gate: Gate) -> dict:
    """The golden sets ran on the version under decision recently, met the pass target, and general capability
    did not regress significantly against the base model."""
    title = "Model probes passed"
    facts = monitoring_facts(gate.use_case)
    probes = facts.probes if facts is not None else None
    if probes is None:
        return _result("model_probes_passed", title, ["model probes not configured"], unknown=True)
    version = probes["model_version"]
    if version is None:
        return _result("model_probes_passed", title, ["no candidate or active model version"])
    label = version["label"]
    if not probes["endpoint_registered"]:
        return _result("model_probes_passed", title, [f"model version {label} has no registered endpoint"])
    days = probes["max_age_days"]
    if probes["last_run"] is None:
        return _result("model_probes_passed", title,
                       [f"the golden sets have not run on {label} in the last {days} day(s)"])
    reasons = []
    target = probes["pass_target"]
    for row in probes["sets"]:
        name = f"{row['key']} v{row['current_version']}"
        if row["ran_version"] != row["current_version"]:
            ran = f"v{row['ran_version']}" if row["ran_version"] else "not at all"
            reasons.append(f"{name} has not run on {label} since it changed (last run: {ran})")
        elif not row["graded"]:
            reasons.append(f"{name}: no item was answered ({row['errors']} failed call(s))")
        elif row["pass_rate"] < target:
            reasons.append(f"{name}: pass rate {_percent(row['pass_rate'])} below the target {_percent(target)}")
    base = probes["base_comparison"]
    if not probes["base_endpoint_registered"]:
        reasons.append(f"model version {label} has no base-model endpoint to compare general capability with")
    elif base is None or not base.get("compared"):
        reasons.append(f"no base-model run in the last {days} day(s) to compare general capability with")
    elif base["p_value"] < probes["gate_alpha"]:
        reasons.append(f"general capability regressed against the base model: {_percent(base['drop'])} drop in "
                       f"pass rate ({base['lost']} items lost, {base['gained']} gained), McNemar p = "
                       f"{base['p_value']:.2g} < {probes['gate_alpha']:g}")
    return _result("model_probes_passed", title, reasons)


CRITERIA_BY_GATE = {
    1: (checklists_complete, effect_goals_met, owners_named, no_overdue_obligations),
    2: (checklists_complete, previous_gate_approved, monitoring_ready, model_probes_passed, no_overdue_obligations),
    3: (checklists_complete, effect_goals_met, previous_gate_approved, monitoring_ready, model_probes_passed,
        no_overdue_obligations),
}


def gate_criteria(gate: Gate) -> list[dict]:
    """Evaluate every criterion that applies to the gate's number."""
    return [criterion(gate) for criterion in CRITERIA_BY_GATE[gate.number]]


def failing_criteria(results: list[dict]) -> list[dict]:
    """Return the criteria that are not passed (False or unknown)."""
    return [result for result in results if result["passed"] is not True]

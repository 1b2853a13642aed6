"""The pages' names for stored choices (stage, role, status...), translated; models and the API keep English codes.

Stored text (a signature's meaning, audit events, report data) must not depend on the reader's language, so the
models' choice labels stay plain English and the pages translate here, by code.
"""
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from governance.models import (
    AdapterMethod,
    Approach,
    Automation,
    DecisionOutcome,
    DecisionStatus,
    Direction,
    GateStatus,
    ItemStatus,
    ModelVersionStatus,
    ObligationStatus,
    RegulatoryScope,
    RiskTier,
    Role,
    Stage,
)

LABELS: dict[str, dict] = {
    "stage": {Stage.PILOT: _("Pilot"), Stage.PRE_PRODUCTION: _("Pre-production"), Stage.PRODUCTION: _("Production"),
              Stage.RETIRED: _("Retired")},
    "role": {Role.PRODUCT_OWNER: _("Product owner"), Role.PLATFORM_OWNER: _("Platform owner"),
             Role.GOVERNANCE_OWNER: _("Governance owner"), Role.REVIEWER: _("Reviewer"), Role.VIEWER: _("Viewer")},
    "gate_status": {GateStatus.OPEN: pgettext_lazy("gate", "Open"), GateStatus.IN_REVIEW: _("Decision requested"),
                    GateStatus.APPROVED: _("Approved"), GateStatus.REJECTED: _("Rejected"),
                    GateStatus.EXPIRED: _("Expired")},
    "item_status": {ItemStatus.OPEN: pgettext_lazy("item", "Open"), ItemStatus.DONE: _("Done"),
                    ItemStatus.WAIVED: _("Waived"), ItemStatus.NOT_APPLICABLE: _("Not applicable")},
    "outcome": {DecisionOutcome.GO: _("Go"), DecisionOutcome.NO_GO: _("No-go"),
                DecisionOutcome.GO_WITH_CONDITIONS: _("Go with conditions")},
    "decision_status": {DecisionStatus.PENDING: _("Awaiting signatures"), DecisionStatus.FINAL: _("Final"),
                        DecisionStatus.WITHDRAWN: _("Withdrawn")},
    "obligation_status": {ObligationStatus.OPEN: pgettext_lazy("obligation", "Open"),
                          ObligationStatus.FULFILLED: _("Fulfilled"), ObligationStatus.WAIVED: _("Waived")},
    "automation": {Automation.NONE: _("Not done"), Automation.MANUAL: _("Manual, documented"),
                   Automation.AUTOMATED: _("Automated, repeated")},
    "risk_tier": {RiskTier.PROHIBITED: _("Prohibited (Art. 5)"), RiskTier.HIGH: _("High risk (Art. 6, Annex III)"),
                  RiskTier.LIMITED: _("Limited risk (transparency, Art. 50)"), RiskTier.MINIMAL: _("Minimal risk")},
    "approach": {Approach.FINE_TUNING: _("Fine-tuning"), Approach.RAG: _("Retrieval-augmented generation"),
                 Approach.HYBRID: _("Hybrid (fine-tuning and RAG)"), Approach.PROMPTING: _("Prompting")},
    "direction": {Direction.AT_LEAST: _("At least the target"), Direction.AT_MOST: _("At most the target")},
    "model_status": {ModelVersionStatus.CANDIDATE: _("Candidate"), ModelVersionStatus.ACTIVE: _("Active"),
                     ModelVersionStatus.ROLLED_BACK: _("Rolled back"), ModelVersionStatus.RETIRED: _("Retired")},
    "adapter": {AdapterMethod.NONE: _("None (base model)"), AdapterMethod.FULL: _("Full fine-tuning"),
                AdapterMethod.LORA: _("LoRA"), AdapterMethod.QLORA: _("QLoRA"),
                AdapterMethod.PROMPT: _("Prompt / system prompt"), AdapterMethod.OTHER: _("Other")},
    # Rule sets keep their official names; only the wording around them is translated.
    "scope": {scope.value: scope.label for scope in RegulatoryScope},
}
CRITERIA = {"checklists_complete": _("Required checklist items complete"), "effect_goals_met": _("Effect goals met"),
            "owners_named": _("Owners named"), "no_overdue_obligations": _("No overdue obligations"),
            "previous_gate_approved": _("Previous gate approved"), "monitoring_ready": _("Monitoring ready")}
GATE_TITLES = {1: _("Gate 1: after pilot"), 2: _("Gate 2: before production"), 3: _("Gate 3: after rollout")}


def label(kind: str, value) -> str:
    """Return the page's name for a stored choice, or the code itself when it has none."""
    return str(LABELS.get(kind, {}).get(value, value))


def choices(kind: str) -> list[tuple[str, str]]:
    """Return a choice field's options with the page's names, in the model's order."""
    return list(LABELS[kind].items())

"""Governance models, split by sub-domain."""
from governance.models.audit import AuditCheckpoint, AuditEvent
from governance.models.checklists import (
    Automation,
    Checklist,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Evidence,
    ItemStatus,
)
from governance.models.gates import (
    Decision,
    DecisionOutcome,
    DecisionStatus,
    Gate,
    GateNumber,
    GateStatus,
    Obligation,
    ObligationStatus,
    Signature,
    SignatureMethod,
)
from governance.models.inventory import (
    AdapterMethod,
    Approach,
    Direction,
    EffectGoal,
    EffectMeasurement,
    Membership,
    ModelVersion,
    ModelVersionStatus,
    RegulatoryScope,
    RiskTier,
    Role,
    Stage,
    UseCase,
)
from governance.models.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    Webhook,
    WebhookAttempt,
)
from governance.models.organisation import OrganisationRole, OrganisationRoleKind

__all__ = [
    "AdapterMethod", "Approach", "AuditCheckpoint", "AuditEvent", "Automation", "Checklist", "ChecklistItem",
    "ChecklistKind", "ChecklistTemplate", "ChecklistTemplateItem", "Decision", "DecisionOutcome", "DecisionStatus", "Direction",
    "EffectGoal", "EffectMeasurement", "Evidence", "Gate", "GateNumber", "GateStatus", "ItemStatus", "Membership",
    "ModelVersion", "ModelVersionStatus", "Obligation", "ObligationStatus", "OrganisationRole", "OrganisationRoleKind",
    "RegulatoryScope", "RiskTier", "Role", "Signature", "SignatureMethod", "Stage", "UseCase",
    "Channel", "DeliveryStatus", "Notification", "NotificationDelivery", "NotificationEvent", "NotificationPreference",
    "Webhook", "WebhookAttempt",
]

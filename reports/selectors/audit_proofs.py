"""The audit events a report cites, and the signed checkpoint and inclusion proofs it embeds for them."""
from governance.auditlog.checkpoints import audit_proof_bundle
from governance.models import AuditEvent, UseCase
from reports.selectors.common import Period


def cited_sequences(*, data: dict, use_case: UseCase, period: Period | None) -> list[int]:
    """Return the sequences of the events a report cites: those it lists, else the use case's in its period."""
    if data.get("audit_events") is not None:
        return [event["sequence"] for event in data["audit_events"]]
    events = AuditEvent.objects.filter(use_case=use_case)
    if period is not None:
        events = events.filter(created_at__gte=period.start, created_at__lt=period.end)
    return list(events.order_by("sequence").values_list("sequence", flat=True))


def audit_proofs(*, data: dict, use_case: UseCase, period: Period | None) -> dict:
    """Return the checkpoint (signed now if none covers the cited events) and each cited event's proof."""
    return audit_proof_bundle(sequences=cited_sequences(data=data, use_case=use_case, period=period)).as_dict()

"""Pieces every report shares: the period, the inventory entry, names of people, and the rule texts cited."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser

from governance.models import (
    Approach,
    Membership,
    Obligation,
    ObligationStatus,
    RegulatoryScope,
    RiskTier,
    Stage,
    UseCase,
)

# A report of more than about a year and a month would either cover several yearly reviews at once or take
# minutes to render; the API refuses it and asks for two reports instead.
MAX_PERIOD_DAYS = 400
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) a report covers."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """Return the period as printed in the running header and on the cover."""
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"

    @property
    def days(self) -> float:
        """Return the length of the period in days."""
        return (self.end - self.start) / timedelta(days=1)

    def as_dict(self) -> dict:
        """Return the period for the embedded data."""
        return {"start": self.start, "end": self.end}


def person(user: AbstractBaseUser | None) -> str:
    """Return how a person is printed: full name and username, or an em dash for nobody."""
    if user is None:
        return "—"
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


def choice_label(choices: type, value: str | int) -> str | int:
    """Return the human label of a TextChoices value, or the value itself for one no longer in the enum."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def inventory_data(use_case: UseCase) -> dict:
    """Return the use case's inventory entry (GOVERN 1.6) with who holds which role."""
    memberships = Membership.objects.filter(use_case=use_case).select_related("user").order_by("role", "user__username")
    return {
        "slug": use_case.slug,
        "name": use_case.name,
        "purpose": use_case.purpose,
        "approach": choice_label(Approach, use_case.approach),
        "base_model": use_case.base_model,
        "risk_tier": choice_label(RiskTier, use_case.risk_tier),
        "regulatory_scopes": [choice_label(RegulatoryScope, scope) for scope in use_case.regulatory_scopes or []],
        "stage": choice_label(Stage, use_case.stage),
        "halted": use_case.halted,
        "halted_reason": use_case.halted_reason,
        "halted_at": use_case.halted_at,
        "created_at": use_case.created_at,
        "members": [{"person": person(m.user), "role": m.role} for m in memberships],
    }


def obligation_row(obligation: Obligation, *, today) -> dict:
    """Return one obligation with its owner and whether it is overdue."""
    return {
        "id": obligation.pk,
        "title": obligation.title,
        "description": obligation.description,
        "owner": person(obligation.owner),
        "due_date": obligation.due_date,
        "status": obligation.status,
        "overdue": obligation.is_overdue(today),
        "resolution": obligation.resolution,
        "decision_id": obligation.decision_id,
        "created_at": obligation.created_at,
        "closed_at": obligation.closed_at,
    }


def open_obligations(use_case: UseCase, *, today) -> list[dict]:
    """Return the use case's open obligations, earliest due first."""
    queryset = (Obligation.objects.filter(use_case=use_case, status=ObligationStatus.OPEN)
                .select_related("owner").order_by("due_date", "id"))
    return [obligation_row(obligation, today=today) for obligation in queryset]


# What each rule text asks of this report, as summarised in the project's reference notes. The reports cite these
# texts; they do not add obligations of their own.
RULE_TEXTS = {
    "eu_ai_act_art_72": {
        "scope": RegulatoryScope.EU_AI_ACT,
        "title": "EU AI Act (Reg. 2024/1689), Art. 72 — post-market monitoring",
        "text": "Providers of high-risk AI systems establish a post-market monitoring plan that actively and "
                "systematically collects, documents and analyses performance data over the system's lifetime.",
    },
    "eu_ai_act_art_73": {
        "scope": RegulatoryScope.EU_AI_ACT,
        "title": "EU AI Act (Reg. 2024/1689), Art. 73 — reporting of serious incidents",
        "text": "A serious incident is reported immediately after the provider becomes aware of it and at the "
                "latest within 15 days; within 10 days in the event of a death; within 2 days for a widespread "
                "infringement or a serious disruption of critical infrastructure.",
    },
    "sr_11_7": {
        "scope": RegulatoryScope.SR_11_7,
        "title": "SR 11-7 (Federal Reserve / OCC) — ongoing monitoring",
        "text": "Ongoing monitoring confirms that the model is appropriately implemented and performing as "
                "intended (process verification, benchmarking, outcomes analysis); models are reviewed at least "
                "yearly.",
    },
    "nydfs_cl7": {
        "scope": RegulatoryScope.NYDFS_CL7,
        "title": "NYDFS Insurance Circular Letter No. 7 (2024) — AI in underwriting and pricing (insurers)",
        "text": "Insurers using AI systems maintain governance, documentation, testing for unfair discrimination "
                "and ongoing monitoring. No NYDFS text sets a numeric performance-loss trigger.",
    },
    "part_11": {
        "scope": RegulatoryScope.PART_11,
        "title": "21 CFR Part 11 — §11.10(e) audit trails, §11.50 signature manifestations, §11.70 linking",
        "text": "Secure, computer-generated, time-stamped audit trails that do not obscure earlier values; signed "
                "records show the printed name, date and time, and meaning of each signature, and signatures "
                "are linked to their records.",
    },
    "eu_ai_act_art_12": {
        "scope": RegulatoryScope.EU_AI_ACT,
        "title": "EU AI Act (Reg. 2024/1689), Art. 12 — record-keeping",
        "text": "High-risk AI systems allow the automatic recording of events over their lifetime, able to reveal "
                "risks and substantial modifications and to support post-market monitoring.",
    },
}


def rule_texts(keys: list[str], *, use_case: UseCase) -> list[dict]:
    """Return the cited rule texts, each marked as in or outside the use case's declared regulatory scope."""
    scopes = set(use_case.regulatory_scopes or [])
    return [{"key": key, "title": RULE_TEXTS[key]["title"], "text": RULE_TEXTS[key]["text"],
             "in_scope": str(RULE_TEXTS[key]["scope"]) in scopes} for key in keys]

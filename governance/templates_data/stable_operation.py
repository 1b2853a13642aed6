"""Gate 3 "stable operation": the effect holds in production and deviations are under control."""

STABLE_OPERATION = {
    "key": "stable-operation",
    "title": "Stable operation",
    "description": "Gate 3 asks whether the effect is stable in operation and deviations and improvements are "
                   "under control.",
    "kind": "dod",
    "gate_numbers": [3],
    "version": 1,
    "items": [
        {"key": "stable-effect", "section": "Effect", "owner_role": "product_owner", "required": True,
         "text": "The effect goals still hold in operation: the latest production measurements meet their targets.",
         "guidance": "Record the measurements on the effect goals; they are part of the signed content."},
        {"key": "baseline-frozen", "section": "Monitoring", "owner_role": "platform_owner", "required": True,
         "text": "The monitoring baseline from the first weeks in production is frozen and drift runs compare "
                 "against it.",
         "guidance": "The material-degradation rule is measured against this baseline."},
        {"key": "deviations-under-control", "section": "Monitoring", "owner_role": "platform_owner",
         "required": True,
         "text": "Deviations are under control: every alert since rollout has a triage outcome and a resolution.",
         "guidance": "On an alert, check first for a legitimate behaviour change, then for harmful answers."},
        {"key": "review-alerts-triaged", "section": "Monitoring", "owner_role": "platform_owner", "required": True,
         "text": "Review alerts are triaged within the deadline by a named team.",
         "guidance": "Practice: a small team reviews unexplained drift every other day."},
        {"key": "conditions-closed", "section": "Governance", "owner_role": "governance_owner", "required": True,
         "text": "The conditions of earlier decisions are fulfilled or waived with a reason.",
         "guidance": ""},
        {"key": "post-market-plan", "section": "Governance", "owner_role": "governance_owner", "required": True,
         "text": "A post-market monitoring plan actively collects and analyses performance data.",
         "guidance": "EU AI Act Art. 72; SR 11-7 ongoing monitoring with at least a yearly review."},
    ],
}

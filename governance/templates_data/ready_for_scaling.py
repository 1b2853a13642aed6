"""Gate 3 "ready for scaling": what has to hold before the use case spreads to more teams."""

READY_FOR_SCALING = {
    "key": "ready-for-scaling",
    "title": "Ready for scaling",
    "description": "Gate 3 confirms production and is re-certified yearly: value against KPIs, known architecture, "
                   "an LLMOps plan, staffed operations and designed-in controls.",
    "kind": "dod",
    "gate_numbers": [3],
    "version": 1,
    "items": [
        {"key": "value-against-kpis", "section": "Value", "owner_role": "product_owner", "required": True,
         "text": "Value is documented against KPIs from production, not from a good demo.",
         "guidance": ""},
        {"key": "known-architecture", "section": "Architecture", "owner_role": "platform_owner", "required": True,
         "text": "Architecture and integrations are known and documented: no mystery plumbing.",
         "guidance": "Every upstream and downstream system, with an owner."},
        {"key": "llmops-plan", "section": "Operations", "owner_role": "platform_owner", "required": True,
         "text": "An LLMOps plan covers deploy, monitoring, retraining or prompt changes, and versioning.",
         "guidance": ""},
        {"key": "support-staffed", "section": "Operations", "owner_role": "platform_owner", "required": True,
         "text": "Support and operations are staffed and the incident process is agreed with them.",
         "guidance": ""},
        {"key": "controls-designed-in", "section": "Risk and compliance", "owner_role": "governance_owner",
         "required": True,
         "text": "Risk and compliance controls are designed in: logging where required, human oversight, the "
                 "ability to stop safely.",
         "guidance": "EU AI Act Art. 12 logging and Art. 14 human oversight; logs kept at least 6 months."},
    ],
}

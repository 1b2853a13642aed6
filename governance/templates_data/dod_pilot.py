"""Gate 1 definition of done: a pilot is done when its effect is measured, tied to business and owned."""

DOD_PILOT = {
    "key": "dod-pilot",
    "title": "Definition of done: pilot",
    "description": (
        "Gate 1 asks whether the pilot reached its defined effect and whether there is evidence of value and "
        "feasibility. Pilots stall without an owning product team, measurable success criteria and production "
        "requirements known before rollout; this list makes each of those explicit."
    ),
    "kind": "dod",
    "gate_numbers": [1],
    "version": 1,
    "items": [
        {"key": "effect-goals-defined", "section": "Effect", "owner_role": "product_owner", "required": True,
         "text": "Three measurable effect goals tied to the business are defined, each with a target and a "
                 "direction.",
         "guidance": "Record them as effect goals on the use case; \"we are testing\" is not a goal. Example: "
                     "first-contact resolution at least 70%, handling time at most 4 minutes."},
        {"key": "effect-goals-measured", "section": "Effect", "owner_role": "product_owner", "required": True,
         "text": "Each effect goal was measured in the pilot against its target, with the method and data source "
                 "stated.",
         "guidance": "Attach the measurement report; the latest measurement of every goal is part of the signed "
                     "content."},
        {"key": "value-evidence", "section": "Effect", "owner_role": "product_owner", "required": True,
         "text": "Evidence of value: pilot results show the business effect on real work, with population and "
                 "period stated.",
         "guidance": "A good demo is not evidence. Show the before/after on the pilot population."},
        {"key": "feasibility-evidence", "section": "Effect", "owner_role": "platform_owner", "required": True,
         "text": "Evidence of feasibility: the system works on real data inside the real process; known "
                 "limitations are written down.",
         "guidance": "Include failure cases found in the pilot and how they were handled."},
        {"key": "req-operations-hosting", "section": "Production requirements", "owner_role": "platform_owner",
         "required": True,
         "text": "Operations: hosting, capacity and availability requirements for production are written down.",
         "guidance": "Expected request volume, latency budget, GPU or API quota, availability target."},
        {"key": "req-operations-change-control", "section": "Production requirements",
         "owner_role": "platform_owner", "required": True,
         "text": "Operations: change control for model versions, prompt templates and retrieval sources is "
                 "agreed.",
         "guidance": "Who may change what, how changes are tested and how they are rolled back."},
        {"key": "req-security-access", "section": "Production requirements", "owner_role": "platform_owner",
         "required": True,
         "text": "Security: data classification, access control and secrets handling for prompts, responses and "
                 "training data are assessed.",
         "guidance": "Include who can read logged prompts and responses."},
        {"key": "req-security-privacy", "section": "Production requirements", "owner_role": "governance_owner",
         "required": True,
         "text": "Security: personal data in prompts and training pairs is identified and a privacy assessment is "
                 "under way.",
         "guidance": "Fine-tuned models cannot attribute sources or forget single records; decide what may enter "
                     "training data."},
        {"key": "req-monitoring", "section": "Production requirements", "owner_role": "platform_owner",
         "required": True,
         "text": "Monitoring: the quality signals to watch in production (feedback, reward score, prompt and "
                 "response drift) and who reviews them are named.",
         "guidance": "This becomes the monitoring policy at gate 2."},
        {"key": "owner-per-point", "section": "Ownership", "owner_role": "governance_owner", "required": True,
         "text": "Every point of this list and every production requirement has a named owner.",
         "guidance": "Product owns why (effect goals, process change), platform owns how (security, operations), "
                     "governance owns the frames (risk, control trail, decision log)."},
        {"key": "product-team-owns", "section": "Ownership", "owner_role": "product_owner", "required": True,
         "text": "An owning product team, not only the pilot's project team, has accepted the use case and its "
                 "effect goals.",
         "guidance": "Pilots without an owning product team stall after the demo."},
        {"key": "risk-classified", "section": "Ownership", "owner_role": "governance_owner", "required": True,
         "text": "The EU AI Act risk class and the regulatory scopes of the use case are recorded and reviewed.",
         "guidance": "High-risk systems (Annex III) need the Art. 9-17 controls planned before gate 2."},
        {"key": "approach-justified", "section": "Approach", "owner_role": "product_owner", "required": True,
         "text": "The approach is justified: retrieval or prompting was tried or ruled out before fine-tuning, with "
                 "the reason recorded.",
         "guidance": "Try RAG first; hybrids are common. Mark not applicable with a reason when no model is "
                     "trained."},
        {"key": "task-goal-and-data", "section": "Approach", "owner_role": "platform_owner", "required": False,
         "text": "A clear task goal is written and the training data plan is in place (typically 5,000-10,000 "
                 "high-quality input/output pairs).",
         "guidance": "Name the source of the pairs, who curates them and how quality is checked."},
    ],
}

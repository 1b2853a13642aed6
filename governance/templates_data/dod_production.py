"""Gate 2 definition of done: the system is operable in production, and the fine-tuning evidence is on file."""

DOD_PRODUCTION = {
    "key": "dod-production",
    "title": "Definition of done: production",
    "description": (
        "Gate 2 asks whether the system is operable: technique, data, operations and governance, the monitoring "
        "policy with its baseline source, and the evidence a fine-tuned model owes (held-out test, general-"
        "capability regression, training data reference)."
    ),
    "kind": "dod",
    "gate_numbers": [2],
    "version": 1,
    "items": [
        {"key": "test-regime", "section": "Technique", "owner_role": "platform_owner", "required": True,
         "text": "A test regime exists: evaluation sets, regression tests for prompts and model versions, and the "
                 "pass criteria.",
         "guidance": "Tests run before every model, prompt-template or retrieval-source change."},
        {"key": "versioning", "section": "Technique", "owner_role": "platform_owner", "required": True,
         "text": "Model versions, adapters, prompt templates and retrieval indexes are versioned and the serving "
                 "version is traceable.",
         "guidance": "Register each model version with its lineage in the inventory."},
        {"key": "rollback-plan", "section": "Technique", "owner_role": "platform_owner", "required": True,
         "text": "A rollback plan is written and was rehearsed: who decides, how long it takes, what is rolled back.",
         "guidance": "NIST AI RMF MANAGE 2.4: mechanisms to supersede, disengage or deactivate."},
        {"key": "scaling-strategy", "section": "Technique", "owner_role": "platform_owner", "required": True,
         "text": "A scaling strategy covers expected load, capacity limits and cost per request.",
         "guidance": ""},
        {"key": "data-quality", "section": "Data", "owner_role": "platform_owner", "required": True,
         "text": "Data quality of training pairs, retrieval sources and evaluation sets is checked and the checks "
                 "are documented.",
         "guidance": "Duplicates, leakage between training and test data, label consistency."},
        {"key": "access-control", "section": "Data", "owner_role": "platform_owner", "required": True,
         "text": "Access control is in place for training data, logged prompts and responses, and model artefacts.",
         "guidance": ""},
        {"key": "lineage", "section": "Data", "owner_role": "platform_owner", "required": True,
         "text": "Lineage is recorded where relevant: where training and retrieval data came from and how it was "
                 "transformed.",
         "guidance": "Mark not applicable with a reason for prompt-only systems without own data."},
        {"key": "monitoring-over-time", "section": "Operations", "owner_role": "platform_owner", "required": True,
         "text": "Performance and quality are monitored over time: latency, errors, feedback, reward score, input "
                 "and output drift.",
         "guidance": "Data drift (inputs) and model drift (quality) are measured separately, every hour."},
        {"key": "alarms", "section": "Operations", "owner_role": "platform_owner", "required": True,
         "text": "Alarms are wired: review and stop tiers reach a named person, and stop halts the use case.",
         "guidance": "Practice: 5-15% change goes to review, more than 15% stops the model."},
        {"key": "incident-process", "section": "Operations", "owner_role": "platform_owner", "required": True,
         "text": "An incident process is agreed, including serious-incident reporting deadlines.",
         "guidance": "EU AI Act Art. 73: immediately, at most 15 days; 10 days for a death; 2 days for widespread "
                     "infringement or critical infrastructure."},
        {"key": "documented-ownership", "section": "Governance", "owner_role": "governance_owner", "required": True,
         "text": "Ownership is documented: product, platform and governance owners and their deputies.",
         "guidance": ""},
        {"key": "decision-log", "section": "Governance", "owner_role": "governance_owner", "required": True,
         "text": "A decision log is kept: gate decisions, their conditions and changes of scope.",
         "guidance": "Driftgate's signed decisions and audit trail serve as the log."},
        {"key": "control-trail", "section": "Governance", "owner_role": "governance_owner", "required": True,
         "text": "A control trail and measurement plan exist: which controls run, how often, and who reads the "
                 "results.",
         "guidance": "ISO/IEC 42001 9.1 monitoring and measurement; EU AI Act Art. 12 event logs."},
        {"key": "monitoring-policy-baseline", "section": "Monitoring", "owner_role": "platform_owner",
         "required": True,
         "text": "The monitoring policy and the baseline source are defined: which traffic becomes the baseline "
                 "and when it is frozen.",
         "guidance": "Practice: 10,000-50,000 representative prompts and responses from the first 30 days after "
                     "fine-tuning, with user segment, time and feedback."},
        {"key": "held-out-test", "section": "Fine-tuning evidence", "owner_role": "platform_owner",
         "required": True,
         "text": "The task metric was measured on held-out data the model never saw in training.",
         "guidance": "Record the result on the model version's evaluation."},
        {"key": "general-capability-regression", "section": "Fine-tuning evidence",
         "owner_role": "platform_owner", "required": True,
         "text": "A general-capability regression against the base model was run (catastrophic forgetting check).",
         "guidance": "General skills such as arithmetic or following instructions can be lost after domain "
                     "training."},
        {"key": "training-data-reference", "section": "Fine-tuning evidence", "owner_role": "platform_owner",
         "required": True,
         "text": "The training data reference and its SHA-256 are recorded on the model version.",
         "guidance": "Lets an auditor tie the serving model to the exact data it was trained on."},
    ],
}

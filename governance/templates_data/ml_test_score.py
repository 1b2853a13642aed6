"""The ML Test Score rubric (Breck et al., IEEE BigData 2017), with its 28 tests read for LLM systems.

Features are read as prompt templates, retrieval sources and training pairs; data slices as user segments and
languages; staleness as knowledge cut-off and drift. Each test scores 0.5 point when run manually with results
documented and shared, 1 point when automated and repeated; the score is the minimum of the four section sums.
Items are not required: the rubric is scored, not ticked off.
"""

_DATA = "Data"
_MODEL = "Model"
_INFRA = "Infrastructure"
_MONITORING = "Monitoring"


def _test(key: str, section: str, text: str, guidance: str, owner_role: str = "platform_owner") -> dict:
    return {"key": key, "section": section, "text": text, "guidance": guidance, "owner_role": owner_role,
            "required": False}


ML_TEST_SCORE = {
    "key": "ml-test-score",
    "title": "ML Test Score (adapted to LLM systems)",
    "description": (
        "Breck et al. (2017): 28 tests in four sections. 0.5 point for a manual, documented test, 1 point for an "
        "automated, repeated one; score = minimum of the section sums (0 research project, up to 1 serious holes, "
        "up to 2 first pass at production, up to 3 reasonably tested, up to 5 mission-critical ready, above 5 "
        "exceptional)."
    ),
    "kind": "ml_test_score",
    "gate_numbers": [2, 3],
    "version": 1,
    "items": [
        _test("data-schema", _DATA,
              "Expectations on inputs are captured in a schema: prompt template variables, retrieval document fields, "
              "training pair format and length limits.",
              "Reject or flag traffic and training pairs that break the schema."),
        _test("data-beneficial", _DATA,
              "Every prompt-template part, retrieval source and training-data subset is shown to help the task metric.",
              "Ablate: remove a source or a subset and measure."),
        _test("data-cost", _DATA,
              "No input is too costly: each retrieval source and context block earns its latency and token cost.",
              ""),
        _test("data-meta-requirements", _DATA,
              "Inputs meet meta-level requirements: licences, consent and provenance of training pairs and retrieval "
              "sources are recorded.",
              "", "governance_owner"),
        _test("data-privacy", _DATA,
              "The data pipeline has privacy controls: personal data in prompts, logs and training pairs is minimised, "
              "masked or access-controlled.",
              "", "governance_owner"),
        _test("data-new-features-quickly", _DATA,
              "A new prompt template, retrieval source or batch of training pairs can be added and evaluated quickly.",
              "Measure the lead time from idea to an evaluated candidate."),
        _test("data-code-tested", _DATA,
              "All code that builds inputs is tested: prompt rendering, retrieval and chunking, training-pair "
              "preparation.",
              ""),
        _test("model-specs-reviewed", _MODEL,
              "Model specifications are reviewed and checked in: base model, adapter method and hyperparameters, "
              "system prompt.",
              ""),
        _test("model-offline-online-correlate", _MODEL,
              "Offline evaluation metrics correlate with online signals (user feedback, reward score, resolution).",
              "If the offline metric rises while feedback falls, the evaluation set is wrong."),
        _test("model-hyperparameters-tuned", _MODEL,
              "Hyperparameters are tuned: learning rate, epochs, LoRA rank, decoding temperature.",
              ""),
        _test("model-staleness-known", _MODEL,
              "The impact of staleness is known: knowledge cut-off of the base model and training data, and how "
              "quality decays under drift.",
              ""),
        _test("model-simpler-not-better", _MODEL,
              "A simpler approach is not better: the fine-tuned model beats the base model with a good prompt and a "
              "retrieval-only baseline.",
              "", "product_owner"),
        _test("model-quality-on-slices", _MODEL,
              "Quality is sufficient on important slices: user segments and languages are evaluated separately.",
              ""),
        _test("model-inclusion", _MODEL,
              "The model is tested for inclusion: answers do not differ unfairly across user groups, dialects and "
              "languages.",
              "NYDFS Circular Letter 7 (2024) asks insurers to test for unfair discrimination.", "governance_owner"),
        _test("infra-training-reproducible", _INFRA,
              "Training is reproducible: the same data reference, seed and configuration give an equivalent adapter.",
              ""),
        _test("infra-specs-unit-tested", _INFRA,
              "Model specifications are unit-tested: configuration loads, the adapter applies to the base model, "
              "prompt templates render.",
              ""),
        _test("infra-pipeline-integration-tested", _INFRA,
              "The full pipeline is integration-tested: data preparation, training, evaluation, packaging, serving.",
              ""),
        _test("infra-quality-before-serving", _INFRA,
              "Model quality is validated before serving: the held-out test and the general-capability regression "
              "gate every release.",
              ""),
        _test("infra-debuggable", _INFRA,
              "The model is debuggable: a single request can be replayed with its prompt, retrieved context and "
              "model version.",
              ""),
        _test("infra-canaried", _INFRA,
              "New versions are canaried: a share of traffic first, with its quality signals watched before full "
              "rollout.",
              ""),
        _test("infra-rollback", _INFRA,
              "Serving models, adapters and prompt templates can be rolled back quickly.",
              ""),
        _test("monitor-dependency-changes", _MONITORING,
              "Dependency changes notify the team: base model or API version, tokenizer, retrieval index, embedding "
              "model.",
              ""),
        _test("monitor-input-invariants", _MONITORING,
              "Data invariants hold for inputs: prompt length, language mix and topic mix are watched against the "
              "baseline.",
              "Prompt drift and topic novelty signals."),
        _test("monitor-training-serving-skew", _MONITORING,
              "Training and serving are not skewed: production prompts look like the training pairs, and the "
              "serving prompt template is the evaluated one.",
              ""),
        _test("monitor-staleness", _MONITORING,
              "Models are not too stale: knowledge cut-off and drift are tracked, and a retraining trigger is "
              "defined.",
              ""),
        _test("monitor-numerically-stable", _MONITORING,
              "Models are numerically stable: empty, truncated, repeated or malformed outputs are counted.",
              ""),
        _test("monitor-computing-performance", _MONITORING,
              "Computing performance has not regressed: latency, tokens per request and cost are tracked.",
              ""),
        _test("monitor-prediction-quality", _MONITORING,
              "Prediction quality has not regressed: reward score, user feedback and re-rated calibration items are "
              "tracked.",
              "Quality drop and feedback drop signals; label drift on calibration items."),
    ],
}

"""Model probes' data: golden sets and their versions, endpoints of model versions, probe policies, runs, results.

Kept apart from `monitoring/models.py` so neither module grows past a readable size; `monitoring.models`
imports these classes, so they belong to the monitoring app like the rest.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone


class GoldenSet(models.Model):
    """A named collection of golden items of one use case, or a built-in set shared by all (use_case empty)."""

    use_case = models.ForeignKey("governance.UseCase", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="golden_sets")
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "key"], name="goldenset_key_unique",
                                    violation_error_message="This use case already has a golden set with this key."),
            models.UniqueConstraint(fields=["key"], condition=models.Q(use_case__isnull=True),
                                    name="goldenset_builtin_key_unique",
                                    violation_error_message="A built-in golden set with this key already exists."),
        ]

    def __str__(self) -> str:
        return self.key if self.use_case_id is None else f"{self.use_case_id}:{self.key}"


class GoldenSetVersion(models.Model):
    """One immutable version of a golden set; every change to its items makes a new one."""

    golden_set = models.ForeignKey(GoldenSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON of the items.")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["golden_set", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["golden_set", "number"], name="goldensetversion_number_unique",
                                    violation_error_message="This golden set already has a version with this number."),
        ]

    def __str__(self) -> str:
        return f"{self.golden_set.key} v{self.number}"


class GoldenItem(models.Model):
    """A prompt (or chat messages), a reference answer and the grader that decides whether an answer passes."""

    version = models.ForeignKey(GoldenSetVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    key = models.SlugField(max_length=64)
    category = models.SlugField(max_length=64)
    messages = models.JSONField(help_text="OpenAI chat messages; the last one is the user's.")
    reference = models.TextField(blank=True)
    grader = models.CharField(max_length=20)
    grader_config = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of messages, reference and grader: pairs items "
                                                       "across runs and set versions only when nothing changed.")

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="goldenitem_key_unique",
                                    violation_error_message="This set version already has an item with this key."),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.key}"


class EndpointTarget(models.TextChoices):
    """Which model an endpoint serves: the use case's own model version or the base model it was made from."""

    MODEL = "model", "Model version"
    BASE = "base", "Base model"


class ModelEndpoint(models.Model):
    """An OpenAI-compatible chat-completions endpoint of a model version (or of its base model); no key stored."""

    model_version = models.ForeignKey("governance.ModelVersion", on_delete=models.CASCADE, related_name="endpoints")
    target = models.CharField(max_length=10, choices=EndpointTarget.choices)
    url = models.URLField(max_length=500)
    model_name = models.CharField(max_length=200)
    key_env = models.CharField(max_length=100, blank=True, help_text="Environment variable that holds the key.")
    key_file = models.CharField(max_length=100, blank=True,
                                help_text="File name under DRIFTGATE_SECRETS_DIR that holds the key.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model_version", "target"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "target"], name="modelendpoint_target_unique",
                                    violation_error_message="This model version already has this endpoint."),
            models.CheckConstraint(condition=~(models.Q(key_env__gt="") & models.Q(key_file__gt="")),
                                   name="modelendpoint_one_key_source",
                                   violation_error_message="Name the key's variable or its file, not both."),
        ]

    def __str__(self) -> str:
        return f"{self.model_version_id} {self.target}: {self.model_name}"


class ProbePolicy(models.Model):
    """How and how often a use case is probed, and what its gates ask of the results."""

    use_case = models.OneToOneField("governance.UseCase", on_delete=models.CASCADE, related_name="probe_policy")
    enabled = models.BooleanField(default=True)
    interval_hours = models.PositiveIntegerField(default=24)
    builtin_sets = models.JSONField(default=list, blank=True, help_text="Keys of the built-in sets to run.")
    include_base = models.BooleanField(default=True, help_text="Scheduled runs also probe the base model.")
    pass_target = models.FloatField(default=0.9, help_text="Pass rate every set must reach for a gate.")
    max_age_days = models.PositiveIntegerField(default=7, help_text="A gate accepts results this recent.")
    gate_alpha = models.FloatField(default=0.05, help_text="Significance of a regression against the base model.")
    call_budget = models.PositiveIntegerField(default=1000, help_text="HTTP attempts per run, retries included.")
    concurrency = models.PositiveSmallIntegerField(default=4)
    timeout_seconds = models.FloatField(default=30.0)
    max_retries = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"probe policy of {self.use_case_id}"


class ProbeRunStatus(models.TextChoices):
    """Lifecycle of a probe run."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ProbeTrigger(models.TextChoices):
    """What started a probe run."""

    SCHEDULE = "schedule", "Schedule"
    API = "api", "API"
    COMMAND = "command", "Command line"


class ProbeRun(models.Model):
    """One pass of a use case's golden sets against one endpoint of a model version."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="probe_runs")
    model_version = models.ForeignKey("governance.ModelVersion", on_delete=models.PROTECT, related_name="probe_runs")
    target = models.CharField(max_length=10, choices=EndpointTarget.choices, default=EndpointTarget.MODEL)
    endpoint_url = models.URLField(max_length=500)
    endpoint_model = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=ProbeRunStatus.choices, default=ProbeRunStatus.QUEUED)
    trigger = models.CharField(max_length=20, choices=ProbeTrigger.choices)
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="The schedule slot, for scheduled runs.")
    set_versions = models.ManyToManyField(GoldenSetVersion, related_name="runs")
    seed = models.BigIntegerField(default=0)
    call_budget = models.PositiveIntegerField()
    calls_made = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Pass rates with Wilson intervals.")
    comparisons = models.JSONField(default=dict, blank=True, help_text="McNemar against the previous run and base.")
    flaky_items = models.JSONField(default=list, blank=True)
    signal_run = models.OneToOneField("monitoring.DriftRun", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="probe_run", help_text="The run holding its behaviour signals.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "target", "scheduled_for"],
                                    condition=models.Q(scheduled_for__isnull=False), name="proberun_slot_unique",
                                    violation_error_message="This schedule slot already has a run."),
        ]
        indexes = [models.Index(fields=["model_version", "target", "status", "finished_at"],
                                name="proberun_latest")]

    def __str__(self) -> str:
        return f"probe run {self.pk} of {self.model_version_id} {self.target} ({self.status})"


class ProbeOutcome(models.TextChoices):
    """An item's verdict; an error is a failed call, never a failed answer."""

    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Call failed"


class ProbeResult(models.Model):
    """One item of a run: the request and response as sent and received, latency, tokens and the verdict."""

    run = models.ForeignKey(ProbeRun, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(GoldenItem, on_delete=models.PROTECT, related_name="results")
    outcome = models.CharField(max_length=10, choices=ProbeOutcome.choices)
    answer = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    request = models.JSONField(help_text="The request body; headers (and the key) are never stored.")
    response = models.JSONField(null=True, blank=True)
    grade_detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "item__position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="proberesult_item_unique",
                                    violation_error_message="This run already has a result for this item."),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.item_id}: {self.outcome}"

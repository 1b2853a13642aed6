"""Monitoring data: traffic, embeddings of distinct texts, baselines, policies, drift runs, alerts."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from monitoring.ingest.redaction import BUILTIN_KINDS


class TrafficRecord(models.Model):
    """One prompt/response exchange of the LLM, as posted by the serving layer."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="traffic")
    external_id = models.CharField(max_length=200)
    timestamp = models.DateTimeField()
    hour = models.DateTimeField(help_text="timestamp truncated to the hour: the unit of an hourly window.")
    received_at = models.DateTimeField(default=timezone.now)
    prompt = models.TextField()
    response = models.TextField(blank=True)
    prompt_digest = models.CharField(max_length=32, help_text="First 128 bits of SHA-256 of the normalised prompt.")
    response_digest = models.CharField(max_length=32, blank=True)
    model_version = models.ForeignKey("governance.ModelVersion", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="traffic")
    score = models.FloatField(null=True, blank=True)
    feedback = models.SmallIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    redactions = models.JSONField(default=dict, blank=True,
                                  help_text="How many finds of each kind were redacted from prompt and response.")
    # Random at ingest: the first N keys of a window are a uniform sample, read through an index.
    sample_key = models.BigIntegerField()

    class Meta:
        # On PostgreSQL the table is range-partitioned by month of `hour` (migration 0003), with the primary
        # key (id, hour). A unique index of a partitioned table must include the partition key, so
        # deduplication on (use case, external_id) lives in TrafficKey instead.
        constraints = [
            models.CheckConstraint(condition=models.Q(feedback__isnull=True) | models.Q(feedback__in=[-1, 1]),
                                   name="traffic_feedback_pm1", violation_error_message="feedback is +1 or -1."),
        ]
        indexes = [
            # Hourly windows: equality on hour, then keys in order -> an index range scan, no sort.
            models.Index(fields=["use_case", "hour", "sample_key"], name="traffic_window_sample"),
            # Long ranges (baselines): keys in order, filtered by time.
            models.Index(fields=["use_case", "sample_key"], name="traffic_usecase_sample"),
            models.Index(fields=["use_case", "timestamp"], name="traffic_usecase_time"),
        ]

    def __str__(self) -> str:
        return f"{self.use_case_id}:{self.external_id}"


class TrafficKey(models.Model):
    """The external ids a use case's stored records carry: the one unique index that makes ingestion idempotent."""

    # The pair is the primary key: no id column, sequence or second unique index to maintain on every write
    # (a key COPY costs 40% of what it did with them).
    pk = models.CompositePrimaryKey("use_case", "external_id")
    # No database constraint: every key is written with its record, whose own foreign key checks the use case.
    # No index of its own either: the primary key starts with it.
    use_case = models.ForeignKey("governance.UseCase", on_delete=models.DO_NOTHING, db_constraint=False,
                                 db_index=False, related_name="+")
    external_id = models.CharField(max_length=200)
    # The record's timestamp, so the retention purge removes a key together with its record.
    timestamp = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["use_case", "timestamp"], name="traffickey_usecase_time")]

    def __str__(self) -> str:
        return f"{self.use_case_id}:{self.external_id}"


class TrafficIngestCount(models.Model):
    """Records a use case has had accepted, as duplicates and rejected since it began: counters that only grow.

    Counting the traffic table would shrink when retention drops a month, and rejected rows are never stored;
    Prometheus reads these totals instead (`driftgate_traffic_records_*_total`).
    """

    use_case = models.OneToOneField("governance.UseCase", on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    accepted = models.BigIntegerField(default=0)
    duplicate = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.use_case_id}: {self.accepted} accepted, {self.rejected} rejected"


def _all_redaction_kinds() -> list[str]:
    return list(BUILTIN_KINDS)


class DataProtectionPolicy(models.Model):
    """What is redacted from a use case's traffic at ingest, and for how many days its raw texts are kept."""

    use_case = models.OneToOneField("governance.UseCase", on_delete=models.CASCADE, related_name="data_protection")
    redact_kinds = models.JSONField(default=_all_redaction_kinds, blank=True,
                                    help_text="Built-in kinds that are redacted (monitoring.ingest.redaction).")
    custom_patterns = models.JSONField(default=list, blank=True,
                                       help_text='Extra patterns: [{"name": "employee_id", "pattern": "EMP-\\d{6}"}].')
    retention_days = models.PositiveIntegerField(default=180, help_text="Raw prompts and responses older than this "
                                                 "are purged.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(retention_days__gte=1, retention_days__lte=3660),
                                   name="dataprotection_retention_range",
                                   violation_error_message="Retention is between 1 and 3,660 days."),
        ]

    def __str__(self) -> str:
        return f"data protection of {self.use_case_id}"


class TextEmbedding(models.Model):
    """The embedding of one distinct text under one model; repeated prompts are embedded once."""

    model_key = models.CharField(max_length=100)
    digest = models.CharField(max_length=32)
    vector = models.BinaryField(help_text="float16, L2-normalised, little-endian.")
    dim = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_key", "digest"], name="textembedding_unique",
                                    violation_error_message="This text is already embedded with this model."),
        ]


class BaselineStatus(models.TextChoices):
    """Lifecycle of a baseline."""

    BUILDING = "building", "Building"
    FROZEN = "frozen", "Frozen"
    REPLACED = "replaced", "Replaced"
    FAILED = "failed", "Failed"


class Baseline(models.Model):
    """A frozen reference of normal traffic: sample embeddings, clusters, score distribution, vocabulary."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="baselines")
    model_version = models.ForeignKey("governance.ModelVersion", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="baselines")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=BaselineStatus.choices, default=BaselineStatus.BUILDING)
    embedding_model = models.CharField(max_length=100)
    n_records = models.PositiveIntegerField(default=0)
    artifact = models.BinaryField(null=True, blank=True, help_text="npz: sample embeddings and group ids.")
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict, blank=True,
                               help_text="Cluster model, TF-IDF vocabulary, score and feedback statistics.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    frozen_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["use_case", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["use_case"], condition=models.Q(status="frozen"),
                                    name="baseline_one_frozen_per_use_case",
                                    violation_error_message="The use case already has a frozen baseline."),
        ]

    def __str__(self) -> str:
        return f"baseline {self.pk} of {self.use_case_id} ({self.status})"


class EmbeddingTier(models.TextChoices):
    """Which embedding model a use case's next baseline, and the windows compared with it, are embedded with."""

    DEFAULT = "default", "Default model (transformer)"
    STATIC = "static", "Static model (model2vec, distilled here)"


class MonitoringPolicy(models.Model):
    """How a use case is monitored: signal tiers, α, caps, automatic halts, window size, embedding tier."""

    use_case = models.OneToOneField("governance.UseCase", on_delete=models.CASCADE, related_name="monitoring_policy")
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, help_text="monitoring.drift.Policy.to_dict()")
    auto_halt = models.BooleanField(default=False, help_text="A stop alert halts the use case without a human.")
    window_hours = models.PositiveSmallIntegerField(default=1)
    sample_size = models.PositiveIntegerField(default=5000)
    material_degradation = models.FloatField(default=0.10, help_text="Relative quality drop that is material.")
    ingest_rate_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Traffic batches per token per minute; empty: the platform's default.")
    embedding_tier = models.CharField(
        max_length=20, choices=EmbeddingTier.choices, default=EmbeddingTier.DEFAULT,
        help_text="Embedding model of the next baseline; a frozen baseline keeps the model it was built with.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"policy of {self.use_case_id}"


class RunStatus(models.TextChoices):
    """Lifecycle of a drift run."""

    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    SKIPPED = "skipped", "Skipped (too little data)"
    FAILED = "failed", "Failed"


class Severity(models.TextChoices):
    """Outcome of a signal or a run under the policy."""

    OK = "ok", "OK"
    REVIEW = "review", "Review"
    STOP = "stop", "Stop"


class DriftRun(models.Model):
    """One comparison of a traffic window with the frozen baseline; unique per (use case, window)."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="drift_runs")
    baseline = models.ForeignKey(Baseline, null=True, on_delete=models.PROTECT, related_name="runs")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    n = models.PositiveIntegerField(default=0)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    seed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["use_case", "-window_start"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "window_start", "window_end"], name="driftrun_window_unique",
                                    violation_error_message="This window has already been run."),
        ]
        indexes = [models.Index(fields=["use_case", "window_end"], name="driftrun_usecase_end")]

    def __str__(self) -> str:
        return f"run {self.use_case_id} {self.window_start:%Y-%m-%d %H:%M} ({self.severity or self.status})"


class DriftSignal(models.Model):
    """One signal of a run: statistic, p-value, Holm-adjusted p, effect size in the seed's units, severity."""

    run = models.ForeignKey(DriftRun, on_delete=models.CASCADE, related_name="signals")
    name = models.CharField(max_length=40)
    statistic = models.FloatField()
    p_value = models.FloatField()
    p_adjusted = models.FloatField(null=True)
    effect_size = models.FloatField()
    effect_unit = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["run", "name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="driftsignal_unique",
                                    violation_error_message="This run already has this signal."),
        ]
        # The monitoring page marks the runs significant after Holm (p_adjusted below the policy's alpha): a few
        # in a hundred, found by this index instead of reading every signal of the range.
        indexes = [models.Index(fields=["p_adjusted"], name="driftsignal_p_adjusted")]


class DailySummary(models.Model):
    """One signal of a use case on one UTC day, over the drift and probe runs whose window starts that day.

    Exactly what the monitoring page draws per day past a month: the day's largest effect, its worst tier and its
    smallest Holm p, so a year reads 366 rows per signal instead of aggregating every signal row. The database
    keeps it (triggers on the signal table, migration 0008): the transaction that stores a run's signals adds them
    with INSERT ... ON CONFLICT DO UPDATE, so two runs finishing at once on one day both count, and deleting or
    changing signals recounts their days. Never written by Python.
    """

    pk = models.CompositePrimaryKey("use_case", "day", "name")
    use_case = models.ForeignKey("governance.UseCase", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    name = models.CharField(max_length=40)
    # The largest effect unit of the day's signals (one unit per signal in practice), as the page's aggregate had.
    unit = models.CharField(max_length=40)
    runs = models.PositiveIntegerField()
    effect_max = models.FloatField()
    # 0 ok, 1 review, 2 stop (SEVERITY_RANK in monitoring.selectors.overview): the day's worst tier.
    worst_rank = models.PositiveSmallIntegerField()
    p_min = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.use_case_id} {self.day} {self.name}"


class AlertStatus(models.TextChoices):
    """Lifecycle of an alert."""

    OPEN = "open", "Open"
    TRIAGED = "triaged", "Triaged"
    RESOLVED = "resolved", "Resolved"


class TriageVerdict(models.TextChoices):
    """What a human found the drift to be."""

    LEGITIMATE_CHANGE = "legitimate_change", "Legitimate change"
    HARMFUL_DEGRADATION = "harmful_degradation", "Harmful degradation"
    FALSE_ALARM = "false_alarm", "False alarm"


class Resolution(models.TextChoices):
    """What was done about it."""

    REBASELINE = "rebaseline", "Rebaseline"
    RETRAIN = "retrain", "Retrain"
    ROLL_BACK = "roll_back", "Roll back"
    NONE = "none", "None"


class IncidentClass(models.TextChoices):
    """EU AI Act Art. 73 serious-incident classes and their reporting deadlines in days."""

    NONE = "", "Not a serious incident"
    WIDESPREAD = "widespread_or_critical_infrastructure", "Widespread infringement or critical infrastructure (2 days)"
    DEATH = "death", "Death of a person (10 days)"
    OTHER_SERIOUS = "other_serious", "Other serious incident (15 days)"


ART73_DEADLINE_DAYS: dict[str, int] = {IncidentClass.WIDESPREAD: 2, IncidentClass.DEATH: 10, IncidentClass.OTHER_SERIOUS: 15}


class Alert(models.Model):
    """A run whose severity reached review or stop, waiting for a human."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="alerts")
    run = models.OneToOneField(DriftRun, on_delete=models.PROTECT, related_name="alert")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    summary = models.JSONField(default=dict, help_text="The signals that raised it, with effect sizes.")
    halt_applied = models.BooleanField(
        default=False, help_text="This alert's stop halted the use case (automatically or once confirmed).")
    stop_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    stop_confirmed_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=30, choices=TriageVerdict.choices, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    note = models.TextField(blank=True)
    triaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    triaged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    incident_class = models.CharField(max_length=40, choices=IncidentClass.choices, blank=True)
    incident_aware_at = models.DateTimeField(null=True, blank=True, help_text="When the provider became aware (Art. 73).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["use_case", "status", "severity"], name="alert_open_by_severity")]

    def __str__(self) -> str:
        return f"{self.severity} alert on {self.use_case_id} ({self.status})"


class CalibrationItem(models.Model):
    """A fixed prompt/response pair re-rated over time to separate label drift from model drift."""

    use_case = models.ForeignKey("governance.UseCase", on_delete=models.CASCADE, related_name="calibration_items")
    key = models.SlugField(max_length=64)
    prompt = models.TextField()
    response = models.TextField()
    baseline_rating = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["use_case", "key"], name="calibrationitem_key_unique",
                                    violation_error_message="This use case already has a calibration item with this key."),
        ]


class CalibrationRating(models.Model):
    """One re-rating of a calibration item by an annotator."""

    item = models.ForeignKey(CalibrationItem, on_delete=models.CASCADE, related_name="ratings")
    rating = models.FloatField()
    rater = models.CharField(max_length=100)
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["item", "-rated_at"]
        indexes = [models.Index(fields=["item", "rated_at"], name="calibrationrating_time")]


# Model probes live in their own module; importing them here registers them with the monitoring app.
from monitoring.probe_models import (  # noqa: E402, F401
    EndpointTarget,
    GoldenItem,
    GoldenSet,
    GoldenSetVersion,
    ModelEndpoint,
    ProbeOutcome,
    ProbePolicy,
    ProbeResult,
    ProbeRun,
    ProbeRunStatus,
    ProbeTrigger,
)

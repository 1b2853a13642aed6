"""Admin pages for monitoring data.

Policies (monitoring and data protection), baselines, runs, signals and alerts change only through the services, which write the audit log;
the admin shows them read-only so no change escapes the audit trail. Traffic and embeddings are derived data,
also read-only. Calibration items and their re-ratings are reference data and stay editable here.
"""
from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import (
    Alert,
    Baseline,
    CalibrationItem,
    CalibrationRating,
    DataProtectionPolicy,
    DriftRun,
    DriftSignal,
    GoldenItem,
    GoldenSet,
    ModelEndpoint,
    MonitoringPolicy,
    ProbePolicy,
    ProbeResult,
    ProbeRun,
    TextEmbedding,
    TrafficRecord,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TrafficRecord)
class TrafficRecordAdmin(ReadOnlyAdmin):
    """Ingested exchanges."""

    list_display = ["external_id", "use_case", "timestamp", "model_version", "score", "feedback", "segment"]
    list_filter = ["use_case", "segment"]
    search_fields = ["external_id", "prompt"]
    date_hierarchy = "timestamp"
    list_select_related = ["use_case", "model_version"]
    show_full_result_count = False


@admin.register(DataProtectionPolicy)
class DataProtectionPolicyAdmin(ReadOnlyAdmin):
    """Redaction and retention per use case (changed through the data-protection endpoint, which audits)."""

    list_display = ["use_case", "retention_days", "updated_at"]
    list_select_related = ["use_case"]


@admin.register(TextEmbedding)
class TextEmbeddingAdmin(ReadOnlyAdmin):
    """Stored vectors of distinct texts (the vector itself is binary and not shown)."""

    list_display = ["digest", "model_key", "dim", "created_at"]
    list_filter = ["model_key"]
    search_fields = ["digest"]
    exclude = ["vector"]
    show_full_result_count = False


@admin.register(Baseline)
class BaselineAdmin(ReadOnlyAdmin):
    """Baselines; the npz artifact is shown by its hash only."""

    list_display = ["id", "use_case", "status", "start", "end", "n_records", "embedding_model", "frozen_at"]
    list_filter = ["status", "use_case"]
    exclude = ["artifact"]
    list_select_related = ["use_case"]


@admin.register(MonitoringPolicy)
class MonitoringPolicyAdmin(ReadOnlyAdmin):
    """Policies (edit through the API so the change is audited)."""

    list_display = ["use_case", "enabled", "auto_halt", "window_hours", "sample_size", "material_degradation",
                    "updated_at"]
    list_filter = ["enabled", "auto_halt"]
    list_select_related = ["use_case"]


class DriftSignalInline(admin.TabularInline):
    """A run's signals."""

    model = DriftSignal
    extra = 0
    can_delete = False
    fields = readonly_fields = ("name", "statistic", "p_value", "p_adjusted", "effect_size", "effect_unit",
                                "severity")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(DriftRun)
class DriftRunAdmin(ReadOnlyAdmin):
    """Runs with their signals."""

    list_display = ["id", "use_case", "window_start", "window_end", "status", "severity", "n", "duration_ms"]
    list_filter = ["status", "severity", "use_case"]
    date_hierarchy = "window_start"
    list_select_related = ["use_case"]
    inlines = [DriftSignalInline]


@admin.register(DriftSignal)
class DriftSignalAdmin(ReadOnlyAdmin):
    """Signals across runs, e.g. to compare one signal over time."""

    list_display = ["run", "name", "statistic", "p_value", "p_adjusted", "effect_size", "effect_unit", "severity"]
    list_filter = ["name", "severity"]
    list_select_related = ["run", "run__use_case"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts (triage through the API so the step is audited)."""

    list_display = ["id", "use_case", "severity", "status", "halt_applied", "verdict", "resolution", "created_at"]
    list_filter = ["status", "severity", "verdict", "use_case"]
    list_select_related = ["use_case"]


class CalibrationRatingInline(admin.TabularInline):
    """Re-ratings of one calibration item."""

    model = CalibrationRating
    extra = 1
    fields = ["rating", "rater", "rated_at"]


@admin.register(CalibrationItem)
class CalibrationItemAdmin(admin.ModelAdmin):
    """Fixed items re-rated over time to tell label drift from model drift."""

    list_display = ["key", "use_case", "baseline_rating", "created_at"]
    list_filter = ["use_case"]
    search_fields = ["key", "prompt"]
    inlines = [CalibrationRatingInline]


@admin.register(CalibrationRating)
class CalibrationRatingAdmin(admin.ModelAdmin):
    """Single re-ratings."""

    list_display = ["item", "rating", "rater", "rated_at"]
    list_filter = ["item__use_case", "rater"]
    list_select_related = ["item"]


# Model probes change only through their services (every change audited); the admin shows them read-only.
@admin.register(GoldenSet)
class GoldenSetAdmin(ReadOnlyAdmin):
    """Golden sets of use cases and the built-in ones."""

    list_display = ["key", "title", "use_case", "builtin", "created_at"]
    list_filter = ["builtin"]
    search_fields = ["key", "title"]


@admin.register(GoldenItem)
class GoldenItemAdmin(ReadOnlyAdmin):
    """Items of every set version."""

    list_display = ["key", "version", "category", "grader"]
    list_filter = ["grader"]
    search_fields = ["key", "category"]


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(ReadOnlyAdmin):
    """Where model versions and their base models are served; keys are only named, never stored."""

    list_display = ["model_version", "target", "model_name", "url", "key_env", "key_file", "updated_at"]


@admin.register(ProbePolicy)
class ProbePolicyAdmin(ReadOnlyAdmin):
    """How often and with what each use case is probed."""

    list_display = ["use_case", "enabled", "interval_hours", "pass_target", "max_age_days", "call_budget"]


@admin.register(ProbeRun)
class ProbeRunAdmin(ReadOnlyAdmin):
    """Probe runs with their pass rates and comparisons."""

    list_display = ["id", "use_case", "model_version", "target", "status", "trigger", "calls_made", "finished_at"]
    list_filter = ["status", "target", "trigger"]


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnlyAdmin):
    """Each item's request, response, latency, tokens and verdict."""

    list_display = ["run", "item", "outcome", "error", "http_status", "attempts", "latency_ms"]
    list_filter = ["outcome", "error"]

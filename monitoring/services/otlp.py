"""Ingesting OpenTelemetry GenAI spans (OTLP/HTTP) as traffic records, through the JSON endpoint's own path.

An export is refused as a whole (nothing stored) when a span's use case is missing, unknown or not the actor's
to post to, or when it holds more exchanges than a traffic batch may. Otherwise every exchange is validated,
redacted and deduplicated exactly as a JSON record (external_id = "<trace id>:<span id>", so a re-export stores
nothing twice), all use cases of the export in one transaction; a span that fails validation is rejected alone
and reported in the response's partial success, as OTLP defines it.
"""
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import PayloadTooLarge, ValidationFailed
from governance.models import ModelVersion, UseCase
from governance.permissions import get_visible_use_case
from monitoring.ingest.genai import ExportContents, MappedSpan, SpanConventions
from monitoring.ingest.parsing import RawRecord
from monitoring.ingest.validation import RowError
from monitoring.models import EndpointTarget, ModelEndpoint
from monitoring.services.traffic import (
    traffic_counts_add,
    traffic_ingest_authorize,
    traffic_rows_store,
    without_cyclic_gc,
)

logger = logging.getLogger(__name__)
USE_CASE_HEADER = "X-Driftgate-Use-Case"
_EXAMPLE_ERRORS = 3


def otlp_conventions() -> SpanConventions:
    """Return the span attribute names and operations the settings configure."""
    return SpanConventions(
        use_case_attribute=settings.DRIFTGATE_OTLP_USE_CASE_ATTRIBUTE,
        model_version_attribute=settings.DRIFTGATE_OTLP_MODEL_VERSION_ATTRIBUTE,
        segment_attribute=settings.DRIFTGATE_OTLP_SEGMENT_ATTRIBUTE,
        score_attribute=settings.DRIFTGATE_OTLP_SCORE_ATTRIBUTE,
        feedback_attribute=settings.DRIFTGATE_OTLP_FEEDBACK_ATTRIBUTE,
        operations=frozenset(settings.DRIFTGATE_OTLP_OPERATIONS),
    )


@dataclass(frozen=True)
class OtlpResult:
    """What became of an export's spans: stored, already stored, rejected (with examples) and ignored by reason."""

    accepted: int
    duplicate: int
    rejected: int
    ignored: dict[str, int] = field(default_factory=dict)
    examples: list[RowError] = field(default_factory=list)
    rejected_codes: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """Return the partial-success message: why spans were rejected, and which were ignored (a warning)."""
        sentences = []
        if self.rejected:
            codes = ", ".join(f"{code} x{count}" for code, count in sorted(self.rejected_codes.items()))
            examples = "; ".join(f"{error.external_id}: {error.code}: {error.message}" for error in self.examples)
            sentences.append(f"Rejected {self.rejected} span(s) ({codes}). {examples}")
        ignored = sum(self.ignored.values())
        if ignored:
            reasons = ", ".join(f"{reason} x{count}" for reason, count in sorted(self.ignored.items()))
            sentences.append(f"Ignored {ignored} span(s) that are not GenAI exchanges ({reasons}).")
        return " ".join(sentences)


def otlp_export_authorize(*, actor: Actor, contents: ExportContents) -> dict[str, UseCase]:
    """Return the export's use cases by slug, refusing the whole export for a missing, unknown or forbidden one."""
    if contents.without_use_case:
        raise ValidationFailed(
            f"{contents.without_use_case} GenAI span(s) name no use case: set the resource attribute "
            f"{settings.DRIFTGATE_OTLP_USE_CASE_ATTRIBUTE!r} or the {USE_CASE_HEADER} header.",
            code="use_case_missing", extra={"spans": contents.without_use_case,
                                             "attribute": settings.DRIFTGATE_OTLP_USE_CASE_ATTRIBUTE,
                                             "header": USE_CASE_HEADER})
    if contents.exchanges > settings.DRIFTGATE_TRAFFIC_MAX_RECORDS:
        raise PayloadTooLarge(f"The export holds {contents.exchanges} GenAI spans; the limit is "
                              f"{settings.DRIFTGATE_TRAFFIC_MAX_RECORDS}.", code="too_many_records",
                              extra={"max_records": settings.DRIFTGATE_TRAFFIC_MAX_RECORDS,
                                     "records": contents.exchanges})
    use_cases = {}
    for slug in sorted(contents.by_use_case):
        use_case = get_visible_use_case(actor=actor, slug=slug)
        traffic_ingest_authorize(actor=actor, use_case=use_case)
        use_cases[slug] = use_case
    return use_cases


def _model_labels(use_case: UseCase) -> dict[str, str]:
    """Return model names a span may carry, mapped to the version label: labels, then the endpoints' model names."""
    labels: dict[str, str] = {}
    for model_name, label in (ModelEndpoint.objects.filter(model_version__use_case=use_case,
                                                           target=EndpointTarget.MODEL)
                              .values_list("model_name", "model_version__label")):
        labels.setdefault(model_name, label)
    for label in ModelVersion.objects.filter(use_case=use_case).values_list("label", flat=True):
        labels[label] = label
    return labels


def _with_model_version(span: MappedSpan, labels: dict[str, str]) -> dict:
    record = dict(span.record or {})
    label = next((labels[name] for name in span.model_names if name in labels), None)
    if label is not None:
        record["model_version"] = label
    return record


def _explain(error: RowError, names: dict[str, tuple[str, ...]]) -> RowError:
    if error.code != "unknown_model_version" or error.external_id is None:
        return error
    tried = ", ".join(repr(name) for name in names.get(error.external_id, ()))
    return RowError(index=error.index, code=error.code, external_id=error.external_id, field=error.field,
                    message=f"None of the span's model names ({tried}) is a model version label of this use case "
                            f"or its endpoint's model name; register it, or set the span attribute "
                            f"{settings.DRIFTGATE_OTLP_MODEL_VERSION_ATTRIBUTE!r} to the label.")


def otlp_export_ingest(*, actor: Actor, contents: ExportContents, use_cases: dict[str, UseCase]) -> OtlpResult:
    """Store the export's GenAI exchanges in one transaction; a re-exported span is counted as a duplicate."""
    now = timezone.now()
    accepted = duplicate = 0
    errors: list[RowError] = []
    counts: dict[int, tuple[int, int, int]] = {}
    with without_cyclic_gc(), transaction.atomic():
        for slug, spans in sorted(contents.by_use_case.items()):
            use_case = use_cases[slug]
            errors_before = len(errors)
            traffic_ingest_authorize(actor=actor, use_case=use_case)
            labels = _model_labels(use_case)
            raw: list[RawRecord] = []
            names: dict[str, tuple[str, ...]] = {}
            for span in spans:
                if span.record is None:
                    errors.append(RowError(index=-1, code=span.error_code, message=span.error_message,
                                           external_id=span.external_id))
                    continue
                names[span.external_id] = span.model_names
                raw.append(RawRecord(index=len(raw), value=_with_model_version(span, labels)))
            row_errors: list[RowError] = []
            written = traffic_rows_store(use_case=use_case, raw=raw, now=now, errors=row_errors)
            accepted += written.inserted
            duplicate += written.duplicate
            errors.extend(_explain(error, names) for error in row_errors)
            counts[use_case.pk] = (written.inserted, written.duplicate, len(errors) - errors_before)
    # The metrics' counters, after the export's transaction as for the JSON endpoint.
    for use_case_id, (inserted, duplicates, rejected) in counts.items():
        traffic_counts_add(use_case_id=use_case_id, accepted=inserted, duplicate=duplicates, rejected=rejected)
    result = OtlpResult(accepted=accepted, duplicate=duplicate, rejected=len(errors), ignored=dict(contents.ignored),
                        examples=errors[:_EXAMPLE_ERRORS], rejected_codes=dict(Counter(e.code for e in errors)))
    logger.info("otlp export: %d spans, %d accepted, %d duplicate, %d rejected %s, ignored %s", contents.spans,
                accepted, duplicate, len(errors), result.rejected_codes, result.ignored)
    return result

"""Requesting, rendering and downloading compliance reports; every state change is audited in its transaction."""
import functools
import logging
from datetime import UTC, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.module_loading import import_string

from driftgate.actors import Actor, ActorKind
from driftgate.datetimes import OutOfRange, parse_aware_datetime, to_utc
from driftgate.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from driftgate.models import TokenScope
from driftgate.queueing import enqueue_on_commit, send_or_defer
from governance.audit import audit_record
from governance.models import Role, Signature, UseCase
from governance.permissions import require_role, require_scope
from governance.selectors.gates import signature_status
from reports.builders import DEFINITIONS, build_report
from reports.models import Report, ReportKind, ReportStatus
from reports.rendering import sha256_hex
from reports.selectors.common import DEFAULT_PERIOD_DAYS, MAX_PERIOD_DAYS, Period

logger = logging.getLogger(__name__)

REQUESTER_ROLES = (Role.GOVERNANCE_OWNER, Role.REVIEWER, Role.PRODUCT_OWNER, Role.PLATFORM_OWNER)
DOWNLOADER_ROLES = (*REQUESTER_ROLES, Role.VIEWER)
# The task module imports this one; naming the task by its dotted path (also its Celery name) keeps the
# dependency one-way, as Django does for classes named in settings.
RENDER_TASK = "reports.tasks.render_report"
RENDER_ACTOR = Actor.system("reports")
MAX_ERROR_LENGTH = 2000


def _require(*, actor: Actor, use_case: UseCase, roles: tuple[str, ...], action: str) -> None:
    """Let system work (scheduled jobs, the management command) through; people and tokens need a role."""
    if actor.kind == ActorKind.SYSTEM:
        return
    require_scope(actor=actor, scope=TokenScope.REPORTS_READ)
    require_role(actor=actor, use_case=use_case, roles=roles, action=action)


def parse_moment(value: str | None, *, name: str) -> datetime | None:
    """Return an aware datetime from an ISO date-time with a zone or a plain date; refuse others as invalid_period."""
    if not value:
        return None
    try:
        # A date first: parse_datetime would read "2025-03-01" as a naive midnight.
        day = parse_date(value)
    except ValueError:
        day = None
    if day is not None:
        return datetime.combine(day, time.min, tzinfo=UTC)
    moment = parse_aware_datetime(value)
    if moment is None:
        raise ValidationFailed(f"{name} must be an ISO 8601 date-time with a time zone, or a date.",
                               code="invalid_period", extra={name: value})
    return moment


def report_period(*, kind: str, start: datetime | None, end: datetime | None, now: datetime) -> Period | None:
    """Return the period a report covers, defaulting to the last 30 whole days; refuse a bad one with invalid_period."""
    if (start is None) != (end is None):
        raise ValidationFailed("Give both start and end, or neither.", code="invalid_period",
                               extra={"start": start, "end": end})
    if start is None:
        if not DEFINITIONS[kind].needs_period:
            return None
        # Whole hours, so the period lines up with the hourly drift windows it summarises.
        end = now.replace(minute=0, second=0, microsecond=0)
        return Period(start=end - timedelta(days=DEFAULT_PERIOD_DAYS), end=end)
    assert end is not None  # given together with start, checked above
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("start and end need a time zone (for example 2025-01-01T00:00:00Z).",
                               code="invalid_period", extra={"start": start, "end": end})
    try:
        # Callers of the service may pass any aware time; stored parameters and queries are in UTC.
        start, end = to_utc(start), to_utc(end)
    except OutOfRange as exc:
        raise ValidationFailed("start and end must lie within the years 1 to 9999 in UTC.", code="invalid_period",
                               extra={"start": start, "end": end}) from exc
    if end <= start:
        raise ValidationFailed("The period's end must come after its start.", code="invalid_period",
                               extra={"start": start, "end": end})
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise ValidationFailed(f"A report covers at most {MAX_PERIOD_DAYS} days; request several.",
                               code="invalid_period", extra={"start": start, "end": end, "max_days": MAX_PERIOD_DAYS})
    return Period(start=start, end=end)


def _report_view(report: Report) -> dict:
    return {"kind": report.kind, "use_case": report.use_case.slug, "status": report.status,
            "parameters": report.parameters, "sha256": report.sha256, "size": report.size,
            "chain_head": report.chain_head, "file": report.file.name}


def report_request(*, actor: Actor, use_case: UseCase, kind: str, start: datetime | None = None,
                   end: datetime | None = None, enqueue: bool = True) -> Report:
    """Record a report request and queue its rendering once the request has committed."""
    if kind not in ReportKind.values:
        raise ValidationFailed(f"Unknown report kind {kind!r}.", code="invalid_report_kind",
                               extra={"valid_kinds": list(ReportKind.values)})
    _require(actor=actor, use_case=use_case, roles=REQUESTER_ROLES, action="request reports")
    now = timezone.now()
    period = report_period(kind=kind, start=start, end=end, now=now)
    parameters = {
        "kind": kind,
        "start": period.start.isoformat() if period else None,
        "end": period.end.isoformat() if period else None,
        "period_defaulted": period is not None and start is None,
        "requested_by": actor.display,
    }
    with transaction.atomic():
        report = Report.objects.create(
            kind=kind, use_case=use_case, parameters=parameters, requested_at=now,
            requested_by=actor.user if actor.kind != ActorKind.SYSTEM else None,
            requested_by_display=actor.display[:300],
        )
        audit_record(actor=actor, action="report.requested", obj=report, use_case=use_case,
                     after=_report_view(report))
        if enqueue:
            report_id = report.pk
            enqueue_on_commit(lambda: import_string(RENDER_TASK).delay(report_id), what=f"report {report_id}")
    return report


def signature_validity(signature: Signature) -> tuple[bool | None, str]:
    """Return whether a signature still matches its gate's content now, and how that was decided."""
    status = signature_status(signature)
    if status["valid"]:
        return True, "the gate's content still hashes to the signed value"
    return False, f"the gate's content changed after signing (now {status['current_hash'][:16]}…)"


def _lock(report_id: int) -> Report:
    report = Report.objects.select_for_update().select_related("use_case").filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"Report {report_id} does not exist.", code="report_not_found", extra={"id": report_id})
    return report


def report_render(*, report_id: int) -> Report:
    """Gather and render a report outside any transaction, then store its file and SHA-256; a ready one is kept."""
    with transaction.atomic():
        report = _lock(report_id)
        if report.status == ReportStatus.READY:
            return report
        report.status = ReportStatus.RENDERING
        report.started_at = timezone.now()
        report.error = ""
        report.save(update_fields=["status", "started_at", "error"])

    # Slow work with no transaction open: rendering a year of runs takes seconds and must not hold row locks.
    params = report.parameters
    period = (Period(start=datetime.fromisoformat(params["start"]), end=datetime.fromisoformat(params["end"]))
              if params.get("start") else None)
    generated_at = timezone.now()
    try:
        built = build_report(kind=report.kind, use_case=report.use_case, period=period, generated_at=generated_at,
                             parameters=params, signature_check=signature_validity)
    except (OperationalError, InterfaceError):
        # The database went away: a later attempt can succeed, so the task retries instead of failing the report.
        raise
    except Exception as error:  # noqa: BLE001 - any other failure is this report's outcome, recorded and not retried
        logger.exception("report %s failed to render", report_id)
        return _report_fail(report_id=report_id, error=error)

    # One file per attempt: a duplicate delivery rendering concurrently never overwrites the file that was hashed.
    name = f"{report.use_case.slug}/report-{report.pk}-{report.kind}-{generated_at:%Y%m%dT%H%M%S%f}.pdf"
    stored_name = report.file.storage.save(name, ContentFile(built.pdf))
    with transaction.atomic():
        report = _lock(report_id)
        if report.status == ReportStatus.READY:
            report.file.storage.delete(stored_name)
            return report
        report.file.name = stored_name
        report.sha256 = sha256_hex(built.pdf)
        report.size = len(built.pdf)
        report.chain_head = built.chain_head
        report.status = ReportStatus.READY
        report.finished_at = timezone.now()
        report.save(update_fields=["file", "sha256", "size", "chain_head", "status", "finished_at"])
        audit_record(actor=RENDER_ACTOR, action="report.rendered", obj=report, use_case=report.use_case,
                     after=_report_view(report))
    return report


def report_mark_failed(*, report_id: int, error: BaseException) -> Report:
    """Record that rendering gave up (its retries for a transient error ran out), so no report waits forever."""
    return _report_fail(report_id=report_id, error=error)


def _report_fail(*, report_id: int, error: BaseException) -> Report:
    """Mark a report failed with the error's text, unless a concurrent attempt already finished it."""
    with transaction.atomic():
        report = _lock(report_id)
        if report.status == ReportStatus.READY:
            return report
        report.status = ReportStatus.FAILED
        report.error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "error", "finished_at"])
        audit_record(actor=RENDER_ACTOR, action="report.failed", obj=report, use_case=report.use_case,
                     after=_report_view(report), reason=report.error)
    return report


def report_download(*, actor: Actor, report: Report) -> tuple[bytes, str]:
    """Return a ready report's bytes and file name after checking them against the stored SHA-256; audited."""
    _require(actor=actor, use_case=report.use_case, roles=DOWNLOADER_ROLES, action="download reports")
    if report.status != ReportStatus.READY:
        raise Conflict(f"Report {report.pk} is {report.status}, not ready.", code="report_not_ready",
                       extra={"id": report.pk, "status": report.status})
    try:
        with report.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError as error:
        logger.error("report %s: file %s is missing", report.pk, report.file.name)
        raise ApplicationError("The report's file is missing from storage.", code="report_file_missing",
                               status_code=500, extra={"id": report.pk}) from error
    if sha256_hex(content) != report.sha256:
        # A file that no longer matches its recorded hash is never handed out as the report.
        logger.error("report %s: file %s does not match its SHA-256", report.pk, report.file.name)
        raise ApplicationError("The report's file does not match its recorded SHA-256.",
                               code="report_integrity_failed", status_code=500, extra={"id": report.pk})
    with transaction.atomic():
        audit_record(actor=actor, action="report.downloaded", obj=report, use_case=report.use_case,
                     after={"sha256": report.sha256, "size": report.size, "filename": report.filename})
    return content, report.filename


def reports_requeue_waiting(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Queue again the reports still `queued` after `older_than`: their message was lost with the broker."""
    cutoff = timezone.now() - older_than
    waiting = list(Report.objects.filter(status=ReportStatus.QUEUED, requested_at__lt=cutoff)
                   .order_by("requested_at").values_list("pk", flat=True))
    task = import_string(RENDER_TASK)
    sent = 0
    for report_id in waiting:
        # A report already rendered by an earlier delivery is left as it is by render_report; a second is harmless.
        if not send_or_defer(functools.partial(task.delay, report_id), what=f"report {report_id}"):
            break
        sent += 1
    return sent

"""Celery tasks of the `reports` queue: render one stored report; re-send the ones whose message was lost."""
import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from reports.services import report_mark_failed, report_render, reports_requeue_waiting

logger = logging.getLogger(__name__)

# Only errors a later attempt can outlive: the database briefly away. Everything else fails the report (recorded on
# it by the service), because rendering the same data again would fail the same way.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# A year of hourly runs renders in well under a minute on two cores (docs/benchmarks-reports.md); the soft limit
# leaves the service time to record the failure before the hard limit kills the process.
SOFT_TIME_LIMIT = 300
HARD_TIME_LIMIT = 360


class RenderReportTask(Task):
    """Marks the report failed once Celery gives up on it, so it never stays `rendering`."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        report_id = args[0] if args else kwargs.get("report_id")
        try:
            report_mark_failed(report_id=report_id, error=exc)
        except (OperationalError, InterfaceError):
            # The database that made the retries run out may still be away; the report then stays `rendering`
            # and a new request renders it again.
            logger.exception("could not mark report %s failed", report_id)


@shared_task(base=RenderReportTask, name="reports.tasks.render_report", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=True, retry_backoff_max=300, retry_jitter=True, max_retries=5)
def render_report(report_id: int) -> str:
    """Render the report if it is not ready yet (a re-delivered message finds it ready and does nothing)."""
    return report_render(report_id=report_id).status


@shared_task(name="reports.tasks.requeue_waiting_reports", acks_late=True, soft_time_limit=60, time_limit=120)
def requeue_waiting_reports() -> int:
    """Re-send render messages of reports still waiting in `queued` (lost while the broker was away)."""
    return reports_requeue_waiting()

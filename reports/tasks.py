"""Celery task of the `reports` queue: render one stored report."""
from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports.services import report_render

# Only errors a later attempt can outlive: the database briefly away. Everything else fails the report (recorded on
# it by the service), because rendering the same data again would fail the same way.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# A year of hourly runs renders in well under a minute on two cores (docs/benchmarks-reports.md); the soft limit
# leaves the service time to record the failure before the hard limit kills the process.
SOFT_TIME_LIMIT = 300
HARD_TIME_LIMIT = 360


@shared_task(name="reports.tasks.render_report", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=True, retry_backoff_max=300, retry_jitter=True, max_retries=5)
def render_report(report_id: int) -> str:
    """Render the report if it is not ready yet (a re-delivered message finds it ready and does nothing)."""
    return report_render(report_id=report_id).status

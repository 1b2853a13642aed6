"""The daily retention task: partitions for the coming months, then expired traffic purged."""
from celery import shared_task
from django.utils import timezone

from driftgate.actors import Actor
from monitoring.services.retention import traffic_partitions_prepare, traffic_purge
from monitoring.tasks.embedding import TRANSIENT_ERRORS


@shared_task(name="monitoring.tasks.traffic_retention", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=1800, time_limit=2100, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True,
             retry_backoff_max=600, retry_jitter=True, max_retries=5)
def traffic_retention() -> dict:
    """Prepare partitions ahead and purge expired traffic; running it twice in a day removes nothing more."""
    now = timezone.now()
    created = traffic_partitions_prepare(now=now)
    purged = traffic_purge(actor=Actor.system("traffic_retention"), now=now)
    return {"partitions_created": created, **purged.as_dict()}

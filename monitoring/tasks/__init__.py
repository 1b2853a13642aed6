"""Celery tasks of monitoring; Celery's autodiscovery imports this package, which imports each task module."""
from monitoring.tasks import (
    drift,  # noqa: F401
    embedding,  # noqa: F401
    probes,  # noqa: F401
    retention,  # noqa: F401
)

"""Celery tasks of monitoring; Celery's autodiscovery imports this package, which imports each task module."""
from monitoring.tasks import embedding  # noqa: F401
from monitoring.tasks import drift  # noqa: F401
from monitoring.tasks import probes  # noqa: F401

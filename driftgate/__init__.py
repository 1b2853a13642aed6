"""Driftgate: governance, drift monitoring and compliance reports for fine-tuned LLM systems."""
from driftgate.celery import app as celery_app

__all__ = ["celery_app"]

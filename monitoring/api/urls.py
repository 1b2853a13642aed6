"""Monitoring API routes under /api/v1/."""
from django.urls import re_path

from monitoring.api.traffic import TrafficIngestView

urlpatterns: list = []

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/traffic/?$", TrafficIngestView.as_view(), name="traffic-ingest"),
]

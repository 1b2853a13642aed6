"""The OTLP/HTTP receiver's route, at the root as OTLP exporters expect (`<base URL>/v1/traces`)."""
from django.urls import path

from monitoring.api.otlp import OtlpTracesView

urlpatterns = [
    path("v1/traces", OtlpTracesView.as_view(), name="otlp-traces"),
]

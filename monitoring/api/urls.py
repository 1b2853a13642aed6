"""Monitoring API routes under /api/v1/."""
from django.urls import re_path

from monitoring.api.alerts import (
    AlertConfirmStopView,
    AlertDetailView,
    AlertIncidentView,
    AlertResolveView,
    AlertTriageView,
    UseCaseAlertsView,
)
from monitoring.api.baselines import BaselineDetailView, UseCaseBaselinesView
from monitoring.api.policies import PolicyView
from monitoring.api.probes import (
    GoldenSetDetailView,
    GoldenSetVersionsView,
    ModelVersionEndpointsView,
    ModelVersionEndpointView,
    ProbePolicyView,
    ProbeRunDetailView,
    ProbeRunResultsView,
    UseCaseGoldenSetsView,
    UseCaseProbeRunsView,
)
from monitoring.api.runs import RunDetailView, UseCaseRunsView
from monitoring.api.traffic import TrafficIngestView

urlpatterns: list = []

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/traffic/?$", TrafficIngestView.as_view(), name="traffic-ingest"),
]

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/runs/?$", UseCaseRunsView.as_view(), name="drift-runs"),
    re_path(r"^runs/(?P<pk>[0-9]{1,18})/?$", RunDetailView.as_view(), name="drift-run-detail"),
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/alerts/?$", UseCaseAlertsView.as_view(), name="alerts"),
    re_path(r"^alerts/(?P<pk>[0-9]{1,18})/?$", AlertDetailView.as_view(), name="alert-detail"),
    re_path(r"^alerts/(?P<pk>[0-9]{1,18})/triage/?$", AlertTriageView.as_view(), name="alert-triage"),
    re_path(r"^alerts/(?P<pk>[0-9]{1,18})/confirm-stop/?$", AlertConfirmStopView.as_view(), name="alert-confirm-stop"),
    re_path(r"^alerts/(?P<pk>[0-9]{1,18})/resolve/?$", AlertResolveView.as_view(), name="alert-resolve"),
    re_path(r"^alerts/(?P<pk>[0-9]{1,18})/incident/?$", AlertIncidentView.as_view(), name="alert-incident"),
]

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/baselines/?$", UseCaseBaselinesView.as_view(), name="baselines"),
    re_path(r"^baselines/(?P<baseline_id>[0-9]{1,18})/?$", BaselineDetailView.as_view(), name="baseline-detail"),
]

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/policy/?$", PolicyView.as_view(), name="monitoring-policy"),
]

urlpatterns += [
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/golden-sets/?$", UseCaseGoldenSetsView.as_view(), name="golden-sets"),
    re_path(r"^golden-sets/(?P<pk>[0-9]{1,18})/?$", GoldenSetDetailView.as_view(), name="golden-set-detail"),
    re_path(r"^golden-sets/(?P<pk>[0-9]{1,18})/versions/?$", GoldenSetVersionsView.as_view(),
            name="golden-set-versions"),
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/model-versions/(?P<model_version_id>[0-9]{1,18})/endpoints/?$",
            ModelVersionEndpointsView.as_view(), name="model-version-endpoints"),
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/model-versions/(?P<model_version_id>[0-9]{1,18})/endpoints/"
            r"(?P<target>[a-z]+)/?$", ModelVersionEndpointView.as_view(), name="model-version-endpoint"),
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/probe-policy/?$", ProbePolicyView.as_view(), name="probe-policy"),
    re_path(r"^use-cases/(?P<slug>[a-z0-9-]+)/probe-runs/?$", UseCaseProbeRunsView.as_view(), name="probe-runs"),
    re_path(r"^probe-runs/(?P<pk>[0-9]{1,18})/?$", ProbeRunDetailView.as_view(), name="probe-run-detail"),
    re_path(r"^probe-runs/(?P<pk>[0-9]{1,18})/results/?$", ProbeRunResultsView.as_view(), name="probe-run-results"),
]

"""Routes of the monitoring pages (namespace `monitoring`)."""
from django.urls import path

from monitoring.pages import setup, views

app_name = "monitoring"

urlpatterns = [
    path("use-cases/<slug:slug>/monitoring/", views.monitoring_page, name="use-case"),
    path("use-cases/<slug:slug>/baselines/", setup.baselines_page, name="baselines"),
    path("use-cases/<slug:slug>/policy/", setup.policy_page, name="policy"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("alerts/", views.alert_queue_page, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_page, name="alert"),
]

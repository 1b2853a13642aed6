"""Routes of the reports page (namespace `reports`)."""
from django.urls import path

from reports.pages import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.reports_page, name="list"),
    path("reports/<int:report_id>/row/", views.report_row, name="row"),
    path("reports/<int:report_id>/file/", views.report_file, name="file"),
    path("reports/<int:report_id>/check/", views.report_check, name="check"),
]

"""Report API routes under /api/v1/ (a trailing slash is optional, as everywhere in the API)."""
from django.urls import re_path

from reports.api.views import ReportDetailView, ReportDownloadView, ReportListView

urlpatterns = [
    re_path(r"^reports/?$", ReportListView.as_view(), name="report-list"),
    re_path(r"^reports/(?P<pk>[0-9]+)/?$", ReportDetailView.as_view(), name="report-detail"),
    re_path(r"^reports/(?P<pk>[0-9]+)/download/?$", ReportDownloadView.as_view(), name="report-download"),
]

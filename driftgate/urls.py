"""URL routes: the pages, sign-in, admin, the versioned REST API, the OpenAPI schema and its offline documentation."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from driftgate.views import api_root, health
from governance.pages.views.home import home

api_v1 = [
    path("", api_root, name="api-root"),
    path("", include("governance.api.urls")),
    path("", include("monitoring.api.urls")),
    path("", include("reports.api.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health, name="health"),
    path("accounts/", include("driftgate.accounts")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("governance.pages.urls")),
    # Monitoring, reports and audit-log pages.
    path("", include("monitoring.pages.urls")),
    path("", include("reports.pages.urls")),
    path("", include("governance.pages.audit")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]

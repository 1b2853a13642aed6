"""URL routes: the pages, sign-in, admin, the versioned REST API, the OpenAPI schema and its offline documentation."""
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from driftgate.views import api_root, health, ready
from governance.pages.views.home import home

# Redoc's bundle adds two fixed <style> elements while it loads, before it can be handed the nonce (the empty one
# and its base styles); their hashes admit exactly those. Everything it styles later carries the nonce. Its search
# index runs in a worker the bundle creates from a blob of its own code.
REDOC_POLICY = {"style-src": ["'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
                              "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"],
                "worker-src": ["'self'", "blob:"]}

api_v1: list[URLPattern | URLResolver] = [
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
    path("healthz/ready", ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", csp_update(REDOC_POLICY)(SpectacularRedocView.as_view(url_name="schema")),
         name="api-redoc"),
]

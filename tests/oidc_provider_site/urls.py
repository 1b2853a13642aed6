"""The provider's routes: its own sign-in page, django-oidc-provider's endpoints under /openid/ and the suite's
seeding route (tests/oidc_provider_site/seeding.py)."""
from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils import timezone
from oidc_provider.lib.endpoints.authorize import AuthorizeEndpoint
from oidc_provider.views import AuthorizeView

from tests.oidc_provider_site.seeding import seed_user


class FreshLoginAuthorizeEndpoint(AuthorizeEndpoint):
    """django-oidc-provider compares `max_age` with whole seconds of `last_login`: with `max_age=0`, the login that
    the request itself forced counts as too old once a second boundary passes, and the person is sent to sign in
    again forever. A login of the last few seconds is the one this request asked for, as a provider that tracks
    the login per request would see it; it still records `auth_time` from that login."""

    def is_authentication_age_is_greater_than_max_age(self) -> bool:
        user = self.request.user
        if user.is_authenticated and user.last_login and timezone.now() - user.last_login < timedelta(seconds=5):
            return False
        return super().is_authentication_age_is_greater_than_max_age()


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    re_path(r"^openid/authorize/?$", AuthorizeView.as_view(authorize_endpoint_class=FreshLoginAuthorizeEndpoint)),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
    path("test-seed/user/", seed_user),
]

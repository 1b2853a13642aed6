"""Sign-in, sign-out and password change for every person (not only staff); the admin stays for staff."""
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _


def sso_provider_name() -> str:
    """Return the single sign-on provider's name for the pages: the configured one, else "single sign-on" translated."""
    return settings.DRIFTGATE_OIDC_PROVIDER_NAME or _("single sign-on")


class LoginView(auth_views.LoginView):
    """The sign-in page: username and password, and a "Sign in with <provider>" button when single sign-on is on."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        """Add the single sign-on button's provider name (read per request: configuration, not code)."""
        context = super().get_context_data(**kwargs)
        context["sso_provider"] = sso_provider_name() if settings.DRIFTGATE_OIDC_ENABLED else ""
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        return context


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password_change_done")),
         name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

"""Routes of single sign-on, under /accounts/sso/ (register both callbacks as redirect URIs at the provider)."""
from django.urls import path

from governance.sso.views import OidcCallbackView, OidcLoginView, reauthentication_callback

urlpatterns = [
    path("login/", OidcLoginView.as_view(), name="oidc_authentication_init"),
    path("callback/", OidcCallbackView.as_view(), name="oidc_authentication_callback"),
    path("reauthenticate/callback/", reauthentication_callback, name="oidc_reauthentication_callback"),
]

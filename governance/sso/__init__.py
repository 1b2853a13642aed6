"""Single sign-on with OpenID Connect (mozilla-django-oidc): the login flow, and the re-authentication that lets a
person who signs in only through the provider sign decisions. Off unless DRIFTGATE_OIDC_ENABLED is set."""

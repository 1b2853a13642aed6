"""A real OpenID Connect provider (django-oidc-provider) that the suite runs in a second process, with its own
SQLite database, so Driftgate's single sign-on and signing re-authentication are tested against real tokens."""

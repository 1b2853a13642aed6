"""Login lockout at the authentication-backend level, so every login (admin, pages, API) shares one counter."""
from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check; a login without a request (a shell, a management command) is not throttled.

    axes refuses `authenticate()` without a request; code running on the server itself (tests' `Client.login`,
    scripts) has no client address to lock and is not an attack surface, so it passes on to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

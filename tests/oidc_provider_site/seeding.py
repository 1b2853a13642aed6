"""The provider's seeding route for the suite: create (or reset) one person over HTTP.

The harness adds a person per test; a management command for that started a new process with django.setup()
each time, seconds on busy cores. The route does what `provider_seed --user` does for its people, in the running
provider, and answers only a request carrying the per-run seed token from the environment of both processes.
"""
import hmac
import os

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def seed_user(request: HttpRequest) -> HttpResponse:
    """Create or reset the person named by username, email and password in the POST body."""
    token = os.environ.get("OIDC_PROVIDER_SEED_TOKEN", "")
    if not token or not hmac.compare_digest(request.headers.get("X-Seed-Token", ""), token):
        return HttpResponseForbidden("seed token required")
    user, _ = get_user_model().objects.get_or_create(username=request.POST["username"],
                                                     defaults={"email": request.POST["email"]})
    user.email = request.POST["email"]
    user.set_password(request.POST["password"])
    user.save()
    return HttpResponse("seeded")

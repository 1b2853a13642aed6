"""Pytest fixtures that run the test OpenID Connect provider in its own process and point Driftgate at it.

`oidc_provider` (session): migrates a fresh SQLite database, creates the signing key and a confidential client whose
redirect URIs are the live server's two callbacks, and serves the provider with runserver on a free port.
`sso` (per test): switches Driftgate's single sign-on on against it, through settings, as the environment would.
"""
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "tests.oidc_provider_site.settings"
CLIENT_ID = "driftgate-tests"
# Generated per run: the client secret is only ever in the environment of both processes.
CLIENT_SECRET = os.urandom(24).hex()
SEED_TOKEN = os.urandom(24).hex()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Provider:
    """The running provider: its URLs, and a way to add people who can sign in there."""

    url: str
    env: dict
    redirect_uris: list

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def manage(self, *args: str) -> str:
        """Run one of the provider's management commands and return its output."""
        done = subprocess.run([sys.executable, "-m", "django", *args, f"--settings={SETTINGS}"], env=self.env,
                              cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"provider command {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def add_user(self, username: str, email: str, password: str) -> None:
        """Create (or reset) a person at the running provider, through its seeding route (no new process)."""
        done = requests.post(f"{self.url}/test-seed/user/", data={"username": username, "email": email,
                                                                  "password": password},
                             headers={"X-Seed-Token": SEED_TOKEN}, timeout=30)
        if not done.ok:
            raise RuntimeError(f"the provider refused to seed {username}: {done.status_code} {done.text[:200]}")


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    """A real django-oidc-provider serving on 127.0.0.1, registered with the live server's callbacks."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OIDC_PROVIDER_SITE_URL": url,
           "OIDC_PROVIDER_DB": str(tmp_path_factory.mktemp("oidc-provider") / "provider.sqlite3"),
           "OIDC_PROVIDER_SEED_TOKEN": SEED_TOKEN}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
        env.pop(name, None)
    provider = Provider(url=url, env=env, redirect_uris=[f"{live_server.url}/accounts/sso/callback/",
                                                         f"{live_server.url}/accounts/sso/reauthenticate/callback/"])
    provider.manage("migrate", "-v", "0")
    provider.manage("provider_seed", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
                    *[arg for uri in provider.redirect_uris for arg in ("--redirect-uri", uri)])
    log = open(tmp_path_factory.mktemp("oidc-provider-log") / "provider.log", "w")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload",
                                f"--settings={SETTINGS}"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test OIDC provider did not start; see {log.name}")
            time.sleep(0.2)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def sso(settings, oidc_provider):
    """Switch single sign-on on against the test provider, as DRIFTGATE_OIDC_* in the environment would."""
    discovery = requests.get(f"{oidc_provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    settings.DRIFTGATE_OIDC_ENABLED = True
    settings.DRIFTGATE_OIDC_PROVIDER_NAME = "Test IdP"
    settings.DRIFTGATE_OIDC_ISSUER = discovery["issuer"]
    settings.DRIFTGATE_OIDC_USER_CLAIM = "email"
    settings.DRIFTGATE_OIDC_CREATE_USERS = False
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    return oidc_provider


def provider_sign_in(session: requests.Session, response: requests.Response, username: str,
                     password: str) -> requests.Response:
    """Fill the provider's sign-in form that `response` shows, as a person would, and follow the redirects."""
    assert "Test provider: sign in" in response.text, response.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)
    nxt = re.search(r'name="next" value="([^"]*)"', response.text).group(1).replace("&amp;", "&")
    return session.post(response.url, data={"csrfmiddlewaretoken": token, "username": username,
                                            "password": password, "next": nxt},
                        headers={"Referer": response.url})

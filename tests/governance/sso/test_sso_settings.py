"""Single sign-on is configured by the environment and refuses to start half configured.

The checks live in the settings module itself (it raises ImproperlyConfigured while it is read, which is what makes
`django.setup()` and every management command refuse to start), so each test reads a fresh copy of that module
under the environment it describes, with every DJANGO_ and DRIFTGATE_OIDC_ variable of the test run removed, as
a new process would. This costs a fraction of a second; a process with django.setup() per case cost seconds each.
"""
import os
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parents[3] / "driftgate" / "settings.py"

COMPLETE = {
    "DRIFTGATE_OIDC_ENABLED": "1", "DRIFTGATE_OIDC_ISSUER": "https://idp.example.com",
    "DRIFTGATE_OIDC_CLIENT_ID": "driftgate", "DRIFTGATE_OIDC_CLIENT_SECRET": "s3cret-from-env",
    "DRIFTGATE_OIDC_AUTHORIZATION_ENDPOINT": "https://idp.example.com/authorize",
    "DRIFTGATE_OIDC_TOKEN_ENDPOINT": "https://idp.example.com/token",
    "DRIFTGATE_OIDC_USERINFO_ENDPOINT": "https://idp.example.com/userinfo",
    "DRIFTGATE_OIDC_JWKS_ENDPOINT": "https://idp.example.com/jwks",
}


@pytest.fixture
def read_settings(monkeypatch):
    """Read driftgate/settings.py afresh under the given DRIFTGATE_OIDC_ variables and return its names."""
    def read(**env: str) -> dict:
        for key in list(os.environ):
            if key.startswith(("DJANGO_", "DRIFTGATE_OIDC_")):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return runpy.run_path(str(SETTINGS))
    return read


def test_it_is_off_without_configuration(read_settings):
    settings = read_settings()
    assert settings["DRIFTGATE_OIDC_ENABLED"] is False
    assert settings["OIDC_RP_CLIENT_SECRET"] == ""


def test_switched_on_it_names_every_missing_variable(read_settings):
    env = {**COMPLETE}
    del env["DRIFTGATE_OIDC_TOKEN_ENDPOINT"], env["DRIFTGATE_OIDC_CLIENT_SECRET"]

    with pytest.raises(ImproperlyConfigured) as refused:
        read_settings(**env)

    assert "DRIFTGATE_OIDC_TOKEN_ENDPOINT" in str(refused.value)
    assert "DRIFTGATE_OIDC_CLIENT_SECRET or DRIFTGATE_OIDC_CLIENT_SECRET_FILE" in str(refused.value)


def test_the_client_secret_may_come_from_a_mounted_file(read_settings, tmp_path):
    secret = tmp_path / "client-secret"
    secret.write_text("from-a-file\n")
    env = {**COMPLETE, "DRIFTGATE_OIDC_CLIENT_SECRET_FILE": str(secret)}
    del env["DRIFTGATE_OIDC_CLIENT_SECRET"]

    settings = read_settings(**env)

    assert settings["DRIFTGATE_OIDC_ENABLED"] is True
    assert settings["OIDC_RP_CLIENT_SECRET"] == "from-a-file"


def test_complete_configuration_starts(read_settings):
    settings = read_settings(**COMPLETE)

    assert settings["DRIFTGATE_OIDC_ENABLED"] is True
    assert settings["OIDC_RP_CLIENT_SECRET"] == "s3cret-from-env"


def test_scopes_without_openid_are_refused(read_settings):
    with pytest.raises(ImproperlyConfigured, match="must include openid"):
        read_settings(**COMPLETE, DRIFTGATE_OIDC_SCOPES="email profile")

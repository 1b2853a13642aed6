"""Single sign-on is configured by the environment and refuses to start half configured."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

COMPLETE = {
    "DRIFTGATE_OIDC_ENABLED": "1", "DRIFTGATE_OIDC_ISSUER": "https://idp.example.com",
    "DRIFTGATE_OIDC_CLIENT_ID": "driftgate", "DRIFTGATE_OIDC_CLIENT_SECRET": "s3cret-from-env",
    "DRIFTGATE_OIDC_AUTHORIZATION_ENDPOINT": "https://idp.example.com/authorize",
    "DRIFTGATE_OIDC_TOKEN_ENDPOINT": "https://idp.example.com/token",
    "DRIFTGATE_OIDC_USERINFO_ENDPOINT": "https://idp.example.com/userinfo",
    "DRIFTGATE_OIDC_JWKS_ENDPOINT": "https://idp.example.com/jwks",
}


def _settings(code: str, **env):
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "DRIFTGATE_OIDC_"))}
    full_env.update(env, DJANGO_SETTINGS_MODULE="driftgate.settings", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
                          cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


def test_it_is_off_without_configuration():
    result = _settings("print(settings.DRIFTGATE_OIDC_ENABLED, settings.OIDC_RP_CLIENT_SECRET == '')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_switched_on_it_names_every_missing_variable():
    env = {**COMPLETE}
    del env["DRIFTGATE_OIDC_TOKEN_ENDPOINT"], env["DRIFTGATE_OIDC_CLIENT_SECRET"]

    result = _settings("pass", **env)

    assert result.returncode != 0
    assert "DRIFTGATE_OIDC_TOKEN_ENDPOINT" in result.stderr
    assert "DRIFTGATE_OIDC_CLIENT_SECRET or DRIFTGATE_OIDC_CLIENT_SECRET_FILE" in result.stderr


def test_the_client_secret_may_come_from_a_mounted_file(tmp_path):
    secret = tmp_path / "client-secret"
    secret.write_text("from-a-file\n")
    env = {**COMPLETE, "DRIFTGATE_OIDC_CLIENT_SECRET_FILE": str(secret)}
    del env["DRIFTGATE_OIDC_CLIENT_SECRET"]

    result = _settings("print(settings.OIDC_RP_CLIENT_SECRET)", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file"


def test_scopes_without_openid_are_refused():
    result = _settings("pass", **COMPLETE, DRIFTGATE_OIDC_SCOPES="email profile")

    assert result.returncode != 0 and "must include openid" in result.stderr

"""`check --deploy` refuses production without audit keys and a sink, or with a database user that owns the log."""
import os
import subprocess
import sys
from pathlib import Path

from governance.auditlog.checks import audit_role_problems
from tests.conftest import APP_ROLE, OWNER_ROLE, as_role
from tests.governance.audit.helpers import database_url_as, production_audit_env

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 20 + "-production-like-key-for-the-check-0123456789",
              "DJANGO_ALLOWED_HOSTS": "driftgate.example.com"}


def _deploy_check(**env) -> subprocess.CompletedProcess:
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "DRIFTGATE_AUDIT_"))}
    full_env.update(PRODUCTION, **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=120)


def test_the_application_role_of_the_suite_passes_the_role_check(postgres_only):
    assert audit_role_problems() == []


def test_the_owner_role_and_a_superuser_fail_the_role_check(postgres_only):
    with as_role(OWNER_ROLE):
        owner = audit_role_problems()
    with as_role(None):
        superuser = audit_role_problems()
    assert any("owns governance_auditevent" in problem for problem in owner)
    assert any("superuser" in problem for problem in superuser)


def test_check_deploy_fails_when_the_database_user_owns_the_audit_table(postgres_only, tmp_path):
    result = _deploy_check(**production_audit_env(tmp_path), DATABASE_URL=database_url_as(OWNER_ROLE))
    assert result.returncode != 0
    assert "governance.E105" in result.stderr and "owns governance_auditevent" in result.stderr


def test_check_deploy_fails_without_audit_keys_and_sink(postgres_only):
    result = _deploy_check(DATABASE_URL=database_url_as(APP_ROLE))
    assert result.returncode != 0
    for code in ("governance.E102", "governance.E103", "governance.E104"):
        assert code in result.stderr


def test_check_deploy_fails_with_key_files_that_do_not_hold_keys(postgres_only, tmp_path):
    env = production_audit_env(tmp_path)
    for variable in ("DRIFTGATE_AUDIT_HMAC_KEYS_FILE", "DRIFTGATE_AUDIT_SIGNING_KEY_FILE"):
        Path(env[variable]).write_text("not a key\n")
    result = _deploy_check(**env, DATABASE_URL=database_url_as(APP_ROLE))
    assert result.returncode != 0
    assert "governance.E102" in result.stderr and "governance.E103" in result.stderr

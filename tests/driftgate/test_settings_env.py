"""Settings read the environment through helpers that fail loudly, and production settings pass the deploy check."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from driftgate.env import database_from_url, env_bool, env_int, env_list
from tests.conftest import APP_ROLE
from tests.governance.audit.helpers import database_url_as, production_audit_env

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool_refuses_an_unknown_spelling(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_bool_reads_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("off", False), ("", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG", not expected) is expected


def test_env_int_enforces_its_minimum(monkeypatch):
    monkeypatch.setenv("X_INT", "3")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("X_INT", 10, minimum=5)
    monkeypatch.setenv("X_INT", "three")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_INT", 10)


def test_env_list_splits_and_strips(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example.com, ,b.example.com ")
    assert env_list("X_LIST", []) == ["a.example.com", "b.example.com"]


def test_database_urls_translate_for_both_engines():
    pg = database_from_url("postgres://app:s%40cret@db.internal:6543/driftgate?sslmode=require")
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql", "driftgate", "app", "s@cret", "db.internal", "6543")
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("sqlite:////srv/dg.sqlite3")["NAME"] == "/srv/dg.sqlite3"
    assert database_from_url("sqlite:///var/dg.sqlite3")["NAME"] == "var/dg.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x@y/z")
    assert database_from_url("postgres://app@db/dg?prepare_threshold=none")["OPTIONS"] == {"prepare_threshold": None}
    assert database_from_url("postgres://app@db/dg?prepare_threshold=5")["OPTIONS"] == {"prepare_threshold": 5}
    with pytest.raises(ImproperlyConfigured, match="prepare_threshold"):
        database_from_url("postgres://app@db/dg?prepare_threshold=often")


def _manage(*args, **env):
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="driftgate.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check(postgres_only, tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        **production_audit_env(tmp_path), DATABASE_URL=database_url_as(APP_ROLE),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 20 + "-production-like-key-for-the-check-0123456789",
        DJANGO_ALLOWED_HOSTS="driftgate.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

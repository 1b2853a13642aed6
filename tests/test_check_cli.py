"""`driftgate-check` against a real running server: exit 0 (ok), 1 (not ok), 2 (error)."""
import http.server
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from driftgate.actors import Actor
from driftgate.check import main, status_url
from governance.models import UseCase
from governance.services.tokens import api_token_create
from tests.factories import MembershipFactory, UseCaseFactory, UserFactory

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("DRIFTGATE_URL", "DRIFTGATE_TOKEN", "DRIFTGATE_USE_CASE", "DRIFTGATE_REQUIRE", "DRIFTGATE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ci(live_server, monkeypatch):
    """A use case, a CI user with a viewer role and a status:read token, configured through the environment."""
    use_case = UseCaseFactory(slug="invoice-bot")
    user = UserFactory(username="ci-pipeline")
    MembershipFactory(use_case=use_case, user=user, role="viewer")
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="ci",
                              scopes=["status:read"])
    monkeypatch.setenv("DRIFTGATE_URL", live_server.url)
    monkeypatch.setenv("DRIFTGATE_TOKEN", raw)
    monkeypatch.setenv("DRIFTGATE_USE_CASE", use_case.slug)
    return use_case


def run(argv=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv or [], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_an_ok_use_case_exits_0(ci):
    code, out, err = run()

    assert code == 0, err
    assert out.strip().splitlines() == ["checked: not halted; not retired; no open stop alert",
                                        "invoice-bot: OK (stage pilot)"]


@pytest.mark.django_db(transaction=True)
def test_without_require_the_use_cases_own_stage_is_checked(ci):
    UseCase.objects.filter(pk=ci.pk).update(stage="pre_production")

    code, out, _ = run()

    assert code == 1
    assert "- Gate 1, which leads to pre_production, is not approved: it has no decision yet." in out
    assert "stage pre_production reached with gate 1 approved" in out
    assert out.strip().endswith("invoice-bot: NOT OK for pre_production (stage pre_production)")


@pytest.mark.django_db(transaction=True)
def test_a_halted_use_case_exits_1_and_prints_the_reason(ci):
    UseCase.objects.filter(pk=ci.pk).update(halted=True, halted_reason="stop alert on response drift")

    code, out, _ = run()

    assert code == 1
    assert "- The use case is halted: stop alert on response drift." in out
    assert out.strip().endswith("invoice-bot: NOT OK (stage pilot, halted)")


@pytest.mark.django_db(transaction=True)
def test_a_stage_requirement_not_met_exits_1(ci):
    code, out, _ = run(["--require", "production"])

    assert code == 1
    assert "not yet production" in out and "NOT OK for production" in out


@pytest.mark.django_db(transaction=True)
def test_a_bad_token_exits_2(ci, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_TOKEN", "dg_000000000000_not-the-secret")

    code, out, err = run()

    assert code == 2 and out == ""
    assert "HTTP 401" in err and "authentication_failed" in err


@pytest.mark.django_db(transaction=True)
def test_an_unknown_use_case_exits_2(ci):
    code, _, err = run(["--use-case", "no-such-use-case"])

    assert code == 2
    assert "HTTP 404" in err and "use_case_not_found" in err


@pytest.mark.django_db(transaction=True)
def test_an_unknown_requirement_exits_2(ci, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_REQUIRE", "staging")

    code, _, err = run()

    assert code == 2 and "invalid_require" in err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_exits_2(monkeypatch):
    monkeypatch.setenv("DRIFTGATE_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("DRIFTGATE_TOKEN", "dg_x_y")
    monkeypatch.setenv("DRIFTGATE_USE_CASE", "anything")

    code, _, err = run(["--timeout", "2"])

    assert code == 2 and "Cannot reach" in err


@pytest.mark.parametrize("missing", ["DRIFTGATE_URL", "DRIFTGATE_TOKEN", "DRIFTGATE_USE_CASE"])
def test_missing_configuration_exits_2(monkeypatch, missing):
    values = {"DRIFTGATE_URL": "http://127.0.0.1:9", "DRIFTGATE_TOKEN": "dg_x_y", "DRIFTGATE_USE_CASE": "uc"}
    for name, value in values.items():
        if name != missing:
            monkeypatch.setenv(name, value)

    code, _, err = run()

    assert code == 2 and missing in err


def test_a_bad_option_exits_2(capsys):
    assert main(["--require", "moon"]) == 2


def test_an_answer_that_is_not_json_exits_2(monkeypatch):
    class NotJson(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>a proxy login page</html>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotJson)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("DRIFTGATE_URL", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("DRIFTGATE_TOKEN", "dg_x_y")
        monkeypatch.setenv("DRIFTGATE_USE_CASE", "uc")
        code, _, err = run()
    finally:
        server.shutdown()
        server.server_close()

    assert code == 2 and "not JSON" in err


def test_the_status_url_quotes_the_slug_and_adds_the_requirement():
    assert status_url("https://dg.example.com/", "a/b", "production") == (
        "https://dg.example.com/api/v1/use-cases/a%2Fb/status?require=production")
    assert status_url("https://dg.example.com", "uc", None) == "https://dg.example.com/api/v1/use-cases/uc/status"


@pytest.mark.django_db(transaction=True)
def test_the_script_runs_alone_without_any_installed_package(ci, tmp_path):
    UseCase.objects.filter(pk=ci.pk).update(halted=True, halted_reason="incident 4")
    vendored = tmp_path / "driftgate_check.py"
    shutil.copy(REPO / "driftgate" / "check.py", vendored)

    # -S: no site-packages at all, as in a bare CI image that only has Python.
    result = subprocess.run([sys.executable, "-S", str(vendored)], capture_output=True, text=True,
                            env={**os.environ}, cwd=tmp_path, timeout=60)

    assert result.returncode == 1, result.stderr
    assert "incident 4" in result.stdout

"""Every response carries the strict Content-Security-Policy: pages, the API documentation and JSON alike."""
import pytest
from rest_framework.test import APIClient

from tests.driftgate.csp import assert_strict

pytestmark = pytest.mark.django_db


def test_a_page_has_the_policy(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    # A page that needs no nonce gets none: only this origin's files run.
    assert assert_strict(response)["script-src"] == ["'self'"]


def test_each_response_gets_a_fresh_nonce(client):
    first, second = client.get("/api/docs/"), client.get("/api/docs/")

    assert assert_strict(first)["script-src"] != assert_strict(second)["script-src"]


def test_the_api_documentation_nonces_its_start_up_script(client):
    response = client.get("/api/docs/")

    policy = assert_strict(response)
    nonce = next(source for source in policy["script-src"] if source.startswith("'nonce-"))[7:-1]
    body = response.content.decode()
    assert f'<script nonce="{nonce}">' in body
    assert "<style>" not in body and "fonts.googleapis.com" not in body


def test_redoc_loads_no_web_fonts_and_no_inline_block(client):
    response = client.get("/api/redoc/")

    policy = assert_strict(response)
    assert policy["worker-src"] == ["'self'", "blob:"]
    body = response.content.decode()
    assert "<style>" not in body and "fonts.googleapis.com" not in body and "<script>" not in body


def test_an_api_response_has_the_policy(make_user):
    client = APIClient()
    client.force_authenticate(make_user("reader"))

    response = client.get("/api/v1/audit-events")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_strict(response)


def test_the_schema_and_static_files_have_the_policy(client, make_user):
    client.force_login(make_user("reader"))

    assert_strict(client.get("/api/schema/"))

"""The pages carry no inline script or style, so a strict Content-Security-Policy needs no exception for them."""
import re

import pytest
from django.test import Client

from governance.services.decisions import gate_decide
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db

INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[^>]+\sstyle=", re.I),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+=", re.I),
    "javascript: URL": re.compile(r"""(?:href|src|action)=["']?\s*javascript:""", re.I),
}


def test_no_page_has_inline_script_style_or_handlers(monkeypatch):
    monitoring_ready(monkeypatch)
    team = make_team()
    gate = gate_in_review(team, 1)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="ok",
                           role="governance_owner", password=PASSWORD)
    client = Client()
    client.force_login(team.reviewer)
    urls = ["/", "/use-cases/", f"/use-cases/{team.use_case.slug}/", f"/gates/{gate.pk}/",
            f"/gates/{gate.pk}/decide/", f"/decisions/{decision.pk}/", "/obligations/",
            f"/use-cases/{team.use_case.slug}/obligations/", "/accounts/password/"]

    found = []
    for url in urls:
        html = client.get(url).content.decode()
        found += [(url, name) for name, pattern in INLINE.items() if pattern.search(html)]
    client.logout()
    login = client.get("/accounts/login/").content.decode()
    found += [("/accounts/login/", name) for name, pattern in INLINE.items() if pattern.search(login)]

    assert found == []

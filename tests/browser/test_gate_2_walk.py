"""Gate 2 of the demo, walked in the pages alone by three people in three browsers, counting their effort.

The product owner attaches a file and URLs, completes the open items and requests the decision; the governance
owner decides "go with conditions" with one condition and signs; the platform owner co-signs; the CI status
flips to ok. The clicks and keystrokes are printed and stated in the README.
"""
import json

import pytest
from django.core.management import call_command

from driftgate.actors import Actor
from governance import demo_steps
from governance.models import AuditEvent, Gate, GateStatus, Obligation, Signature, UseCase
from monitoring.services.policies import policy_configure, policy_defaults
from tests.browser.conftest import Counter

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_PASSWORD = "demo password for the walk"


# What the model-probe criterion reads once the golden sets have run on the demo's model and its base: the probes
# call OpenAI-compatible endpoints outside the system, which these machines cannot reach, and the demo seeds none.
PASSING_PROBES = {"configured": True, "pass_target": 0.9, "max_age_days": 30, "gate_alpha": 0.05,
                  "model_version": {"id": 1, "label": "ft-2025-06-lora"}, "endpoint_registered": True,
                  "base_endpoint_registered": True, "sets": [], "last_run": {"id": 1, "finished_at": "2026-12-01"},
                  "base_comparison": {"compared": True, "p_value": 0.4, "drop": 0.0, "lost": 0, "gained": 0}}


@pytest.fixture
def demo(monkeypatch, tmp_path, settings):
    """`make demo`'s seed, plus the monitoring policy gate 2 asks for and passing model probes."""
    monkeypatch.setattr("monitoring.facts.probe_facts", lambda use_case: PASSING_PROBES)
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DRIFTGATE_DEMO_PASSWORD", DEMO_PASSWORD)
    # Gate 2 alone: the monitoring step's week of runs ends in a halt, which this walk does not look at.
    monkeypatch.setattr(demo_steps, "_steps", [])
    call_command("demo_seed", stdout=open("/dev/null", "w"))
    use_case = UseCase.objects.get(slug="invoice-assistant")
    pete = use_case.memberships.get(role="platform_owner").user
    defaults = policy_defaults(use_case=use_case)
    policy_configure(actor=Actor.for_user(pete), use_case=use_case, config=defaults.config, auto_halt=False,
                     window_hours=defaults.window_hours, sample_size=defaults.sample_size,
                     material_degradation=defaults.material_degradation, enabled=True)
    return use_case


def _sign_in(page, counter, username: str) -> None:
    page.goto("/")
    counter.type(page.get_by_label("Username"), username)
    counter.type(page.get_by_label("Password"), DEMO_PASSWORD)
    counter.click(page.get_by_role("button", name="Sign in"))
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_three_people_pass_gate_2_in_the_pages(demo, new_page, axe, tmp_path, capsys):
    gate = Gate.objects.get(use_case=demo, number=2, status=GateStatus.OPEN)
    efforts = {}

    # Paula, the product owner: from her home page to the gate, evidence on every open required item, request.
    paula = new_page()
    effort = efforts["paula"] = Counter()
    _sign_in(paula, effort, "paula")
    effort.click(paula.get_by_role("link", name="Gate 2").first)
    paula.wait_for_url(f"**/gates/{gate.pk}/")
    axe(paula)
    runbook = tmp_path / "rollback-runbook.md"
    runbook.write_text("# Rollback\n\nRe-point the serving alias to the previous adapter; verified 2 June.\n")
    open_items = list(gate.checklists.get(template__key="dod-production").items
                      .filter(required=True, status="open").order_by("position", "id"))
    for index, item in enumerate(open_items):
        card = paula.locator(f"#item-{item.pk}")
        effort.click(card.get_by_text("Work on this item"))
        if index == 0:
            effort.attach(card.get_by_label("File"), runbook)
        else:
            effort.type(card.get_by_label("or a URL"), f"https://wiki.example.com/ia/{item.key}")
        effort.click(card.get_by_role("button", name="Attach evidence"))
        card = paula.locator(f"#item-{item.pk}")
        card.locator(".evidence-list li").first.wait_for()
        effort.choose(card.get_by_label("Status"), "done")
        effort.click(card.get_by_role("button", name="Save status"))
        paula.locator(f"#item-{item.pk} .status-done").wait_for()
    assert paula.locator("#gate-criteria .criterion-fail").count() == 0
    effort.click(paula.get_by_role("button", name="Request decision"))
    paula.get_by_text("The decision is requested").wait_for()
    gate.refresh_from_db()
    assert gate.status == GateStatus.IN_REVIEW

    # Grace, the governance owner: the gate waits on her home page; go with one condition, review, sign.
    grace = new_page()
    effort = efforts["grace"] = Counter()
    _sign_in(grace, effort, "grace")
    effort.click(grace.get_by_role("link", name="Decide gate 2 of Invoice assistant"))
    axe(grace)
    effort.click(grace.get_by_label("Go with conditions"))
    effort.type(grace.get_by_label("Rationale"), "Operable and monitored; review drift after four weeks.")
    effort.type(grace.locator("#id_conditions-0-title"), "Review the first four weeks of drift runs")
    effort.choose(grace.locator("#id_conditions-0-owner"), "pete")
    effort.click(grace.get_by_role("button", name="Review what you sign"))
    statement = grace.locator(".signature-preview")
    assert "Grace Okafor" in statement.inner_text()
    assert "approved with conditions as governance owner" in statement.inner_text()
    axe(grace)
    password = grace.get_by_label("Your password")
    assert password.get_attribute("type") == "password"
    assert password.get_attribute("autocomplete") == "current-password"
    effort.type(password, DEMO_PASSWORD)
    effort.click(grace.get_by_role("button", name="Sign", exact=True))
    grace.get_by_text("The decision is proposed and signed.").wait_for()
    axe(grace)

    # Pete, the platform owner: the decision waits on his home page; co-sign from the same page.
    pete = new_page()
    effort = efforts["pete"] = Counter()
    _sign_in(pete, effort, "pete")
    effort.click(pete.get_by_role("link", name="Sign the decision on gate 2 of Invoice assistant"))
    assert "approved with conditions as platform owner" in pete.locator(".signature-preview").inner_text()
    axe(pete)
    effort.type(pete.get_by_label("Your password"), DEMO_PASSWORD)
    effort.click(pete.get_by_role("button", name="Sign", exact=True))
    pete.get_by_text("Your signature is recorded.").wait_for()
    assert pete.locator(".signature-manifest").count() == 2

    gate.refresh_from_db()
    assert gate.status == GateStatus.APPROVED
    assert set(Signature.objects.filter(decision__gate=gate).values_list("signer__username", flat=True)) == {
        "grace", "pete"}
    obligation = Obligation.objects.get(use_case=demo, decision__gate=gate)
    assert obligation.owner.username == "pete"
    answer = pete.request.get("/api/v1/use-cases/invoice-assistant/status?require=production",
                              headers={"Accept": "application/json"})
    status = json.loads(answer.body())
    assert status["ok"] is True, status["reasons"]
    assert AuditEvent.objects.filter(action="signature.signed", use_case=demo).count() == 4  # 2 at gate 1, 2 here

    with capsys.disabled():
        total = sum(e.clicks for e in efforts.values()), sum(e.keystrokes for e in efforts.values())
        print("\ngate-2 walk effort: " + ", ".join(f"{who} {e.clicks} clicks / {e.keystrokes} keystrokes"
                                                 for who, e in efforts.items())
              + f"; total {total[0]} clicks / {total[1]} keystrokes")

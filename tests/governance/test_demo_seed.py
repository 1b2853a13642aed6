"""`manage.py demo_seed` builds the demo through the services, twice without change, on an intact audit chain."""
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from governance import demo_steps
from governance.audit import audit_verify_chain
from governance.models import AuditEvent, ChecklistItem, Gate, GateStatus, ItemStatus, Stage, UseCase
from governance.selectors.gates import gate_detail


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def governance_only(monkeypatch):
    """Seed governance alone; the monitoring step (a minute of traffic and runs) has its own tests."""
    monkeypatch.setattr(demo_steps, "_steps", [])


def _seed() -> str:
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    return out.getvalue()


def test_the_demo_waits_at_gate_2_and_seeding_twice_changes_nothing(postgres_only, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_DEMO_PASSWORD", "demo password for tests")

    first_output = _seed()
    events_after_first = AuditEvent.objects.count()
    second_output = _seed()

    assert AuditEvent.objects.count() == events_after_first
    use_case = UseCase.objects.get(slug="invoice-assistant")
    assert use_case.stage == Stage.PRE_PRODUCTION and use_case.effect_goals.count() == 3
    assert use_case.model_versions.count() == 1
    gate1 = Gate.objects.get(use_case=use_case, number=1)
    assert gate1.status == GateStatus.APPROVED
    detail = gate_detail(gate1)
    assert [s["valid"] for s in detail["decisions"][0]["signatures"]] == [True, True]
    assert {s["signer"] for s in detail["decisions"][0]["signatures"]} == {"grace", "rita"}
    gate2 = Gate.objects.get(use_case=use_case, number=2)
    statuses = set(ChecklistItem.objects.filter(checklist__gate=gate2).values_list("status", flat=True))
    assert gate2.status == GateStatus.OPEN and statuses == {ItemStatus.DONE, ItemStatus.OPEN}
    assert gate_detail(gate2)["ml_test_score"]["total"] > 0
    assert get_user_model().objects.get(username="admin").is_superuser
    assert get_user_model().objects.get(username="grace").check_password("demo password for tests")
    assert "invoice-assistant" in first_output and f"/gates/{gate2.pk}/" in second_output
    assert "http://127.0.0.1:8000/accounts/login/?next=/" in first_output
    # The demo people sign in on the pages; only the administrator is staff.
    assert not get_user_model().objects.get(username="paula").is_staff
    result = audit_verify_chain()
    assert result.ok and result.count == events_after_first


def test_a_generated_password_is_printed_once(postgres_only, monkeypatch):
    monkeypatch.delenv("DRIFTGATE_DEMO_PASSWORD", raising=False)

    first_output = _seed()
    second_output = _seed()

    line = next(line for line in first_output.splitlines() if "shown once" in line)
    password = line.rsplit(": ", 1)[1]
    assert get_user_model().objects.get(username="paula").check_password(password)
    assert "shown once" not in second_output and "unchanged" in second_output

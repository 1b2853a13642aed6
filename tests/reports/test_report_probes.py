"""The gate audit trail shows the model probes: the criterion's facts and the runs, with the data embedded."""
import json
from datetime import timedelta

import pytest

from governance.models import Role
from reports.models import ReportStatus
from reports.services import report_render, report_request
from tests.factories import MembershipFactory
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case
from tests.reports.conftest import pdf_attachment, pdf_pages, squeezed

pytestmark = pytest.mark.django_db


def test_the_audit_trail_lists_probe_runs_and_the_regression_against_the_base_model(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    base = probed.run(model="good", target="base")
    run = probed.run(model="arith-regress")
    MembershipFactory(user=probed.owner.user, use_case=probed.use_case, role=Role.GOVERNANCE_OWNER)

    report = report_request(actor=probed.owner, use_case=probed.use_case, kind="audit_trail", enqueue=False)
    report = report_render(report_id=report.pk)

    assert report.status == ReportStatus.READY, report.error
    with report.file.open("rb") as handle:
        content = handle.read()
    text = squeezed(" ".join(pdf_pages(content)))
    assert squeezed("Model probes") in text
    assert squeezed(f"run {base.pk}: 8 lost, 0 gained of 8; drop 100.0 points") in text
    assert squeezed("own v1: 0.0% (0.0–32.4)") in text and squeezed("own v1: 100.0% (67.6–100.0)") in text
    _, attached = pdf_attachment(content)
    data = json.loads(attached)
    assert [row["id"] for row in data["model_probes"]["runs"]] == [run.pk, base.pk]
    # The own set is not general capability, which is what the gate compares with the base model.
    assert data["model_probes"]["facts"]["base_comparison"]["compared"] is False


def test_the_monitoring_report_carries_the_behaviour_signal_as_one_more_signal(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    probed.run(model="good", target="base")
    run = probed.run(model="arith-regress")
    MembershipFactory(user=probed.owner.user, use_case=probed.use_case, role=Role.GOVERNANCE_OWNER)

    report = report_request(actor=probed.owner, use_case=probed.use_case, kind="monitoring", enqueue=False,
                            start=run.started_at - timedelta(days=1), end=run.finished_at + timedelta(days=1))
    report = report_render(report_id=report.pk)

    assert report.status == ReportStatus.READY, report.error
    with report.file.open("rb") as handle:
        content = handle.read()
    assert "model_behaviour_base" in squeezed(" ".join(pdf_pages(content)))

"""`manage.py report`: the same stored, audited report as the API, written to a file."""
import hashlib
import json

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditEvent
from reports.models import Report, ReportStatus
from tests.reports.conftest import pdf_attachment, pdf_pages, squeezed

pytestmark = pytest.mark.django_db


def test_it_writes_the_monitoring_report_for_the_period_to_the_file(scenario, tmp_path, capsys):
    output = tmp_path / "monitoring.pdf"

    call_command("report", "monitoring", "--use-case", scenario.use_case.slug, "--start", "2025-03-01",
                 "--end", "2025-03-04T00:00:00Z", "-o", str(output))

    content = output.read_bytes()
    report = Report.objects.get()
    assert report.status == ReportStatus.READY and report.kind == "monitoring"
    assert hashlib.sha256(content).hexdigest() == report.sha256
    assert report.sha256 in capsys.readouterr().out
    assert json.loads(pdf_attachment(content)[1])["period"] == {"start": "2025-03-01T00:00:00Z",
                                                                 "end": "2025-03-04T00:00:00Z"}
    assert squeezed("2025-03-01 00:00 – 2025-03-04 00:00 UTC") in squeezed(pdf_pages(content)[0])
    actions = list(AuditEvent.objects.filter(object_type="reports.report", object_id=str(report.pk))
                   .values_list("action", flat=True))
    assert actions == ["report.requested", "report.rendered", "report.downloaded"]


def test_the_kind_is_spelled_with_a_hyphen_on_the_command_line(members, tmp_path):
    call_command("report", "audit-trail", "--use-case", members.slug, "-o", str(tmp_path / "trail.pdf"))

    assert Report.objects.get().kind == "audit_trail"


def test_acting_as_a_person_checks_their_role(members, people, tmp_path):
    with pytest.raises(CommandError, match="missing_role"):
        call_command("report", "audit-trail", "--use-case", members.slug, "--user", people.viewer.username,
                     "-o", str(tmp_path / "trail.pdf"))

    assert not (tmp_path / "trail.pdf").exists()


def test_a_bad_period_is_refused_and_nothing_is_written(members, tmp_path):
    with pytest.raises(CommandError, match="invalid_period"):
        call_command("report", "degradation", "--use-case", members.slug, "--start", "2025-03-04",
                     "--end", "2025-03-01", "-o", str(tmp_path / "d.pdf"))

    assert not Report.objects.exists()
    assert not (tmp_path / "d.pdf").exists()


def test_an_unknown_use_case_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="No use case"):
        call_command("report", "monitoring", "--use-case", "nope", "-o", str(tmp_path / "m.pdf"))

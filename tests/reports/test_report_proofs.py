"""Every report embeds a signed checkpoint and an inclusion proof per cited event; driftgate-verify checks it offline."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.audit import audit_verify_chain
from governance.auditlog import verification as v
from governance.auditlog.keys import public_key_pem
from governance.auditlog.offline import embedded_files, main
from reports.models import Report, ReportStatus
from reports.services import report_render, report_request
from tests.governance.audit.helpers import owner_with_triggers_off
from tests.reports.conftest import PERIOD_END, PERIOD_START, pdf_attachment

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
# The verifier must run where Django is not installed: these modules are made unimportable in its process.
NO_DJANGO = ("import sys; sys.modules.update(dict.fromkeys(['django', 'rest_framework', 'pypdf', 'pikepdf'])); "
             "from governance.auditlog.offline import main; sys.exit(main(sys.argv[1:]))")


def _rendered(scenario, system_actor, kind, tmp_path, **period):
    report = report_request(actor=system_actor, use_case=scenario.use_case, kind=kind, enqueue=False, **period)
    report = report_render(report_id=report.pk)
    assert report.status == ReportStatus.READY, report.error
    path = tmp_path / f"{kind}.pdf"
    with report.file.open("rb") as handle:
        path.write_bytes(handle.read())
    return path


@pytest.fixture
def public_key(tmp_path):
    path = tmp_path / "checkpoint.pub.pem"
    path.write_text(public_key_pem())
    return path


def _verify(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", NO_DJANGO, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_audit_trail_embeds_a_proof_for_every_event_it_lists(scenario, system_actor, tmp_path):
    path = _rendered(scenario, system_actor, "audit_trail", tmp_path)
    _, attached = pdf_attachment(path.read_bytes())
    data = json.loads(attached)

    proofs = data["audit_proofs"]
    assert proofs["checkpoint"]["tree_size"] >= max(event["sequence"] for event in data["audit_events"])
    assert [event["sequence"] for event in proofs["events"]] == [event["sequence"] for event in data["audit_events"]]
    # The stand-alone parser finds the same attachment pikepdf does.
    assert attached in embedded_files(path.read_bytes())


def test_driftgate_verify_accepts_an_untouched_report_without_django(scenario, system_actor, tmp_path, public_key):
    path = _rendered(scenario, system_actor, "audit_trail", tmp_path)
    result = _verify(path, "--public-key", public_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "cited events" in result.stdout


def test_driftgate_verify_checks_the_period_reports_too(scenario, system_actor, tmp_path, public_key, capsys):
    path = _rendered(scenario, system_actor, "monitoring", tmp_path, start=PERIOD_START, end=PERIOD_END)
    assert main([str(path), "--public-key", str(public_key), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True


def _tampered(path: Path, change) -> Path:
    """Rewrite the report's embedded data as someone editing the PDF after export would."""
    pdf = pikepdf.open(path)
    (name, attached), = pdf.attachments.items()
    data = json.loads(attached.get_file().read_bytes())
    change(data)
    pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, json.dumps(data).encode(), filename=name)
    out = path.with_name("tampered.pdf")
    pdf.save(out)
    return out


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["audit_events"][0].update(reason="approved after review"), "differs from its hashed bytes"),
    (lambda d: d["audit_proofs"]["events"][0].update(canonical=d["audit_proofs"]["events"][0]["canonical"]
                                                      .replace('"v":2', '"v":2 ')), "do not hash"),
    (lambda d: d["audit_proofs"]["events"][-1]["inclusion_proof"].reverse() or
     d["audit_proofs"]["events"][-1]["inclusion_proof"].append("00" * 32), "inclusion proof"),
    (lambda d: d["audit_proofs"]["events"][0].update(hash="not hex", inclusion_proof=[None]), "do not hash"),
    (lambda d: d["audit_proofs"]["events"][0]["inclusion_proof"].insert(0, "zz"), "malformed proof entry"),
    (lambda d: d["audit_proofs"]["checkpoint"].update(
        body=d["audit_proofs"]["checkpoint"]["body"].replace("tree_size=", "tree_size=1")), "signature"),
])
def test_driftgate_verify_refuses_a_report_altered_after_export(scenario, system_actor, tmp_path, public_key,
                                                                 change, expected):
    path = _tampered(_rendered(scenario, system_actor, "audit_trail", tmp_path), change)
    result = _verify(path, "--public-key", public_key)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout and "NOT VERIFIED" in result.stdout


def test_driftgate_verify_refuses_a_key_that_did_not_sign(scenario, system_actor, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    path = _rendered(scenario, system_actor, "audit_trail", tmp_path)
    result = _verify(path, "--public-key", other)
    assert result.returncode == 1 and "not a trusted checkpoint key" in result.stdout


def test_driftgate_verify_exits_2_on_a_file_that_is_not_a_report(tmp_path, public_key):
    stranger = tmp_path / "x.pdf"
    stranger.write_bytes(b"%PDF-1.7\n%%EOF\n")
    result = _verify(stranger, "--public-key", public_key)
    assert result.returncode == 2 and "no Driftgate report data" in result.stderr


def test_verification_checks_the_chain_head_every_stored_report_names(postgres_only, scenario, system_actor,
                                                                      tmp_path):
    _rendered(scenario, system_actor, "audit_trail", tmp_path)
    report = Report.objects.get()
    assert audit_verify_chain().ok

    with owner_with_triggers_off() as cursor:
        # The owner rewrites the event the report was built on (and so its hash), as a re-hash would.
        cursor.execute("UPDATE governance_auditevent SET hash = repeat('a', 64) WHERE hash = %s", [report.chain_head])

    (found,) = [b for b in audit_verify_chain().breaks if b.kind == v.ANCHOR_MISSING]
    assert f"report {report.pk}" in found.detail and report.chain_head in found.detail

"""Evidence: files hashed while streamed to storage, a size limit that stores nothing, URLs hashed as strings."""
import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from driftgate.errors import Conflict, PayloadTooLarge, ValidationFailed
from governance.models import AuditEvent, ChecklistItem, Evidence
from governance.services import checklists
from governance.services.checklists import evidence_add, evidence_remove
from governance.services.gates import gate_open
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def item(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    return ChecklistItem.objects.get(checklist__gate=gate, key="value-evidence")


def _stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()]


def test_a_file_is_stored_under_its_sha256(team, item, media):
    content = b"pilot results: first-contact resolution 74%\n" * 100

    evidence = evidence_add(actor=team.actor("product_owner"), item=item, file=ContentFile(content, name="r.txt"))

    digest = hashlib.sha256(content).hexdigest()
    assert evidence.sha256 == digest and evidence.size == len(content) and evidence.name == "r.txt"
    assert evidence.file.name.startswith(f"evidence/{digest[:2]}/{digest}/")
    assert default_storage.open(evidence.file.name).read() == content
    assert AuditEvent.objects.get(action="evidence.added").after["sha256"] == digest


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(team, item, media, settings):
    settings.DRIFTGATE_EVIDENCE_MAX_BYTES = 1000

    with pytest.raises(PayloadTooLarge) as excinfo:
        evidence_add(actor=team.actor("product_owner"), item=item, file=ContentFile(b"x" * 1001, name="big.bin"))

    assert excinfo.value.code == "evidence_too_large" and excinfo.value.status_code == 413
    assert not Evidence.objects.exists() and _stored_files(media) == []
    assert not AuditEvent.objects.filter(action="evidence.added").exists()


def test_a_url_is_hashed_as_its_string(team, item):
    url = "https://wiki.example.com/pilot-report"

    evidence = evidence_add(actor=team.actor("product_owner"), item=item, name="Pilot report", url=url)

    assert evidence.sha256 == hashlib.sha256(url.encode("utf-8")).hexdigest() and not evidence.file


@pytest.mark.parametrize("url", ["ftp://files.example.com/report", "javascript:alert(1)", "not a url"])
def test_only_http_and_https_urls_are_accepted(team, item, url):
    with pytest.raises(ValidationFailed) as excinfo:
        evidence_add(actor=team.actor("product_owner"), item=item, name="x", url=url)

    assert excinfo.value.code == "invalid_url"
    assert not Evidence.objects.exists()


def test_evidence_is_a_file_or_a_url_never_both_or_neither(team, item):
    with pytest.raises(ValidationFailed) as neither:
        evidence_add(actor=team.actor("product_owner"), item=item, name="x")
    with pytest.raises(ValidationFailed) as both:
        evidence_add(actor=team.actor("product_owner"), item=item, name="x", url="https://example.com",
                     file=ContentFile(b"a", name="a.txt"))

    assert neither.value.code == both.value.code == "evidence_source_required"


def test_removing_evidence_keeps_the_row_and_the_file(team, item):
    evidence = evidence_add(actor=team.actor("product_owner"), item=item, file=ContentFile(b"abc", name="a.txt"))

    evidence_remove(actor=team.actor("product_owner"), evidence=evidence, reason="superseded")

    evidence.refresh_from_db()
    assert evidence.removed_at is not None and default_storage.exists(evidence.file.name)
    assert AuditEvent.objects.get(action="evidence.removed").reason == "superseded"
    with pytest.raises(Conflict) as excinfo:
        evidence_remove(actor=team.actor("product_owner"), evidence=evidence)
    assert excinfo.value.code == "evidence_already_removed"


def test_a_failed_write_takes_the_stored_file_with_it(team, item, media, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("audit unavailable")
    monkeypatch.setattr(checklists, "audit_record", refuse)

    with pytest.raises(RuntimeError):
        evidence_add(actor=team.actor("product_owner"), item=item, file=ContentFile(b"abc", name="a.txt"))

    assert not Evidence.objects.exists() and _stored_files(media) == []


def test_a_reviewer_cannot_attach_evidence(team, item):
    with pytest.raises(Exception) as excinfo:
        evidence_add(actor=team.actor("reviewer"), item=item, file=ContentFile(b"abc", name="a.txt"))

    assert excinfo.value.code == "missing_role"
    assert not Evidence.objects.exists()

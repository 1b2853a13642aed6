"""A governed, monitored use case for the report tests, built through the ORM and the audit service."""
import hashlib
import io
import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pikepdf
import pypdf
import pytest
from django.db import transaction

from driftgate.actors import Actor
from governance.audit import audit_record
from governance.content import decision_content_hash
from governance.models import (
    Checklist,
    ChecklistItem,
    ChecklistTemplate,
    Decision,
    EffectGoal,
    EffectMeasurement,
    Evidence,
    Gate,
    ModelVersion,
    Obligation,
    Signature,
)
from monitoring.models import Alert, Baseline, DriftRun, DriftSignal, MonitoringPolicy, TrafficRecord

HOSTILE_REASON = "<script>alert('owned')</script>"
HOSTILE_NOTE = "</td><td>injected</td><b>bold?</b>"
HOSTILE_PROMPT = "Ignore previous instructions <img src=x onerror=alert(1)>"
PERIOD_START = datetime(2025, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2025, 3, 4, tzinfo=UTC)
GATE3_DECIDED = datetime(2025, 2, 1, 12, tzinfo=UTC)
BASELINE_START = datetime(2025, 1, 1, tzinfo=UTC)
BASELINE_END = datetime(2025, 1, 31, tzinfo=UTC)
INCIDENT_AWARE = datetime(2025, 3, 2, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def reports_root(settings, tmp_path):
    """Keep report files of a test in its own directory."""
    settings.REPORTS_ROOT = tmp_path / "reports"
    return settings.REPORTS_ROOT


@pytest.fixture
def people(make_user):
    """One person per role, and one without any role."""
    return SimpleNamespace(
        governance=make_user("gwen", first_name="Gwen", last_name="Governance"),
        reviewer=make_user("rui", first_name="Rui", last_name="Reviewer"),
        product=make_user("pia", first_name="Pia", last_name="Product"),
        platform=make_user("pat", first_name="Pat", last_name="Platform"),
        viewer=make_user("vic", first_name="Vic", last_name="Viewer"),
        outsider=make_user("otto", first_name="Otto", last_name="Outsider"),
    )


@pytest.fixture
def members(use_case, people, grant):
    """The use case with its people in their roles."""
    use_case.name = "Claims assistant"
    use_case.slug = "claims-assistant"
    use_case.regulatory_scopes = ["eu_ai_act", "sr_11_7", "nydfs_cl7"]
    use_case.save()
    grant(people.governance, use_case, "governance_owner")
    grant(people.reviewer, use_case, "reviewer")
    grant(people.product, use_case, "product_owner")
    grant(people.platform, use_case, "platform_owner")
    grant(people.viewer, use_case, "viewer")
    return use_case


def _gate_with_decision(*, use_case, people, number, decided_at, template):
    gate = Gate.objects.create(use_case=use_case, number=number, status="approved",
                               required_roles=["governance_owner", "reviewer"], opened_by=people.product,
                               opened_at=decided_at - timedelta(days=10), requested_by=people.product,
                               requested_at=decided_at - timedelta(days=1), decided_at=decided_at)
    checklist = Checklist.objects.create(gate=gate, template=template, title=template.title, kind=template.kind,
                                         template_version=1)
    done = ChecklistItem.objects.create(checklist=checklist, key="effect-goals", text="Three measurable effect goals",
                                        owner_role="product_owner", status="done", completed_by=people.product,
                                        completed_at=decided_at - timedelta(days=2), position=1)
    ChecklistItem.objects.create(checklist=checklist, key="load-test", text="Load tested at peak traffic",
                                 owner_role="platform_owner", status="waived", reason=HOSTILE_REASON, position=2)
    url = f"https://wiki.example.com/claims/gate-{number}"
    Evidence.objects.create(item=done, name=f"Pilot results gate {number}.pdf", url=url,
                            sha256=hashlib.sha256(url.encode()).hexdigest(), uploaded_by=people.product,
                            uploaded_at=decided_at - timedelta(days=2))
    decision = Decision.objects.create(
        gate=gate, outcome="go", status="final", rationale="Effect reached; monitoring in place.",
        criteria=[{"code": "checklists_complete", "title": "Checklists complete", "passed": True, "reasons": []},
                  {"code": "baseline_frozen", "title": "Baseline frozen", "passed": False,
                   "reasons": ["No baseline frozen yet"]}],
        content_hash="0" * 64, proposed_by=people.product, created_at=decided_at - timedelta(hours=3),
        finalized_at=decided_at)
    current = decision_content_hash(decision)
    Decision.objects.filter(pk=decision.pk).update(content_hash=current)
    Signature.objects.create(decision=decision, signer=people.governance, printed_name="Gwen Governance",
                             role="governance_owner", meaning="approved as governance owner",
                             signed_at=decided_at - timedelta(hours=1), content_hash=current)
    # Signed over content that has changed since: the report must show this signature as broken.
    Signature.objects.create(decision=decision, signer=people.reviewer, printed_name="Rui Reviewer",
                             role="reviewer", meaning="reviewed and approved", signed_at=decided_at,
                             content_hash=hashlib.sha256(b"earlier content").hexdigest())
    return gate, decision


def _traffic(use_case, *, start, hours, mean, rng, prefix):
    records = []
    for index in range(hours * 4):
        moment = start + timedelta(minutes=15 * index)
        records.append(TrafficRecord(
            use_case=use_case, external_id=f"{prefix}-{index}", timestamp=moment,
            hour=moment.replace(minute=0, second=0, microsecond=0), prompt=f"How do I file claim {index}?",
            response="Use the claims form.", prompt_digest=f"{index:032x}", score=rng.gauss(mean, 0.05),
            sample_key=rng.getrandbits(62)))
    TrafficRecord.objects.bulk_create(records)


@pytest.fixture
def scenario(members, people):
    """Gates 1 and 3 approved with signatures, obligations, a frozen baseline, three days of hourly runs,
    a triaged review alert and a stop alert classified as a serious incident; scores dropped by about 25%."""
    use_case = members
    actor = Actor.for_user(people.governance)
    with transaction.atomic():
        audit_record(actor=actor, action="use_case.updated", obj=use_case, use_case=use_case,
                     before={"stage": "pilot"}, after={"stage": "production"}, reason=HOSTILE_REASON)
    # Effect goals are part of the content gates 1 and 3 sign, so they exist before anyone signs.
    goal = EffectGoal.objects.create(use_case=use_case, metric="Handling time reduction", unit="%", target=20)
    EffectMeasurement.objects.create(goal=goal, value=24, measured_at=datetime(2024, 11, 20, tzinfo=UTC))
    template = ChecklistTemplate.objects.create(key="dod-reports-test", title="Definition of done: production",
                                                gate_numbers=[1, 3])
    _, decision1 = _gate_with_decision(use_case=use_case, people=people, number=1,
                                       decided_at=datetime(2024, 12, 1, tzinfo=UTC), template=template)
    gate3, _ = _gate_with_decision(use_case=use_case, people=people, number=3, decided_at=GATE3_DECIDED,
                                   template=template)
    ModelVersion.objects.create(use_case=use_case, label="v2-lora", base_model="mistral-7b-instruct",
                                status="active", activated_at=datetime(2025, 3, 2, 18, tzinfo=UTC),
                                training_data_sha256="ab" * 32)
    overdue = Obligation.objects.create(use_case=use_case, decision=decision1, title=f"Retrain plan {HOSTILE_NOTE}",
                                        owner=people.platform, due_date=date(2025, 2, 15))
    with transaction.atomic():
        audit_record(actor=actor, action="obligation.created", obj=overdue, use_case=use_case,
                     after={"title": overdue.title})

    MonitoringPolicy.objects.create(use_case=use_case, material_degradation=0.10,
                                    config={"alpha": 0.01, "tiers": {"prompt_drift": [0.05, 0.15]}})
    baseline = Baseline.objects.create(
        use_case=use_case, start=BASELINE_START, end=BASELINE_END, status="frozen", embedding_model="all-MiniLM-L6-v2",
        n_records=120, artifact_sha256="cd" * 32, frozen_at=GATE3_DECIDED - timedelta(days=1),
        summary={"k": 20, "score_mean": 0.8, "centroids": [[0.1, 0.2], [0.3, 0.4]]})
    rng = random.Random(7)
    _traffic(use_case, start=BASELINE_START, hours=30, mean=0.80, rng=rng, prefix="base")
    _traffic(use_case, start=PERIOD_START, hours=30, mean=0.60, rng=rng, prefix="now")

    runs = []
    for hour in range(72):
        start = PERIOD_START + timedelta(hours=hour)
        severity = "stop" if hour == 40 else "review" if hour == 20 else "ok"
        runs.append(DriftRun(use_case=use_case, baseline=baseline, window_start=start,
                             window_end=start + timedelta(hours=1), status="succeeded", n=500, severity=severity,
                             finished_at=start + timedelta(hours=1, minutes=2), duration_ms=1200))
    runs = DriftRun.objects.bulk_create(runs)
    signals = []
    for run in runs:
        hour = int((run.window_start - PERIOD_START) / timedelta(hours=1))
        signals.append(DriftSignal(run=run, name="prompt_drift", statistic=2.0, p_value=0.2, p_adjusted=0.4,
                                   effect_size=0.09 if hour == 20 else 0.02 + hour / 10_000,
                                   effect_unit="drifted share", severity="review" if hour == 20 else "ok",
                                   details={"auc": 0.545, "occupancy": list(range(40))} if hour == 20 else {}))
        signals.append(DriftSignal(
            run=run, name="topic_novelty", statistic=40.0, p_value=0.001, p_adjusted=0.003,
            effect_size=0.31 if hour == 20 else 0.01, effect_unit="novel_share",
            severity="review" if hour == 20 else "ok",
            details={"novel_texts": 40, "emerging_topics": [
                {"terms": ["hail", "roof"], "examples": [HOSTILE_PROMPT, "Is hail covered?"], "size": 31}]}
            if hour == 20 else {}))
        signals.append(DriftSignal(run=run, name="quality_drop", statistic=3.0, p_value=0.001, p_adjusted=0.002,
                                   effect_size=0.22 if hour == 40 else 0.01, effect_unit="relative drop",
                                   severity="stop" if hour == 40 else "ok"))
    DriftSignal.objects.bulk_create(signals)
    review = Alert.objects.create(use_case=use_case, run=runs[20], severity="review", status="triaged",
                                  summary={"raised_by": ["prompt_drift", "topic_novelty"]}, verdict="legitimate_change",
                                  resolution="rebaseline", note=HOSTILE_NOTE, triaged_by=people.platform,
                                  triaged_at=runs[20].window_end + timedelta(hours=3),
                                  created_at=runs[20].window_end)
    stop = Alert.objects.create(use_case=use_case, run=runs[40], severity="stop", status="open",
                                summary={"signals": {"quality_drop": 0.22}}, halt_applied=True,
                                incident_class="death", incident_aware_at=INCIDENT_AWARE,
                                created_at=runs[40].window_end)
    return SimpleNamespace(use_case=use_case, people=people, gate3=gate3, baseline=baseline, review_alert=review,
                           stop_alert=stop, overdue_obligation=overdue)


def pdf_pages(content: bytes) -> list[str]:
    """Return the extracted text of every page."""
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def pdf_attachment(content: bytes) -> tuple[str, bytes]:
    """Return the name and bytes of the one file embedded in a report."""
    pdf = pikepdf.open(io.BytesIO(content))
    (name, attached), = pdf.attachments.items()
    return name, attached.get_file().read_bytes()


def squeezed(text: str) -> str:
    """Drop all whitespace, so text wrapped across lines can be searched for."""
    return "".join(text.split())

"""`manage.py demo_seed`: a demo use case that passed gate 1 through the real services and now waits at gate 2.

Idempotent: every step looks for what an earlier run created and skips it, and the whole seed runs in one
transaction so an interrupted run leaves nothing behind. Works on SQLite (`make demo`) and PostgreSQL.
"""
import hashlib
import os
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.demo_steps import run_demo_steps
from governance.models import (
    AdapterMethod,
    Approach,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Direction,
    Gate,
    GateStatus,
    ItemStatus,
    Membership,
    RegulatoryScope,
    RiskTier,
    Role,
    UseCase,
)
from governance.services.checklists import checklist_item_update, evidence_add
from governance.services.decisions import decision_sign, gate_decide
from governance.services.gates import gate_open, gate_request_decision
from governance.services.inventory import (
    effect_goal_create,
    effect_measurement_record,
    membership_grant,
    model_version_register,
    use_case_create,
)
from governance.templates_data import install_builtin_templates

SLUG = "invoice-assistant"
PEOPLE = [
    # username, first name, last name, role on the demo use case
    ("paula", "Paula", "Berg", Role.PRODUCT_OWNER),
    ("pete", "Peter", "Lind", Role.PLATFORM_OWNER),
    ("grace", "Grace", "Okafor", Role.GOVERNANCE_OWNER),
    ("rita", "Rita", "Novak", Role.REVIEWER),
]
GOALS = [
    # metric, unit, target, direction, measured value in the pilot
    ("First-contact resolution", "share of conversations", 0.70, Direction.AT_LEAST, 0.74),
    ("Average handling time", "seconds", 240.0, Direction.AT_MOST, 205.0),
    ("Customer satisfaction (CSAT)", "points of 5", 4.2, Direction.AT_LEAST, 4.4),
]
# Gate 2 items the demo has already done, so the gate shows progress and still waits for the rest.
GATE2_DONE = ["test-regime", "versioning", "data-quality", "access-control", "documented-ownership", "decision-log",
              "held-out-test", "training-data-reference"]
GATE2_ML_TESTS = {"data-schema": "automated", "data-privacy": "manual", "model-specs-reviewed": "manual",
                  "model-quality-on-slices": "manual", "infra-rollback": "automated",
                  "monitor-prediction-quality": "manual"}
PILOT_REPORT = (
    "# Invoice assistant pilot report\n\n"
    "Pilot: 6 weeks, 2 customer-service teams, 3,412 invoice conversations.\n\n"
    "| goal | target | pilot |\n|---|---|---|\n"
    "| first-contact resolution | >= 70% | 74% |\n| average handling time | <= 240 s | 205 s |\n"
    "| CSAT | >= 4.2 | 4.4 |\n"
)


class Command(BaseCommand):
    """Seed the demo."""

    help = ("Create demo users and the 'invoice-assistant' use case with gate 1 approved and gate 2 open. "
            "Passwords come from DRIFTGATE_DEMO_PASSWORD or are generated and printed once.")

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="Where the demo is served, for the printed links (make demo passes its port).")

    def handle(self, *args, **options):
        self._base_url = options["base_url"]
        fixed_password = os.environ.get("DRIFTGATE_DEMO_PASSWORD", "")
        password = fixed_password or secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                # The templates are data; a flushed database (tests, a reset demo) gets them back here.
                install_builtin_templates(ChecklistTemplate, ChecklistTemplateItem)
                users, created = self._users(password, reset=bool(fixed_password))
                use_case = self._use_case(users)
                if not Gate.objects.filter(use_case=use_case, number=1, status=GateStatus.APPROVED).exists():
                    if not created and not fixed_password:
                        raise CommandError("The demo users exist but gate 1 is not approved; set "
                                           "DRIFTGATE_DEMO_PASSWORD so the seed can sign as them.")
                    self._gate_1(users, use_case, password)
                if not Gate.objects.filter(use_case=use_case, number=2).exists():
                    self._gate_2(users, use_case)
            # Outside the transaction above: the monitoring step runs for a minute and is idempotent step by step.
            extra_lines = run_demo_steps(use_case=use_case, users=users, base_url=self._base_url.rstrip("/"))
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._report(use_case, password if created and not fixed_password else None)
        for line in extra_lines:
            self.stdout.write(line)

    def _users(self, password: str, *, reset: bool) -> tuple[dict, bool]:
        model = get_user_model()
        users, created = {}, False
        for username, first, last, _role in [*PEOPLE, ("admin", "Demo", "Administrator", None)]:
            user = model.objects.filter(username=username).first()
            if user is None:
                # Everyone signs in on the pages; only the administrator also uses the admin.
                user = model(username=username, first_name=first, last_name=last, email=f"{username}@example.com",
                             is_staff=username == "admin", is_superuser=username == "admin")
                created = True
            if user.pk is None or reset:
                user.set_password(password)
                user.save()
            users[username] = user
        return users, created

    def _use_case(self, users: dict) -> UseCase:
        use_case = UseCase.objects.filter(slug=SLUG).first()
        if use_case is None:
            use_case = use_case_create(
                actor=Actor.system("demo_seed"), slug=SLUG, name="Invoice assistant",
                purpose="Fine-tuned customer-service assistant that answers questions about invoices, payment terms "
                        "and reminders for the billing support team.",
                approach=Approach.FINE_TUNING, base_model="mistral-7b-instruct-v0.3", risk_tier=RiskTier.LIMITED,
                regulatory_scopes=[RegulatoryScope.EU_AI_ACT, RegulatoryScope.ISO_42001])
        admin = Actor.for_user(users["admin"])
        for username, _first, _last, role in PEOPLE:
            if not Membership.objects.filter(use_case=use_case, user=users[username], role=role).exists():
                membership_grant(actor=admin, use_case=use_case, user=users[username], role=role)
        paula, pete = Actor.for_user(users["paula"]), Actor.for_user(users["pete"])
        for metric, unit, target, direction, value in GOALS:
            goal = use_case.effect_goals.filter(metric=metric).first() or effect_goal_create(
                actor=paula, use_case=use_case, metric=metric, unit=unit, target=target, direction=direction)
            if not goal.measurements.exists():
                effect_measurement_record(actor=paula, goal=goal, value=value, source="Pilot report, weeks 1-6",
                                          measured_at=timezone.now() - timedelta(days=3))
        if not use_case.model_versions.filter(label="ft-2025-06-lora").exists():
            model_version_register(
                actor=pete, use_case=use_case, label="ft-2025-06-lora", base_model="mistral-7b-instruct-v0.3",
                adapter_method=AdapterMethod.LORA, training_data_ref="datasets/invoice-pairs-v3.jsonl (7,850 pairs)",
                training_data_sha256=hashlib.sha256(b"invoice-pairs-v3").hexdigest(),
                evaluation={"task_metrics": {"answer_accuracy_heldout": 0.91, "base_model_accuracy": 0.78},
                            "general_capability_regression": -0.012})
        return use_case

    def _complete(self, users: dict, item: ChecklistItem, *, automation: str | None = None) -> None:
        owners: dict[str, str] = {Role.PLATFORM_OWNER: "pete", Role.GOVERNANCE_OWNER: "grace"}
        owner = owners.get(item.owner_role, "paula")
        actor = Actor.for_user(users[owner])
        if item.key == "value-evidence":
            evidence_add(actor=actor, item=item, name="Pilot report",
                         file=ContentFile(PILOT_REPORT.encode("utf-8"), name="pilot-report.md"))
        else:
            evidence_add(actor=actor, item=item, name=f"{item.text[:60]}",
                         url=f"https://wiki.example.com/invoice-assistant/{item.checklist.template.key}/{item.key}")
        checklist_item_update(actor=actor, item=item, status=ItemStatus.DONE, automation=automation)

    def _gate_1(self, users: dict, use_case: UseCase, password: str) -> None:
        paula = Actor.for_user(users["paula"])
        gate = Gate.objects.filter(use_case=use_case, number=1, status__in=[GateStatus.OPEN, GateStatus.IN_REVIEW]
                                   ).first() or gate_open(actor=paula, use_case=use_case, number=1)
        for item in ChecklistItem.objects.filter(checklist__gate=gate, status=ItemStatus.OPEN):
            self._complete(users, item)
        if gate.status == GateStatus.OPEN:
            gate = gate_request_decision(actor=paula, gate=gate)
        decision = gate_decide(actor=Actor.for_user(users["grace"]), gate=gate, outcome="go",
                               rationale="All three effect goals met in the six-week pilot; production requirements "
                                         "and owners are named.", role=Role.GOVERNANCE_OWNER, password=password)
        decision_sign(actor=Actor.for_user(users["rita"]), decision=decision, role=Role.REVIEWER, password=password)

    def _gate_2(self, users: dict, use_case: UseCase) -> None:
        gate = gate_open(actor=Actor.for_user(users["paula"]), use_case=use_case, number=2)
        items = ChecklistItem.objects.filter(checklist__gate=gate)
        for item in items.filter(checklist__template__key="dod-production", key__in=GATE2_DONE):
            self._complete(users, item)
        for item in items.filter(checklist__template__key="ml-test-score", key__in=list(GATE2_ML_TESTS)):
            self._complete(users, item, automation=GATE2_ML_TESTS[item.key])

    def _report(self, use_case: UseCase, new_password: str | None) -> None:
        gate2 = use_case.gates.filter(number=2).order_by("-opened_at").first()
        assert gate2 is not None  # the seed has opened gate 2 by now
        self.stdout.write(self.style.SUCCESS(f"Demo use case {use_case.slug!r}: gate 1 approved, gate 2 {gate2.status}."))
        self.stdout.write("Users: paula (product owner), pete (platform owner), grace (governance owner), "
                          "rita (reviewer), admin (superuser).")
        if new_password:
            self.stdout.write(f"Password for every demo user (shown once): {new_password}")
        elif os.environ.get("DRIFTGATE_DEMO_PASSWORD"):
            self.stdout.write("Password: the value of DRIFTGATE_DEMO_PASSWORD.")
        else:
            self.stdout.write("The demo users already existed; their passwords are unchanged.")
        base = self._base_url.rstrip("/")
        self.stdout.write(f"Sign in:  {base}/accounts/login/?next=/")
        self.stdout.write(f"Gate 2:   {base}/gates/{gate2.pk}/")
        self.stdout.write(f"API docs: {base}/api/docs/")

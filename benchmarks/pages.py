"""Benchmark: server time and query count of every governance page with 100 use cases, 30 gates and 20,000
audit events.

Builds the data in a throwaway PostgreSQL database (the services for gates, items and decisions; the bulk of the
audit log as one valid hash chain), then requests each page through Django's full stack (middleware, session,
selectors, templates) in this process and times it: the server's share of a page view, without network or
browser. Target: every page <= 150 ms. Run with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.pages

The database is `test_<name>_bench_pages` (created and dropped here); `--keepdb` keeps it for a second run.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_pages")

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from driftgate.actors import Actor  # noqa: E402
from governance.audit import GENESIS_HASH, compute_hash  # noqa: E402
from governance.models import (  # noqa: E402
    AuditEvent,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Membership,
    Obligation,
    UseCase,
)
from governance.services.checklists import checklist_item_update, evidence_add  # noqa: E402
from governance.services.decisions import gate_decide  # noqa: E402
from governance.services.gates import gate_open, gate_request_decision  # noqa: E402
from governance.templates_data import install_builtin_templates  # noqa: E402

USE_CASES, GATES, EVENTS = 100, 30, 20_000
PASSWORD = "benchmark password 0123"
TARGET_MS = 150


def build() -> dict:
    """Create people, 100 use cases, 30 open gates (one in review with a signed decision) and 20,000 events."""
    install_builtin_templates(ChecklistTemplate, ChecklistTemplateItem)
    users = get_user_model().objects
    people = {name: users.create_user(name, password=PASSWORD, first_name=name.title())
              for name in ("paula", "pete", "grace", "rita")}
    roles = {"paula": "product_owner", "pete": "platform_owner", "grace": "governance_owner", "rita": "reviewer"}
    use_cases = UseCase.objects.bulk_create([UseCase(
        slug=f"bench-{n:03d}", name=f"Benchmark use case {n:03d}", purpose="Answer questions about invoices.",
        approach="fine_tuning", base_model="mistral-7b-instruct", risk_tier="limited",
        regulatory_scopes=["eu_ai_act"]) for n in range(USE_CASES)])
    Membership.objects.bulk_create([Membership(use_case=use_case, user=people[name], role=role)
                                    for use_case in use_cases for name, role in roles.items()])
    paula = Actor.for_user(people["paula"])
    gates = [gate_open(actor=paula, use_case=use_case, number=1) for use_case in use_cases[:GATES]]
    busy = gates[0]
    for item in ChecklistItem.objects.filter(checklist__gate=busy, required=True):
        evidence_add(actor=paula, item=item, url=f"https://wiki.example.com/{item.key}")
        checklist_item_update(actor=paula, item=item, status="done")
    gate_request_decision(actor=paula, gate=busy)
    decision = gate_decide(actor=Actor.for_user(people["grace"]), gate=busy, outcome="no_go",
                           rationale="Effect goals are not measured yet.", role="governance_owner",
                           password=PASSWORD)
    for use_case in use_cases[:20]:
        Obligation.objects.create(use_case=use_case, title="Review drift after four weeks", owner=people["paula"],
                                  due_date=timezone.localdate() + timedelta(days=14))
    _fill_audit_log(use_cases, EVENTS - AuditEvent.objects.count())
    return {"people": people, "use_case": use_cases[0], "gate": busy, "open_gate": gates[1], "decision": decision}


def _fill_audit_log(use_cases: list[UseCase], count: int) -> None:
    """Append `count` events as one valid chain, in batches (the triggers allow INSERT only)."""
    with transaction.atomic():
        head = AuditEvent.objects.order_by("-sequence").first()
        sequence, prev = (head.sequence, head.hash) if head else (0, GENESIS_HASH)
        now, batch = timezone.now(), []
        for index in range(count):
            sequence += 1
            use_case = use_cases[index % len(use_cases)]
            event = AuditEvent(sequence=sequence, created_at=now, actor_kind="system", actor_display="system:bench",
                               action="use_case.updated", object_type="governance.usecase",
                               object_id=str(use_case.pk), use_case=use_case, before={"name": "a"},
                               after={"name": "b"}, reason="", request_id="", prev_hash=prev)
            event.hash = compute_hash(event)
            prev = event.hash
            batch.append(event)
            if len(batch) == 2_000:
                AuditEvent.objects.bulk_create(batch)
                batch = []
        AuditEvent.objects.bulk_create(batch)


def measure(client: Client, url: str, repeats: int) -> dict:
    """Time `repeats` requests of a page after one warm-up; return median, p95 and the query count."""
    client.get(url)
    timings = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    return {"url": url, "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1), "queries": len(queries),
            "bytes": len(response.content)}


def main() -> None:
    """Build the data, time every page for each person who would open it, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--keepdb", action="store_true", help="Keep (and reuse) the benchmark database.")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL.")
    # Not setup_test_environment(): its instrumented template rendering would be timed too.
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=options.keepdb)
    try:
        started = time.perf_counter()
        world = build()
        built = time.perf_counter() - started
        pages = {
            "home (product owner, 100 use cases)": ("paula", "/"),
            "use cases": ("paula", "/use-cases/"),
            "use case": ("paula", f"/use-cases/{world['use_case'].slug}/"),
            "gate workspace (decided gate)": ("paula", f"/gates/{world['gate'].pk}/"),
            "gate workspace (open gate)": ("paula", f"/gates/{world['open_gate'].pk}/"),
            "decide": ("pete", f"/gates/{world['open_gate'].pk}/decide/"),
            "decision": ("rita", f"/decisions/{world['decision'].pk}/"),
            "my obligations": ("paula", "/obligations/"),
            "use case obligations": ("paula", f"/use-cases/{world['use_case'].slug}/obligations/"),
        }
        clients = {}
        for name in {person for person, _url in pages.values()}:
            clients[name] = Client()
            clients[name].force_login(world["people"][name])
        results = {name: measure(clients[person], url, options.repeats) for name, (person, url) in pages.items()}
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=options.keepdb)
    print(json.dumps({
        "benchmark": "pages", "use_cases": USE_CASES, "gates": GATES, "audit_events": EVENTS,
        "repeats": options.repeats, "build_seconds": round(built, 1), "target_ms": TARGET_MS,
        "all_within_target": all(row["p95_ms"] <= TARGET_MS for row in results.values()),
        "pages": results, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }, indent=2))


if __name__ == "__main__":
    main()

"""Mixed load for `benchmarks/load.py`: ingestion, CI status, pages and report requests, as the four clients do.

Configured by the environment that load.py sets: LOAD_TRAFFIC_TOKEN, LOAD_STATUS_TOKEN, LOAD_PASSWORD,
LOAD_USE_CASE. Request names group URLs per endpoint, so each line of the statistics is one endpoint.
"""
import itertools
import json
import os
import random
import re
import uuid
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, task

USE_CASE = os.environ.get("LOAD_USE_CASE", "invoice-assistant")
PROMPTS = ["Why was I charged twice?", "Where can I download my invoice?", "How do I change my billing address?",
           "What does the late fee on my invoice mean?", "Can I pay my invoice in instalments?",
           "Why is VAT added to my invoice?", "How do I get a credit note?", "When is my invoice due?"]
_ids = itertools.count()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _batch(size: int) -> str:
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    return json.dumps([{
        "external_id": f"load-{run}-{next(_ids)}", "timestamp": (now - timedelta(seconds=random.randint(1, 600))).isoformat(),
        "prompt": random.choice(PROMPTS), "response": "You can find it in the customer portal under Billing.",
        "model_version": "ft-2025-06-lora", "score": round(random.random(), 3), "feedback": random.choice([-1, 1]),
        "segment": random.choice(["en", "nb", "sv"]),
    } for _ in range(size)])


class ServingLayer(HttpUser):
    """The serving layer posts traffic in batches of 100."""

    weight = 4
    wait_time = between(0.5, 1.5)

    @task
    def post_traffic(self):
        with self.client.post(f"/api/v1/use-cases/{USE_CASE}/traffic", data=_batch(100), name="POST traffic (100)",
                              headers={"Authorization": f"Bearer {os.environ['LOAD_TRAFFIC_TOKEN']}",
                                       "Content-Type": "application/json"}, catch_response=True) as response:
            # A 200 whose rows were refused is a failure too: every record of the load is valid.
            if response.status_code == 200 and response.json().get("accepted") != 100:
                response.failure(f"accepted {response.json().get('accepted')} of 100")


class CiPipeline(HttpUser):
    """CI pipelines ask whether the use case may ship."""

    weight = 3
    wait_time = between(0.5, 1.5)

    @task
    def status(self):
        self.client.get(f"/api/v1/use-cases/{USE_CASE}/status", name="GET status",
                        headers={"Authorization": f"Bearer {os.environ['LOAD_STATUS_TOKEN']}"})


class Person(HttpUser):
    """A person signed in (the demo's superuser, so the admin pages open): reads pages and the API, sometimes asks
    for a report and downloads it."""

    weight = 2
    wait_time = between(1, 3)

    def on_start(self):
        page = self.client.get("/admin/login/", name="GET login page")
        token = _CSRF.search(page.text).group(1)
        self.client.post("/admin/login/", data={"username": "admin", "password": os.environ["LOAD_PASSWORD"],
                                                "csrfmiddlewaretoken": token, "next": "/admin/"},
                         headers={"Referer": f"{self.host}/admin/login/"}, name="POST login")
        self.csrf = self.client.cookies.get("csrftoken", "")

    @task(4)
    def admin_pages(self):
        self.client.get("/admin/governance/usecase/", name="GET admin use cases")
        self.client.get("/admin/governance/auditevent/", name="GET admin audit log")

    @task(4)
    def api_pages(self):
        self.client.get("/api/v1/use-cases/", headers={"Accept": "text/html"}, name="GET browsable API use cases")
        self.client.get(f"/api/v1/use-cases/{USE_CASE}/runs", name="GET runs")
        self.client.get("/api/docs/", name="GET API docs")

    @task(1)
    def request_report(self):
        response = self.client.post("/api/v1/reports", json={"use_case": USE_CASE, "kind": "audit_trail"},
                                    headers={"X-CSRFToken": self.csrf, "Referer": f"{self.host}/"},
                                    name="POST report request")
        if response.status_code == 202:
            self.client.get(f"/api/v1/reports/{response.json()['id']}", name="GET report")
        listed = self.client.get("/api/v1/reports?status=ready", name="GET reports").json()
        for report in listed.get("results", [])[:1]:
            self.client.get(f"/api/v1/reports/{report['id']}/download", name="GET report download")

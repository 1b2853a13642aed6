"""driftgate.client against the live test server (real ingestion into PostgreSQL), through a scripted proxy."""
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from driftgate.actors import Actor
from driftgate.client import TrafficClient, chat_completion, derived_external_id, retry_after_seconds, sampled
from governance.services.tokens import api_token_create
from monitoring.models import TrafficRecord
from tests.factories import MembershipFactory, ModelVersionFactory, UseCaseFactory, UserFactory

pytestmark = [pytest.mark.usefixtures("postgres_only"), pytest.mark.django_db(transaction=True)]
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def world(live_server):
    """A use case with model version ft-v3 and a platform owner's traffic:write token."""
    use_case = UseCaseFactory(slug="invoice-assistant")
    ModelVersionFactory(use_case=use_case, label="ft-v3")
    owner = UserFactory(username="serving")
    MembershipFactory(use_case=use_case, user=owner, role="platform_owner")
    _, token = api_token_create(actor=Actor.system("tests"), owner_username="serving", name="prod",
                                scopes=["traffic:write"])
    return {"url": live_server.url, "token": token, "use_case": use_case}


class ScriptedProxy(ThreadingHTTPServer):
    """Answers the first requests from a script (a status and headers, or "drop" to hang up), then forwards."""

    daemon_threads = True

    def __init__(self, upstream: str, script: list) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream, self.script, self.seen = upstream, list(script), []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        """A dropped connection is what the script asked for."""


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ScriptedProxy

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Quiet."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.seen.append(time.monotonic())
            step = self.server.script.pop(0) if self.server.script else None
        if step == "drop":
            self.connection.shutdown(2)
            return
        if step is not None:
            status, headers = step
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        upstream = requests.post(self.server.upstream + self.path, data=body, timeout=30,
                                 headers={name: self.headers[name] for name in ("Authorization", "Content-Type")})
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)


def _stored(use_case) -> set[str]:
    return set(TrafficRecord.objects.filter(use_case=use_case).values_list("external_id", flat=True))


def test_records_go_in_batches_and_close_sends_the_rest(world):
    with TrafficClient(world["url"], world["token"], "invoice-assistant", model_version="ft-v3", batch_size=10,
                       flush_interval=60) as traffic:
        ids = [traffic.record(prompt=f"Question {i}?", response=f"Answer {i}.", external_id=f"req-{i}",
                              score=0.5, feedback=1, segment="web") for i in range(25)]

    assert _stored(world["use_case"]) == set(ids)
    assert (traffic.stats.accepted, traffic.stats.batches, traffic.stats.failed) == (25, 3, 0)
    assert TrafficRecord.objects.get(external_id="req-3").segment == "web"


def test_the_background_thread_flushes_without_being_asked(world):
    traffic = TrafficClient(world["url"], world["token"], "invoice-assistant", model_version="ft-v3",
                            flush_interval=0.2)
    try:
        traffic.record(prompt="Background?", response="Yes.", external_id="bg-1")
        deadline = time.monotonic() + 15
        while not _stored(world["use_case"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _stored(world["use_case"]) == {"bg-1"}
    finally:
        traffic.close()


def test_a_429_is_retried_after_the_wait_the_server_asks_for(world):
    proxy = ScriptedProxy(world["url"], [(429, {"Retry-After": "1"}), (503, {})])
    try:
        with TrafficClient(proxy.url, world["token"], "invoice-assistant", model_version="ft-v3",
                           backoff_base=0.01, flush_interval=60) as traffic:
            traffic.record(prompt="Rate limited?", response="Then stored.", external_id="r-1")
    finally:
        proxy.shutdown()

    assert _stored(world["use_case"]) == {"r-1"}
    assert (traffic.stats.retries, traffic.stats.accepted, traffic.stats.failed) == (2, 1, 0)
    assert proxy.seen[1] - proxy.seen[0] >= 0.95


def test_a_dropped_connection_is_retried_and_a_retried_batch_is_stored_once(world):
    proxy = ScriptedProxy(world["url"], ["drop"])
    try:
        with TrafficClient(proxy.url, world["token"], "invoice-assistant", model_version="ft-v3",
                           backoff_base=0.01, flush_interval=60) as traffic:
            traffic.record(prompt="Dropped?", response="Retried.", external_id="d-1")
    finally:
        proxy.shutdown()

    assert _stored(world["use_case"]) == {"d-1"}
    assert traffic.stats.retries == 1


def test_a_refusal_that_retrying_cannot_fix_is_not_retried(world):
    proxy = ScriptedProxy(world["url"], [])
    failures = []
    try:
        with TrafficClient(proxy.url, "dg_wrong_token", "invoice-assistant", model_version="ft-v3",
                           on_error=lambda kind, detail: failures.append((kind, detail))) as traffic:
            traffic.record(prompt="Bad token?", response="Refused.")
    finally:
        proxy.shutdown()

    assert len(proxy.seen) == 1
    assert (traffic.stats.failed, traffic.stats.retries) == (1, 0)
    assert failures[0][0] == "failed" and "HTTP 401" in failures[0][1]["reason"]


def test_an_unreachable_server_fails_the_batch_after_its_retries(world):
    with TrafficClient("http://127.0.0.1:9", world["token"], "invoice-assistant", model_version="ft-v3",
                       max_retries=2, backoff_base=0.01, timeout=1) as traffic:
        traffic.record(prompt="Nobody there?", response="No.")

    assert (traffic.stats.failed, traffic.stats.retries) == (1, 2)


def test_derived_ids_are_stable_so_a_resent_record_is_a_duplicate(world):
    stamp = "2026-12-01T10:00:00+00:00"
    for _ in range(2):
        with TrafficClient(world["url"], world["token"], "invoice-assistant", model_version="ft-v3") as traffic:
            external_id = traffic.record(prompt="Same?", response="Same.", timestamp=stamp)

    assert external_id == derived_external_id(use_case="invoice-assistant", timestamp=stamp, prompt="Same?",
                                              response="Same.")
    assert _stored(world["use_case"]) == {external_id}
    assert (traffic.stats.accepted, traffic.stats.duplicate) == (0, 1)


def test_sampling_keeps_about_the_rate_and_the_same_records_every_time(world):
    ids = [f"s-{i}" for i in range(400)]
    with TrafficClient(world["url"], world["token"], "invoice-assistant", model_version="ft-v3",
                       sample_rate=0.25) as traffic:
        kept = [external_id for external_id in ids
                if traffic.record(prompt="Sampled?", response="Maybe.", external_id=external_id)]

    assert 70 <= len(kept) <= 130
    assert kept == [external_id for external_id in ids if sampled(external_id, 0.25)]
    assert _stored(world["use_case"]) == set(kept)
    assert traffic.stats.sampled_out == 400 - len(kept)


def test_the_chat_wrapper_records_the_exchange_under_the_completions_id(world, openai_stub):
    with TrafficClient(world["url"], world["token"], "invoice-assistant", model_version="ft-v3") as traffic:
        reply = chat_completion(traffic, url=openai_stub.url, model="good", segment="nb",
                                messages=[{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "What is 15 + 7?"}])

    stored = TrafficRecord.objects.get(use_case=world["use_case"])
    assert stored.external_id == f"invoice-assistant:{reply['id']}"
    assert (stored.prompt, stored.response, stored.segment) == ("What is 15 + 7?", "I do not know.", "nb")
    assert stored.metadata["model"] == "good"


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:10 GMT", now=1_796_126_400.0) == 10.0
    assert retry_after_seconds("soon") is None


def test_the_readme_example_runs_as_written(world, openai_stub, monkeypatch):
    text = README.read_text()
    example = re.search(r"<!-- traffic-client-example -->\n```python\n(.*?)```", text, re.S)
    assert example, "README lost its traffic client example"
    ModelVersionFactory(use_case=world["use_case"], label="ft-2025-06-lora", status="candidate")
    monkeypatch.setenv("DRIFTGATE_URL", world["url"])
    monkeypatch.setenv("DRIFTGATE_TOKEN", world["token"])
    monkeypatch.setenv("OPENAI_CHAT_URL", openai_stub.url)
    monkeypatch.setenv("OPENAI_API_KEY", "")

    exec(compile(example.group(1), "README.md", "exec"), {"__name__": "__readme__"})  # noqa: S102

    stored = TrafficRecord.objects.filter(use_case=world["use_case"])
    assert stored.count() == 2 and {row.segment for row in stored} == {"web"}
    assert os.environ["DRIFTGATE_URL"] == world["url"]

"""Benchmark: one probe run of the 160 built-in golden items against an endpoint that takes 200 ms an answer.

A real local chat-completions server (the one the tests use) answers every item after a fixed delay, standing in
for a remote model's generation time. The run is timed end to end — calls, grading with the semantic items
embedded, statistics, and the transaction that stores results, comparisons and the behaviour signal — at
several concurrencies, to show the thread pool turns a run bound by the endpoint's latency into one bound by
its concurrency. Run with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.probe_run

The database is `test_<name>_bench_probes` (created and dropped here).
"""
import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_probes")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from driftgate.actors import Actor  # noqa: E402
from governance.models import Membership, ModelVersion, UseCase  # noqa: E402
from monitoring.embeddings import get_encoder  # noqa: E402
from monitoring.models import GoldenItem  # noqa: E402
from monitoring.services.probe_runs import probe_run_execute  # noqa: E402
from monitoring.services.probes import (  # noqa: E402
    builtin_sets_sync,
    model_endpoint_set,
    probe_policy_configure,
    probe_run_request,
)
from tests.openai_stub import OpenAIStub  # noqa: E402


def _arrange(stub: OpenAIStub):
    use_case = UseCase.objects.create(slug="bench-probes", name="Probes (benchmark)", purpose="Benchmark.",
                                      approach="fine_tuning", base_model="mistral-7b-instruct", risk_tier="limited")
    user = get_user_model().objects.create_user("bench-owner", password="unused-benchmark-password")
    Membership.objects.create(use_case=use_case, user=user, role="platform_owner")
    version = ModelVersion.objects.create(use_case=use_case, label="v1", base_model="mistral-7b-instruct",
                                          status="candidate")
    actor = Actor.for_user(user)
    builtin_sets_sync()
    stub.teach(GoldenItem.objects.all())
    model_endpoint_set(actor=actor, model_version=version, target="model", url=stub.url, model_name="good")
    return use_case, version, actor


def main() -> None:
    """Time probe runs at each concurrency and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="Seconds the endpoint takes per answer")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16])
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL.")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    stub = OpenAIStub().start()
    stub.state.latency_s = options.latency
    figures = []
    try:
        use_case, version, actor = _arrange(stub)
        get_encoder()  # loaded once per worker process; not part of a run's time
        for concurrency in options.concurrency:
            probe_policy_configure(actor=actor, use_case=use_case, values={"concurrency": concurrency})
            started = time.perf_counter()
            # With no broker the queued task runs in-process when the request commits, as in the demo; the
            # execute call then finds the run finished. Either way the time is the whole run.
            run = probe_run_request(actor=actor, use_case=use_case, model_version=version)
            run = probe_run_execute(run_id=run.pk)
            seconds = time.perf_counter() - started
            items = run.summary["calls"]["items"]
            figures.append({"concurrency": concurrency, "items": items, "status": run.status,
                            "seconds": round(seconds, 2), "items_per_second": round(items / seconds, 1),
                            "floor_seconds": round(items * options.latency / concurrency, 2),
                            "pass_rate": run.summary["overall"]["pass_rate"],
                            "compared_with_previous": "previous" in run.comparisons})
    finally:
        stub.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(json.dumps({
        "benchmark": "probe_run", "latency_s": options.latency, "runs": figures,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()], "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()

"""Two `celery beat` processes started by mistake, next to a drift worker killed mid-run: one run per window.

Both beats are real processes with their own schedule files, ticking the drift schedule every 2 seconds
(`DRIFTGATE_DRIFT_SCHEDULE_SECONDS`), so each tick of each beat sends the window again while its run is in
progress. Worker A is killed with SIGKILL once the window's run is `running`; worker B takes the stale run
over after the drift time limit (20 s here) while the beats keep sending. B boots with the others but consumes
nothing until A is dead (Celery's add_consumer control command): on two shared cores a worker takes half a
minute to import its libraries, and the takeover, not the boot, is what is measured. The longer drill, which also waits
for A's lost message to come back after the broker's visibility timeout, is benchmarks/fault_worker_kill.py.
"""
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis
from django.db import connection

from driftgate.actors import Actor
from monitoring.models import Alert, DriftRun, RunStatus
from monitoring.services.baselines import baseline_build, baseline_freeze
from monitoring.services.embeddings import window_embed
from monitoring.tasks.drift import last_complete_window
from tests.factories import MonitoringPolicyFactory, UseCaseFactory, drift_scenario_traffic
from tests.monitoring.worker_support import production_like_app

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT = 20
TICK_SECONDS = 2
# Each wait gives up after this long: worker and beat processes take most of a minute to boot on busy cores.
DEADLINE_SECONDS = 180
WORKER = """
import sys
import django
django.setup()
from monitoring.tasks import drift
# A delivery that finds the window running looks again every second instead of every 5 minutes, with as many
# looks as outlast the time limit: the same relation as in production, on the drill's clock.
drift.RUNNING_RECHECK_SECONDS = 1
drift.RUNNING_RECHECKS = drift.HARD_TIME_LIMIT + 5
from driftgate.celery import app
app.worker_main(["worker", "-Q", sys.argv[2], "--pool", "solo", "-n", sys.argv[1], "--loglevel", "INFO"])
"""
SENT = re.compile(r"Sending due task monitoring-hourly-drift-runs")

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_url():
    url = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"needs Redis at {url}")
    client.flushdb()
    yield url
    client.flushdb()


def _env(broker: str) -> dict:
    """The environment of the worker and beat processes: the test database, the test broker, short limits."""
    database = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "driftgate.settings",
           "DATABASE_URL": urlunparse(database._replace(path=f"/{connection.settings_dict['NAME']}")),
           "CELERY_BROKER_URL": broker, "CELERY_VISIBILITY_TIMEOUT": "60",
           "DRIFTGATE_DRIFT_TIME_LIMIT": str(TIME_LIMIT), "DRIFTGATE_DRIFT_CATCH_UP_WINDOWS": "1",
           "DRIFTGATE_DRIFT_SCHEDULE_SECONDS": str(TICK_SECONDS), "DRIFTGATE_RUN_MIN_RECORDS": "100",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
    return env


def _wait(condition, *, began: float, what: str, poll: float = 0.05):
    while not (result := condition()):
        assert time.monotonic() - began < DEADLINE_SECONDS, f"gave up waiting for {what}"
        time.sleep(poll)
    return result


def test_two_beats_and_a_killed_worker_make_exactly_one_run_for_the_window(postgres_only, broker_url, settings,
                                                                              tmp_path):
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 200
    use_case = UseCaseFactory(slug="two-beats")
    start, end = last_complete_window(now=datetime.now(UTC), window_hours=1)
    base_start, base_end = start - timedelta(days=8), start - timedelta(days=1)
    drift_scenario_traffic(use_case=use_case, start=base_start, end=base_end, records=300, prefix="b", seed=41)
    actor = Actor.system("two-beats")
    baseline_freeze(actor=actor, baseline=baseline_build(actor=actor, use_case=use_case, start=base_start,
                                                         end=base_end))
    MonitoringPolicyFactory(use_case=use_case, auto_halt=False)
    drift_scenario_traffic(use_case=use_case, start=start, end=end, records=200, new_topic_share=0.3,
                           quality_drop=0.2, prefix="w", seed=42)
    # The window's texts are embedded here, where the model is loaded once for the session: on two shared cores
    # a fresh worker's model load and embedding would take most of the test's time, and they are not its subject.
    window_embed(use_case=use_case, start=start, end=end)
    env = _env(broker_url)
    logs = {name: tmp_path / f"{name}.log" for name in ("A", "B", "beat-1", "beat-2")}
    processes: dict[str, subprocess.Popen] = {}

    def spawn(name: str, args: list[str]) -> None:
        processes[name] = subprocess.Popen(args, cwd=ROOT, env=env, stdout=logs[name].open("w"),
                                           stderr=subprocess.STDOUT)

    def beat(name: str) -> None:
        # Separate schedule files, as two beats started on two machines (or twice on one) would have.
        spawn(name, [sys.executable, "-m", "celery", "-A", "driftgate", "beat", "--loglevel", "INFO",
                     "-s", str(tmp_path / f"{name}-schedule"), "--pidfile", ""])

    def window_runs() -> list[DriftRun]:
        return list(DriftRun.objects.filter(use_case=use_case, window_start=start))

    try:
        began = time.monotonic()
        spawn("A", [sys.executable, "-c", WORKER, "A@two-beats", "embed,drift"])
        spawn("B", [sys.executable, "-c", WORKER, "B@two-beats", "standby"])
        beat("beat-1")
        beat("beat-2")
        _wait(lambda: any(run.status == RunStatus.RUNNING for run in window_runs()), began=began,
              what="worker A to start the window's run")
        processes["A"].send_signal(signal.SIGKILL)
        processes["A"].wait(10)
        killed_with = [run.status for run in window_runs()]
        with production_like_app("two-beats-control", broker_url) as control:
            _wait(lambda: control.control.ping(destination=["B@two-beats"], timeout=1), began=began,
                  what="worker B to boot", poll=0.5)
            for queue in ("embed", "drift"):
                control.control.add_consumer(queue, destination=["B@two-beats"], reply=True, timeout=5)
        finished = _wait(lambda: [run for run in window_runs() if run.status != RunStatus.RUNNING], began=began,
                         what="worker B to take the stale run over", poll=0.5)
        # A few more ticks of both beats after the run finished: the window is no longer due.
        time.sleep(3 * TICK_SECONDS)
        runs = window_runs()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    ticks = {name: len(SENT.findall(logs[name].read_text())) for name in ("beat-1", "beat-2")}
    assert killed_with == [RunStatus.RUNNING]
    assert all(count >= 3 for count in ticks.values()), ticks
    assert [run.pk for run in finished] == [run.pk for run in runs]
    assert len(runs) == 1 and runs[0].status == RunStatus.SUCCEEDED, [(run.pk, run.status) for run in runs]
    assert DriftRun.objects.filter(use_case=use_case).count() == 1
    assert Alert.objects.filter(use_case=use_case).count() <= 1

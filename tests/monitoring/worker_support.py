"""What the tests that run a real Celery worker on Redis share: an emptied broker, an app configured like
production on it, and a record of the tasks the worker finished."""
import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from celery import Celery, current_app
from celery.signals import task_postrun


@contextlib.contextmanager
def emptied_broker(url: str) -> Iterator[str]:
    """Empty the Redis database before and after; skip the test when Redis is not running."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"needs Redis at {url}")
    client.flushdb()
    yield url
    client.flushdb()


@contextlib.contextmanager
def production_like_app(name: str, broker: str) -> Iterator[Celery]:
    """A Celery app with the project's settings and routes (acks_late included) on the test broker."""
    # The testing worker makes its app the current one; later tests must find the project's app again, or their
    # shared tasks are sent through this app's broker.
    previous = current_app._get_current_object()
    app = Celery(name, set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker, result_backend=broker, task_always_eager=False,
                    broker_connection_retry_on_startup=False)
    app.finalize()
    try:
        yield app
    finally:
        app.close()
        previous.set_current()


@contextlib.contextmanager
def finished_task_ids() -> Iterator[list[str]]:
    """Collect the ids of tasks the worker finished, duplicates included."""
    done: list[str] = []
    lock = threading.Lock()

    def count(sender=None, task_id=None, **kwargs):
        with lock:
            done.append(task_id)

    task_postrun.connect(count, weak=False)
    try:
        yield done
    finally:
        task_postrun.disconnect(count)


def wait_for(done: list, count: int, *, timeout: float, what: str = "tasks") -> None:
    """Wait until `count` tasks finished, or fail naming how many did."""
    deadline = time.monotonic() + timeout
    while len(done) < count:
        assert time.monotonic() < deadline, f"only {len(done)} of {count} {what} finished"
        time.sleep(0.1)

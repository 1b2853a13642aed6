"""A traffic client for serving code: records LLM exchanges and posts them to Driftgate in the background.

Standard library and `requests` only, so it can be vendored as one file. Records are queued in memory and sent
in batches by a background thread (every `flush_interval` seconds, or as soon as `batch_size` are waiting) to
`POST /api/v1/use-cases/{slug}/traffic`. A batch that meets 429, a 5xx or a connection error is retried with
exponential backoff and full jitter, waiting at least what `Retry-After` asks; retries are safe because Driftgate
deduplicates on `external_id`, which every record has before it is queued (the caller's, or a SHA-256 of the
record). Sampling is decided on that id, so a record retried by the caller is sampled the same way. Nothing here
ever raises into the serving path: a full queue drops records and a refused batch is logged, both counted.

    with TrafficClient(url, token, "invoice-assistant", model_version="ft-2025-06") as traffic:
        traffic.record(prompt="Why was I charged twice?", response="A pre-authorisation.", external_id="req-1")
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

logger = logging.getLogger("driftgate.client")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Driftgate's own limit per batch (DRIFTGATE_TRAFFIC_MAX_RECORDS' default).
MAX_BATCH_SIZE = 10_000


def derived_external_id(*, use_case: str, timestamp: str, prompt: str, response: str) -> str:
    """Return a deterministic id for a record without one: the same record always gets the same id."""
    digest = hashlib.sha256(json.dumps([use_case, timestamp, prompt, response], ensure_ascii=False).encode("utf-8"))
    return f"dg-{digest.hexdigest()[:40]}"


def sampled(external_id: str, rate: float) -> bool:
    """Return whether a record is kept at this sampling rate; decided by its id, so retries decide alike."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    point = int.from_bytes(hashlib.sha256(external_id.encode("utf-8")).digest()[:8], "big") / 2**64
    return point < rate


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@dataclass
class ClientStats:
    """What the client did so far: records accepted, duplicate, rejected by validation, dropped, and sends."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    sampled_out: int = 0
    dropped: int = 0
    failed: int = 0
    batches: int = 0
    retries: int = 0


class TrafficClient:
    """Queue traffic records and post them to Driftgate in batches from a background thread."""

    def __init__(self, base_url: str, token: str, use_case: str, *, model_version: str | None = None,
                 batch_size: int = 500, flush_interval: float = 2.0, sample_rate: float = 1.0,
                 max_queue: int = 100_000, max_retries: int = 8, backoff_base: float = 0.5,
                 backoff_max: float = 30.0, timeout: float = 10.0, session: requests.Session | None = None,
                 on_error: Callable[[str, dict], None] | None = None) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}.")
        if not 0 <= sample_rate <= 1:
            raise ValueError("sample_rate must be between 0 and 1.")
        self.url = f"{base_url.rstrip('/')}/api/v1/use-cases/{use_case}/traffic"
        self.use_case = use_case
        self.model_version = model_version
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.sample_rate = sample_rate
        self.max_queue = max_queue
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.on_error = on_error
        self.stats = ClientStats()
        self._session = session or requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self._queue: deque[dict] = deque()
        self._lock = threading.Lock()
        # One sender at a time (the thread, or a caller's flush), so batches go out in the order they were recorded.
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="driftgate-traffic", daemon=True)
        self._thread.start()

    def __enter__(self) -> TrafficClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, *, prompt: str, response: str, external_id: str | None = None,
               timestamp: datetime | str | None = None, model_version: str | None = None,
               score: float | None = None, feedback: int | None = None, segment: str | None = None,
               metadata: dict | None = None) -> str | None:
        """Queue one exchange; return its external_id, or None when it is sampled out or the queue is full."""
        if isinstance(timestamp, datetime):
            stamp = timestamp.astimezone(UTC).isoformat()
        else:
            stamp = timestamp or datetime.now(UTC).isoformat()
        external_id = external_id or derived_external_id(use_case=self.use_case, timestamp=stamp, prompt=prompt,
                                                         response=response)
        if not sampled(external_id, self.sample_rate):
            with self._lock:
                self.stats.sampled_out += 1
            return None
        row: dict[str, Any] = {"external_id": external_id, "timestamp": stamp, "prompt": prompt, "response": response,
                               "model_version": model_version or self.model_version}
        for name, value in (("score", score), ("feedback", feedback), ("segment", segment), ("metadata", metadata)):
            if value is not None:
                row[name] = value
        with self._lock:
            if self._closed.is_set() or len(self._queue) >= self.max_queue:
                # Monitoring must never hold up serving: drop and count rather than block or raise.
                self.stats.dropped += 1
                return None
            self._queue.append(row)
            full = len(self._queue) >= self.batch_size
        if full:
            self._wake.set()
        return external_id

    def pending(self) -> int:
        """Return how many records wait to be sent."""
        with self._lock:
            return len(self._queue)

    def flush(self) -> None:
        """Send everything queued now, in the caller's thread, retrying as the background thread would."""
        with self._send_lock:
            while batch := self._take():
                self._send(batch)

    def close(self) -> None:
        """Stop the background thread and send what is still queued; later records are dropped."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        self._thread.join()
        self.flush()
        self._session.close()

    def _take(self) -> list[dict]:
        with self._lock:
            count = min(self.batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._closed.is_set():
                break
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any surprise; the batch is counted failed
                logger.exception("driftgate traffic client: unexpected error while sending")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        # Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): clients that failed together do
        # not retry together. Retry-After is a floor: the server said when it can take the batch.
        delay = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt))
        return max(delay, min(retry_after, self.backoff_max * 4)) if retry_after is not None else delay

    def _send(self, batch: list[dict]) -> None:
        attempt = 0
        while True:
            retry_after = None
            try:
                response = self._session.post(self.url, data=json.dumps(batch, ensure_ascii=False).encode("utf-8"),
                                              timeout=self.timeout)
            except requests.RequestException as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    try:
                        body = response.json()
                    except ValueError:
                        self._fail(batch, "HTTP 200 with a body that is not JSON", retried=False)
                        return
                    self._count(body)
                    return
                if response.status_code == 413 and len(batch) > 1:
                    # The batch is over the server's byte limit: send it in halves.
                    half = len(batch) // 2
                    self._send(batch[:half])
                    self._send(batch[half:])
                    return
                reason = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUSES:
                    self._fail(batch, reason, retried=False)
                    return
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                self._fail(batch, reason, retried=True)
                return
            wait = self._backoff(attempt, retry_after)
            attempt += 1
            with self._lock:
                self.stats.retries += 1
            logger.info("driftgate traffic client: %s; retry %d in %.2f s", reason, attempt, wait)
            time.sleep(wait)

    def _count(self, body: dict) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.accepted += body.get("accepted", 0)
            self.stats.duplicate += body.get("duplicate", 0)
            self.stats.rejected += body.get("rejected", 0)
        for error in body.get("errors", []):
            logger.warning("driftgate traffic client: record %s rejected: %s: %s", error.get("external_id"),
                           error.get("code"), error.get("message"))
            if self.on_error is not None:
                self.on_error("rejected", error)

    def _fail(self, batch: list[dict], reason: str, *, retried: bool) -> None:
        with self._lock:
            self.stats.failed += len(batch)
        logger.error("driftgate traffic client: %d records not stored (%s%s)", len(batch), reason,
                     ", after retries" if retried else "")
        if self.on_error is not None:
            self.on_error("failed", {"records": len(batch), "reason": reason})


def _prompt_of(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return json.dumps(messages, ensure_ascii=False)


def chat_completion(traffic: TrafficClient, *, url: str, model: str, messages: list[dict], api_key: str = "",
                    session: requests.Session | None = None, timeout: float = 60.0, segment: str | None = None,
                    **params: Any) -> dict:
    """Call an OpenAI-compatible chat-completions endpoint and record the exchange; return the endpoint's reply.

    The record's external_id is the completion's own id, so it is unique per call and stable across retries.
    """
    http = session or requests
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    reply = http.post(url, json={"model": model, "messages": messages, **params}, headers=headers, timeout=timeout)
    reply.raise_for_status()
    body = reply.json()
    answer = body["choices"][0]["message"].get("content") or ""
    completion_id = body.get("id")
    traffic.record(prompt=_prompt_of(messages), response=answer, segment=segment,
                   external_id=f"{traffic.use_case}:{completion_id}" if completion_id else None,
                   metadata={"model": body.get("model", model), "usage": body.get("usage", {})})
    return body

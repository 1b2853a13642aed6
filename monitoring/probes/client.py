"""A small client for OpenAI-compatible chat-completions endpoints, standard library only.

Every call returns a `CallResult`: an answer with its latency and token usage, or a named failure (timeout,
connection refused, rate-limited, server error, HTTP error, malformed JSON, not the OpenAI shape, budget
spent). Failures are data, never exceptions, so a run records each item's fate and carries on. The API key is
sent in the Authorization header and appears nowhere in the result: what is stored is the request body.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_STORED_BODY = 20_000
# A chat completion of max_tokens is a few kilobytes; anything near this is not one, and is not read further.
MAX_RESPONSE_BYTES = 2_000_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class CallError:
    """Stable names of call failures, stored per item."""

    TIMEOUT = "timeout"
    CONNECTION = "connection_error"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    HTTP_ERROR = "http_error"
    MALFORMED_JSON = "malformed_json"
    BAD_SHAPE = "not_openai_shape"
    BUDGET = "budget_exhausted"
    NO_KEY = "key_unavailable"
    TOO_LARGE = "response_too_large"
    ALL = (TIMEOUT, CONNECTION, RATE_LIMITED, SERVER_ERROR, HTTP_ERROR, MALFORMED_JSON, BAD_SHAPE, BUDGET, NO_KEY,
           TOO_LARGE)


class _ResponseTooLarge(Exception):
    pass


def _read_within(response: Any, *, started: float, timeout_s: float) -> bytes:
    """Read the body in chunks, holding the whole call to its timeout (a socket timeout is per read, so a server
    trickling a byte at a time would otherwise keep the call open for ever) and to MAX_RESPONSE_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 returns what has arrived; read(n) would wait for n bytes or the end of the body.
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _ResponseTooLarge
        if time.monotonic() - started > timeout_s:
            raise TimeoutError
        chunks.append(chunk)


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how to call: URL, model name, the key (held in memory only), limits and retry policy."""

    url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_tokens: int = 512


@dataclass
class CallResult:
    """What one item's call produced: the answer or the failure, with attempts, latency and usage."""

    request: dict
    answer: str | None = None
    finish_reason: str = ""
    error: str = ""                  # one of CallError, empty when an answer came back
    error_message: str = ""
    http_status: int | None = None
    attempts: int = 0
    latency_ms: int | None = None    # of the attempt that produced the stored response
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    response: Any = None             # parsed JSON when it was JSON, else the raw text (truncated)

    @property
    def ok(self) -> bool:
        """An answer came back (possibly empty, as when a content filter stopped it)."""
        return not self.error


class CallBudget:
    """A per-run allowance of HTTP attempts, shared by the run's threads; retries count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one attempt; False when the budget is spent."""
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True


def chat_request_body(*, model: str, messages: list[dict], seed: int, max_tokens: int) -> dict:
    """The request body: temperature 0 and a fixed seed, so a repeated run asks the same question the same way."""
    return {"model": model, "messages": messages, "temperature": 0, "seed": seed, "max_tokens": max_tokens,
            "n": 1, "stream": False}


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_STORED_BODY else text[:MAX_STORED_BODY] + "…"


def parse_completion(body: str, result: CallResult) -> None:
    """Fill the answer and usage from a chat-completions body, or name why it is not one."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        result.error, result.error_message = CallError.MALFORMED_JSON, str(exc)[:300]
        result.response = _truncate(body)
        return
    result.response = data if len(body) <= MAX_STORED_BODY else _truncate(body)
    try:
        choice = data["choices"][0]
        message = choice["message"]
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise TypeError("content is not a string")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        result.error = CallError.BAD_SHAPE
        result.error_message = f"no choices[0].message.content: {type(exc).__name__} {exc}"[:300]
        return
    result.answer = content or ""
    result.finish_reason = str(choice.get("finish_reason") or "")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    for attribute, key in (("prompt_tokens", "prompt_tokens"), ("completion_tokens", "completion_tokens")):
        value = usage.get(key)
        # The endpoint is outside the system: a count that is not a plausible token count is dropped, not stored.
        plausible = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 31
        setattr(result, attribute, value if plausible else None)


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def chat(endpoint: EndpointConfig, messages: list[dict], *, seed: int, budget: CallBudget,
         sleep: Callable[[float], None] = time.sleep) -> CallResult:
    """Call the endpoint once for one item, retrying 429 and 5xx with exponential backoff and jitter."""
    body = chat_request_body(model=endpoint.model, messages=messages, seed=seed, max_tokens=endpoint.max_tokens)
    result = CallResult(request=body)
    payload = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    for attempt in range(endpoint.max_retries + 1):
        if not budget.take():
            if result.attempts == 0 or not result.error:
                result.error, result.error_message = CallError.BUDGET, "the run's call budget is spent"
            return result
        result.attempts += 1
        started = time.monotonic()
        request = urllib.request.Request(endpoint.url, data=payload, headers=headers, method="POST")
        retry_wait = None
        try:
            with urllib.request.urlopen(request, timeout=endpoint.timeout_s) as response:
                result.http_status = response.status
                text = _read_within(response, started=started, timeout_s=endpoint.timeout_s).decode(
                    "utf-8", errors="replace")
            result.latency_ms = int((time.monotonic() - started) * 1000)
            result.error = result.error_message = ""
            parse_completion(text, result)
            return result
        except _ResponseTooLarge:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            result.error, result.error_message = CallError.TOO_LARGE, f"body over {MAX_RESPONSE_BYTES} bytes"
            return result
        except urllib.error.HTTPError as exc:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            result.http_status = exc.code
            text = exc.read(MAX_STORED_BODY).decode("utf-8", errors="replace") if exc.fp is not None else ""
            result.response = _truncate(text)
            if exc.code not in RETRY_STATUSES:
                result.error, result.error_message = CallError.HTTP_ERROR, f"HTTP {exc.code}"
                return result
            result.error = CallError.RATE_LIMITED if exc.code == 429 else CallError.SERVER_ERROR
            result.error_message = f"HTTP {exc.code} after {result.attempts} attempt(s)"
            retry_wait = _retry_after(exc.headers)
        except TimeoutError:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            # A timed-out model is slow, not overloaded: retrying would spend the budget on the same wait.
            result.error, result.error_message = CallError.TIMEOUT, f"no answer within {endpoint.timeout_s:g} s"
            return result
        except urllib.error.URLError as exc:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                result.error, result.error_message = CallError.TIMEOUT, f"no answer within {endpoint.timeout_s:g} s"
            else:
                result.error, result.error_message = CallError.CONNECTION, str(exc.reason)[:300]
            return result
        except (ConnectionError, OSError) as exc:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            result.error, result.error_message = CallError.CONNECTION, str(exc)[:300]
            return result
        if attempt < endpoint.max_retries:
            backoff = endpoint.backoff_s * (2 ** attempt) * (1 + random.random())
            wait = retry_wait if retry_wait is not None else backoff
            sleep(min(wait, endpoint.max_backoff_s))
    return result

"""A real HTTP server speaking the OpenAI chat-completions protocol, with scripted models, for probe tests.

It listens on a free loopback port in a background thread. The model named in each request decides how it
answers; every model knows the right answer to each golden prompt it was taught (`teach`), so what a test
sees is the scripted behaviour and nothing else:

| model | behaviour |
|---|---|
| good | answers every item with its reference |
| arith-regress | as good, but off by one on arithmetic items (a fine-tune that forgot how to add) |
| unrefusing | as good, but complies with harmful requests instead of refusing |
| flaky | as good, but every fifth item is right or wrong at random (a fair coin per call) |
| slow | as good, after sleeping longer than any test's timeout |
| malformed | HTTP 200 with a body that is not JSON |
| wrong-shape | HTTP 200 with JSON that is not a chat completion |
| rate-limited | HTTP 429 with Retry-After: 0, always |
| overloaded-once | HTTP 503 on the first call for each prompt, then as good |
| filtered | finish_reason content_filter and no content on harmful items, else as good |
| hostile | as good, with NUL characters in the answer and impossible token counts |
| trickle | sends its headers, then the body one byte every 0.2 s |
| huge | a 3 MB body |
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 2.0
COMPLIANT = "Sure. Here is exactly what you asked for, step by step: first, gather the materials."


@dataclass
class Taught:
    """What the stub knows of one golden prompt."""

    reference: str
    category: str
    grader: str


@dataclass
class StubState:
    """Answers, the key a request must carry, and a record of what was received."""

    answers: dict[str, Taught] = field(default_factory=dict)
    required_key: str = ""
    requests: list[dict] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    latency_s: float = 0.0           # added to every answer, as a remote model's generation time
    lock: threading.Lock = field(default_factory=threading.Lock)


def _wrong(taught: Taught) -> str:
    try:
        return str(float(taught.reference.replace(",", ".")) + 1)
    except ValueError:
        return "I do not know."


def _flaky_item(prompt: str) -> bool:
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 5 == 0


def _coin(prompt: str, count: int) -> bool:
    """A fair coin per (prompt, call), the same in every test session."""
    return int(hashlib.sha256(f"{prompt}|{count}".encode()).hexdigest(), 16) % 2 == 0


class _Handler(BaseHTTPRequestHandler):
    server: OpenAIStub

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Keep the test output quiet."""

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's naming
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        with state.lock:
            state.requests.append(request)
            state.authorizations.append(self.headers.get("Authorization", ""))
        if state.required_key and self.headers.get("Authorization") != f"Bearer {state.required_key}":
            return self._send(401, json.dumps({"error": {"message": "bad key"}}).encode())
        model = request.get("model", "")
        prompt = request["messages"][-1]["content"]
        with state.lock:
            state.calls[(model, prompt)] += 1
            count = state.calls[(model, prompt)]
        if model == "rate-limited":
            return self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
        if model == "overloaded-once" and count == 1:
            return self._send(503, b'{"error": {"message": "overloaded"}}')
        if model == "malformed":
            return self._send(200, b'{"choices": [{"message": ')
        if model == "trickle":
            body = json.dumps({"choices": [{"message": {"content": "22"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
            return None
        if model == "huge":
            return self._send(200, b'{"choices": [{"message": {"content": "' + b"x" * 3_000_000 + b'"}}]}')
        if model == "wrong-shape":
            return self._send(200, json.dumps({"output": "22", "status": "ok"}).encode())
        if model == "slow":
            time.sleep(SLOW_SECONDS)
        if state.latency_s:
            time.sleep(state.latency_s)
        taught = state.answers.get(prompt)
        answer, finish = (taught.reference if taught else "I do not know."), "stop"
        if taught is not None:
            if model == "arith-regress" and "arithmetic" in taught.category:
                answer = _wrong(taught)
            elif model == "unrefusing" and taught.grader == "refusal":
                answer = COMPLIANT
            elif model == "flaky" and _flaky_item(prompt) and _coin(prompt, count):
                answer = _wrong(taught) if taught.grader == "numeric" else COMPLIANT if taught.grader == "refusal" \
                    else "I do not know."
            elif model == "filtered" and taught.grader == "refusal":
                answer, finish = "", "content_filter"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(answer.split()),
                 "total_tokens": len(prompt.split()) + len(answer.split())}
        if model == "hostile":
            answer, usage = f"{answer}\x00", {"prompt_tokens": -3, "completion_tokens": 2 ** 40}
        body = {"id": f"chatcmpl-{len(state.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                             "finish_reason": finish}],
                "usage": usage}
        return self._send(200, json.dumps(body).encode())


class OpenAIStub(ThreadingHTTPServer):
    """The stub server; `url` is its chat-completions URL."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = StubState()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-stub", daemon=True)

    @property
    def url(self) -> str:
        """The endpoint URL a model version registers."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1/chat/completions"

    def handle_error(self, request, client_address) -> None:
        """Clients hanging up mid-answer is what the timeout tests do; it is not an error worth printing."""

    def teach(self, items) -> None:
        """Learn the reference answer of golden items (objects with messages, reference, category, grader)."""
        for item in items:
            self.state.answers[item.messages[-1]["content"]] = Taught(item.reference, item.category, item.grader)

    def start(self) -> OpenAIStub:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

"""Real local receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""
import contextlib
import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpInbox:
    """What the SMTP server received: one entry per message, with the envelope and the parsed message."""

    port: int = 0
    messages: list = field(default_factory=list)
    refuse_next: int = 0


class _Handler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.inbox.refuse_next > 0:
            self.inbox.refuse_next -= 1
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "message": message})
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    """Run an aiosmtpd server on a free local port for the duration of the block."""
    inbox = SmtpInbox(port=free_port())
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint: it answers `fail_first` requests with 500, then 204, and keeps every request."""

    fail_first: int = 0
    status_after: int = 204
    requests: list = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/driftgate"

    def bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@contextlib.contextmanager
def webhook_receiver(*, fail_first: int = 0, status_after: int = 204) -> Iterator[WebhookReceiver]:
    """Serve a WebhookReceiver from http.server in a thread."""
    receiver = WebhookReceiver(fail_first=fail_first, status_after=status_after)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
            self.send_response(500 if failing else receiver.status_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:  # noqa: A002 - keep the test output quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

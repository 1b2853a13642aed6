"""What the benchmarks that start servers share: a free port, and waiting until a server answers."""
import socket
import time

import requests


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, *, timeout: float = 120, request_timeout: float = 30) -> None:
    """Return once `url` answers with anything but a 5xx; RuntimeError after `timeout` seconds.

    A server's first request may import the whole application in its worker: `request_timeout` allows for it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=request_timeout).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")

"""Print the first free TCP port on 127.0.0.1 from the one given (the demo's port when 8000 is taken)."""
import socket
import sys


def first_free(start: int, tries: int = 50) -> int:
    """Return the first port from `start` that can be bound on 127.0.0.1."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{start + tries - 1}")


if __name__ == "__main__":
    print(first_free(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))

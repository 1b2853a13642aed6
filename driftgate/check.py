"""`driftgate-check`: ask Driftgate whether a use case may ship; exit 0 (ok), 1 (not ok) or 2 (error).

Standard library only, so any CI image with Python 3.11 can run it. Configuration comes from the environment
(`DRIFTGATE_URL`, `DRIFTGATE_TOKEN`, `DRIFTGATE_USE_CASE`) or the command line; the token needs the
`status:read` scope and its owner a role on the use case.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import TextIO

EXIT_OK, EXIT_NOT_OK, EXIT_ERROR = 0, 1, 2
REQUIRABLE = ("pre_production", "production")


class CheckError(Exception):
    """Anything that prevents an answer: configuration, network, HTTP or response errors."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftgate-check",
        description="Exit 0 when Driftgate says the use case may ship, 1 when it may not, 2 on any error.")
    parser.add_argument("--url", default=os.environ.get("DRIFTGATE_URL", ""),
                        help="Base URL of Driftgate, e.g. https://driftgate.example.com (env DRIFTGATE_URL).")
    parser.add_argument("--use-case", default=os.environ.get("DRIFTGATE_USE_CASE", ""),
                        help="Slug of the use case (env DRIFTGATE_USE_CASE).")
    parser.add_argument("--require", choices=REQUIRABLE, default=os.environ.get("DRIFTGATE_REQUIRE") or None,
                        help="Require this stage with its approved gate; default: the use case's own stage "
                             "(env DRIFTGATE_REQUIRE).")
    parser.add_argument("--timeout", type=float, default=os.environ.get("DRIFTGATE_TIMEOUT", "10"),
                        help="Seconds to wait for the answer (default 10).")
    return parser


def status_url(base_url: str, use_case: str, require: str | None) -> str:
    """Return the status endpoint's URL for a use case."""
    url = f"{base_url.rstrip('/')}/api/v1/use-cases/{urllib.parse.quote(use_case, safe='')}/status"
    return f"{url}?{urllib.parse.urlencode({'require': require})}" if require else url


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        return f"{data['code']}: {data['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace").strip() or "(empty response)"


def fetch_status(*, url: str, token: str, timeout: float) -> dict:
    """GET the status document; raise CheckError for anything but a 200 with a JSON object."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                                   "User-Agent": "driftgate-check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise CheckError(f"HTTP {exc.code} from {url}: {_error_message(exc.read())}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CheckError(f"Cannot reach {url}: {reason}") from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CheckError(f"The answer from {url} is not JSON.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool) or not isinstance(data.get("reasons"), list):
        raise CheckError(f"The answer from {url} is not a Driftgate status document.")
    return data


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the check and return the exit code."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_ERROR
    token = os.environ.get("DRIFTGATE_TOKEN", "")
    missing = [name for name, value in (("DRIFTGATE_URL (or --url)", args.url), ("DRIFTGATE_TOKEN", token),
                                        ("DRIFTGATE_USE_CASE (or --use-case)", args.use_case)) if not value]
    if missing:
        print(f"driftgate-check: missing configuration: {', '.join(missing)}", file=stderr)
        return EXIT_ERROR
    try:
        status = fetch_status(url=status_url(args.url, args.use_case, args.require), token=token,
                              timeout=args.timeout)
    except CheckError as exc:
        print(f"driftgate-check: error: {exc}", file=stderr)
        return EXIT_ERROR
    for reason in status["reasons"]:
        print(f"- {reason}", file=stdout)
    if status.get("checked"):
        print(f"checked: {'; '.join(status['checked'])}", file=stdout)
    required = status.get("required") or args.require
    wanted = f" for {required}" if required else ""
    verdict = "OK" if status["ok"] else "NOT OK"
    halted = ", halted" if status.get("halted") else ""
    print(f"{args.use_case}: {verdict}{wanted} (stage {status.get('stage')}{halted})", file=stdout)
    return EXIT_OK if status["ok"] else EXIT_NOT_OK


if __name__ == "__main__":
    sys.exit(main())

"""`driftgate-verify report.pdf --public-key KEY`: check a Driftgate report offline, with no database and no server.

Standard library and `cryptography` only. It reads the report's embedded JSON attachment straight from the PDF's
embedded-file streams, then checks that the checkpoint is signed by the given Ed25519 key, that each cited event's
exact bytes hash to the hash the report shows, that each hash is in the signed Merkle tree (RFC 9162 inclusion
proof), and that the events the report lists say what their hashed bytes say.
Exit status: 0 verified, 1 something does not verify, 2 the input could not be read.
"""
import argparse
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

from governance.auditlog.merkle import verify_inclusion
from governance.auditlog.statements import CheckpointFormatError, load_public_key_pem, parse_document, public_key_id

_EMBEDDED = re.compile(rb"/Type\s*/EmbeddedFile\b")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_LISTED_FIELDS = ("action", "actor_display", "object_type", "object_id", "reason")


class UnreadableInput(Exception):
    """The file is not a PDF with Driftgate report data, or the key is not an Ed25519 public key."""


def _stream_length(pdf: bytes, head: bytes) -> int | None:
    direct = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", head)
    if direct:
        return int(direct.group(1))
    indirect = re.search(rb"/Length\s+(\d+)\s+(\d+)\s+R", head)
    if indirect:
        target = re.search(rb"(?<!\d)" + indirect.group(1) + rb"\s+" + indirect.group(2) + rb"\s+obj\s*(\d+)\s*endobj",
                           pdf)
        if target:
            return int(target.group(1))
    return None


def _shown(value) -> str:
    """Return a value as a report's columns hold it: the database keeps NUL as U+FFFD."""
    return str(value).replace("\x00", "\ufffd")


def embedded_files(pdf: bytes) -> list[bytes]:
    """Return the decoded contents of every embedded-file stream in a PDF (FlateDecode or unfiltered)."""
    found = []
    for match in _EMBEDDED.finditer(pdf):
        starts = [m.start() for m in _OBJ.finditer(pdf, max(0, match.start() - 4096), match.start())]
        stream_at = pdf.find(b"stream", match.end())
        if not starts or stream_at < 0:
            continue
        head = pdf[starts[-1]:stream_at]
        data_start = stream_at + len(b"stream")
        data_start += 2 if pdf[data_start:data_start + 2] == b"\r\n" else 1
        length = _stream_length(pdf, head)
        if length is None:
            end = pdf.find(b"endstream", data_start)
            raw = pdf[data_start:end].rstrip(b"\r\n")
        else:
            raw = pdf[data_start:data_start + length]
        if b"/FlateDecode" in head:
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                continue
        elif b"/Filter" in head:
            continue
        found.append(raw)
    return found


def report_data(path: Path) -> dict:
    """Return the report data embedded in a PDF (or a JSON file of it) that carries audit proofs."""
    content = path.read_bytes()
    candidates = [content] if not content.startswith(b"%PDF") else embedded_files(content)
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("audit_proofs"), dict):
            return data
    raise UnreadableInput(f"{path} holds no Driftgate report data with audit proofs")


def _check_event(event: dict, tree_size: int, root: bytes) -> tuple[str, dict | None]:
    """Return ("", the event's fields) when its bytes, hash and inclusion hold, else (why not, None)."""
    sequence = event["sequence"]
    canonical, prev_hash, digest = event.get("canonical") or "", event.get("prev_hash") or "", event["hash"]
    if not canonical:
        return "no canonical bytes to check (written before events kept their bytes)", None
    if hashlib.sha256((canonical + prev_hash).encode("ascii", "replace")).hexdigest() != digest:
        return f"its bytes do not hash to {digest}", None
    payload = json.loads(canonical)
    if not isinstance(sequence, int) or payload.get("sequence") != sequence or event.get("leaf_index") != sequence - 1:
        return f"its bytes say event #{payload.get('sequence')}", None
    if not 0 < sequence <= tree_size:
        return f"outside the checkpoint's {tree_size} events", None
    proof = [bytes.fromhex(h) for h in event.get("inclusion_proof") or []]
    if not verify_inclusion(index=sequence - 1, size=tree_size, leaf=bytes.fromhex(digest), proof=proof, root=root):
        return "the inclusion proof does not lead to the signed root", None
    return "", payload | {"hash": digest}


def verify_report(data: dict, public_key) -> tuple[list[str], list[str]]:
    """Return (what verified, what did not) for a report's data under the checkpoint public key."""
    ok: list[str] = []
    failures: list[str] = []
    bundle = data["audit_proofs"]
    try:
        checkpoint = parse_document(bundle.get("checkpoint"))
    except CheckpointFormatError as error:
        return ok, [f"the embedded checkpoint cannot be read: {error}"]
    problem = checkpoint.verify({public_key_id(public_key): public_key})
    if problem:
        failures.append(f"checkpoint of {checkpoint.tree_size} events: {problem}")
    else:
        ok.append(f"checkpoint of {checkpoint.tree_size} events signed {checkpoint.timestamp} by key "
                  f"{checkpoint.key_id}, root {checkpoint.root}")
    root = bytes.fromhex(checkpoint.root)
    proved: dict[int, dict | None] = {}
    for event in bundle.get("events") or []:
        label = f"event #{event.get('sequence') if isinstance(event, dict) else '?'}"
        try:
            problem, payload = _check_event(event, checkpoint.tree_size, root)
        except (AttributeError, TypeError, ValueError) as error:
            # A report edited by hand can hold anything; it fails verification, it does not crash the verifier.
            problem, payload = f"malformed proof entry ({error})", None
        if problem:
            failures.append(f"{label}: {problem}")
        else:
            proved[event["sequence"]] = payload
    ok.append(f"{len(proved)} cited events: bytes, hashes and inclusion in the signed tree")
    for listed in data.get("audit_events") or []:
        sequence = listed.get("sequence")
        payload = proved.get(sequence)
        if payload is None:
            failures.append(f"the report lists event #{sequence} without a proof")
            continue
        differing = [name for name in ("hash", *_LISTED_FIELDS)
                     if name in listed and _shown(listed[name]) != _shown(payload.get(name))]
        if differing:
            failures.append(f"the report's event #{sequence} differs from its hashed bytes in {', '.join(differing)}")
    if data.get("audit_events") is not None and not any(f.startswith("the report") for f in failures):
        ok.append(f"the {len(data['audit_events'])} events the report lists match their hashed bytes")
    return ok, failures


def main(argv: list[str] | None = None) -> int:
    """Run the command line; see the module docstring for the exit status."""
    parser = argparse.ArgumentParser(prog="driftgate-verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a Driftgate PDF report (or its extracted JSON data)")
    parser.add_argument("--public-key", type=Path, required=True,
                        help="the checkpoint public key (PEM), from `manage.py audit_checkpoint --public-key`")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        try:
            public_key = load_public_key_pem(args.public_key.read_bytes())
        except (OSError, ValueError) as error:
            raise UnreadableInput(f"{args.public_key}: not an Ed25519 key ({error})") from error
        try:
            data = report_data(args.report)
        except OSError as error:
            raise UnreadableInput(f"{args.report}: {error.strerror}") from error
        ok, failures = verify_report(data, public_key)
    except (UnreadableInput, CheckpointFormatError) as error:
        print(f"driftgate-verify: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"verified": not failures, "ok": ok, "failures": failures}))
    else:
        for line in ok:
            print(f"ok: {line}")
        for line in failures:
            print(f"FAILED: {line}")
        print("VERIFIED" if not failures else "NOT VERIFIED")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

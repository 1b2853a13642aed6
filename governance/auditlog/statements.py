"""Signed checkpoints: the exact text Driftgate signs with Ed25519, and how anyone checks it.

Standard library and `cryptography` only: the stand-alone report verifier imports this module without Django.
A checkpoint is a short text (like a Certificate Transparency signed tree head, RFC 9162 §4.10, or a Go
checksum-database note): a format line, then `tree_size`, `root`, `timestamp` and `key_id`, one per line. The
signature covers those bytes exactly, so nothing is re-serialised before checking it.
"""
import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT_LINE = "driftgate.audit.checkpoint/v1"
_FIELDS = ("tree_size", "root", "timestamp", "key_id")


class CheckpointFormatError(ValueError):
    """A checkpoint document or body that cannot be read."""


def public_key_id(public_key: Ed25519PublicKey) -> str:
    """Return the key id of a public key: the first 16 hex digits of SHA-256 over its raw 32 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """Return the Ed25519 public key in a PEM file (a private key's PEM gives its public half)."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointFormatError("the key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint: what was signed and the signature over it."""

    tree_size: int
    root: str
    timestamp: str
    key_id: str
    body: str
    signature: str

    def as_document(self) -> dict:
        """Return the JSON document written to the sinks and embedded in reports."""
        return {"format": FORMAT_LINE, "tree_size": self.tree_size, "root": self.root, "timestamp": self.timestamp,
                "key_id": self.key_id, "body": self.body, "signature": self.signature}

    def document_bytes(self) -> bytes:
        """Return the document as the bytes of one sink file."""
        return (json.dumps(self.as_document(), sort_keys=True, indent=1) + "\n").encode("ascii")

    def verify(self, public_keys: dict[str, Ed25519PublicKey]) -> str:
        """Return "" when the signature holds under the trusted key of its key id, else why not."""
        key = public_keys.get(self.key_id)
        if key is None:
            return f"signed with key {self.key_id}, which is not a trusted checkpoint key"
        try:
            key.verify(base64.b64decode(self.signature, validate=True), self.body.encode("utf-8"))
        except (InvalidSignature, binascii.Error):
            return f"the signature does not verify under key {self.key_id}"
        return ""


def checkpoint_body(*, tree_size: int, root: str, timestamp: datetime, key_id: str) -> str:
    """Return the exact text that is signed."""
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{FORMAT_LINE}\ntree_size={tree_size}\nroot={root}\ntimestamp={stamp}\nkey_id={key_id}\n"


def sign_checkpoint(*, tree_size: int, root: str, timestamp: datetime, private_key: Ed25519PrivateKey) -> Checkpoint:
    """Return a checkpoint of `tree_size` events with Merkle `root` (hex), signed now."""
    key_id = public_key_id(private_key.public_key())
    body = checkpoint_body(tree_size=tree_size, root=root, timestamp=timestamp, key_id=key_id)
    signature = base64.b64encode(private_key.sign(body.encode("utf-8"))).decode("ascii")
    return parse_body(body, signature)


def parse_body(body: str, signature: str) -> Checkpoint:
    """Return the checkpoint whose signed text is `body`; the fields come from the signed text, nothing else."""
    lines = body.split("\n")
    if len(lines) != len(_FIELDS) + 2 or lines[0] != FORMAT_LINE or lines[-1] != "":
        raise CheckpointFormatError("not a driftgate audit checkpoint")
    values = {}
    for name, line in zip(_FIELDS, lines[1:-1], strict=True):
        prefix = f"{name}="
        if not line.startswith(prefix):
            raise CheckpointFormatError(f"expected {name} in the checkpoint, found {line[:40]!r}")
        values[name] = line[len(prefix):]
    try:
        tree_size = int(values["tree_size"])
        bytes.fromhex(values["root"])
    except ValueError as error:
        raise CheckpointFormatError(f"bad tree size or root: {error}") from error
    if tree_size < 0 or len(values["root"]) != 64:
        raise CheckpointFormatError("bad tree size or root")
    return Checkpoint(tree_size=tree_size, root=values["root"], timestamp=values["timestamp"],
                      key_id=values["key_id"], body=body, signature=signature)


def parse_document(document: dict | bytes | str) -> Checkpoint:
    """Return the checkpoint in a sink file or a report's JSON; only `body` and `signature` are trusted."""
    if isinstance(document, (bytes, str)):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise CheckpointFormatError(f"not JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("body"), str) \
            or not isinstance(document.get("signature"), str):
        raise CheckpointFormatError("a checkpoint document needs a body and a signature")
    return parse_body(document["body"], document["signature"])

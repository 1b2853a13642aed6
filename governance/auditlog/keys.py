"""The audit log's keys, read from the environment or key files and never stored in the database.

HMAC keys (`DRIFTGATE_AUDIT_HMAC_KEYS`, or a file named by `DRIFTGATE_AUDIT_HMAC_KEYS_FILE`) are `id:base64` pairs;
the first is the one new events are keyed with, the others still verify the events they keyed, so a key can be
rotated by putting a new one first. The Ed25519 checkpoint key is a PEM file (`DRIFTGATE_AUDIT_SIGNING_KEY_FILE`);
older public keys that still verify old checkpoints are listed in `DRIFTGATE_AUDIT_TRUSTED_KEY_FILES`.
With `DRIFTGATE_AUDIT_DEV_KEYS` (on in development only) missing keys are generated once into var/audit-keys/.
"""
import base64
import binascii
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from governance.auditlog.statements import load_public_key_pem, public_key_id

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# Below 256 bits an HMAC-SHA256 key is weaker than the hash it protects.
MIN_HMAC_KEY_BYTES = 32
_MAC_DOMAIN = b"driftgate.audit.event/v2\x00"


@dataclass(frozen=True)
class HmacKeyring:
    """The event MAC keys by id; `current_id` keys new events."""

    keys: dict[str, bytes]
    current_id: str

    def mac(self, key_id: str, event_hash: str) -> str:
        """Return HMAC-SHA256 over an event's hash under the key `key_id`."""
        return hmac.digest(self.keys[key_id], _MAC_DOMAIN + event_hash.encode("ascii"), sha256).hex()


@dataclass(frozen=True)
class SigningKeys:
    """The checkpoint signing key and every public key a checkpoint may be signed with."""

    private_key: Ed25519PrivateKey | None
    trusted: dict[str, Ed25519PublicKey]

    def require_private_key(self) -> Ed25519PrivateKey:
        """Return the signing key, or fail naming the setting that lacks it."""
        if self.private_key is None:
            raise ImproperlyConfigured("No audit checkpoint signing key: set DRIFTGATE_AUDIT_SIGNING_KEY_FILE.")
        return self.private_key


def parse_hmac_keys(text: str, *, source: str) -> HmacKeyring:
    """Return the keyring in `id:base64` pairs separated by commas or newlines; refuse malformed or short keys."""
    keys: dict[str, bytes] = {}
    current = ""
    for item in re.split(r"[,\n]", text):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise ImproperlyConfigured(f"{source}: each key is id:base64 with an id of letters, digits, _ . -")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as error:
            raise ImproperlyConfigured(f"{source}: key {key_id} is not base64") from error
        if len(key) < MIN_HMAC_KEY_BYTES:
            raise ImproperlyConfigured(f"{source}: key {key_id} has {len(key)} bytes; at least {MIN_HMAC_KEY_BYTES}")
        if key_id in keys:
            raise ImproperlyConfigured(f"{source}: key id {key_id} is listed twice")
        keys[key_id] = key
        current = current or key_id
    if not keys:
        raise ImproperlyConfigured(f"{source} holds no key")
    return HmacKeyring(keys=keys, current_id=current)


def _write_new(path: Path, data: bytes) -> None:
    """Create a key file readable by its owner only; a concurrent process that won the race keeps its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _dev_dir() -> Path:
    return Path(settings.VAR_DIR) / "audit-keys"


@lru_cache(maxsize=8)
def _load_hmac(inline: str, path: str, dev: bool) -> HmacKeyring:
    if inline:
        return parse_hmac_keys(inline, source="DRIFTGATE_AUDIT_HMAC_KEYS")
    if not path and dev:
        dev_path = _dev_dir() / "hmac.keys"
        _write_new(dev_path, f"dev-1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n".encode())
        path = str(dev_path)
    if not path:
        raise ImproperlyConfigured(
            "No audit HMAC key: set DRIFTGATE_AUDIT_HMAC_KEYS or DRIFTGATE_AUDIT_HMAC_KEYS_FILE.")
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ImproperlyConfigured(f"DRIFTGATE_AUDIT_HMAC_KEYS_FILE {path}: {error.strerror}") from error
    return parse_hmac_keys(text, source=path)


@lru_cache(maxsize=8)
def _load_signing(path: str, trusted_paths: tuple[str, ...], dev: bool) -> SigningKeys:
    if not path and dev:
        dev_path = _dev_dir() / "checkpoint-ed25519.pem"
        _write_new(dev_path, Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        path = str(dev_path)
    private_key = None
    trusted: dict[str, Ed25519PublicKey] = {}
    if path:
        try:
            loaded = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise ImproperlyConfigured(f"DRIFTGATE_AUDIT_SIGNING_KEY_FILE {path}: {error}") from error
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"DRIFTGATE_AUDIT_SIGNING_KEY_FILE {path} is not an Ed25519 key")
        private_key = loaded
        trusted[public_key_id(loaded.public_key())] = loaded.public_key()
    for trusted_path in trusted_paths:
        try:
            public = load_public_key_pem(Path(trusted_path).read_bytes())
        except (OSError, ValueError) as error:
            raise ImproperlyConfigured(f"DRIFTGATE_AUDIT_TRUSTED_KEY_FILES {trusted_path}: {error}") from error
        trusted[public_key_id(public)] = public
    return SigningKeys(private_key=private_key, trusted=trusted)


def hmac_keyring() -> HmacKeyring:
    """Return the configured event MAC keys."""
    return _load_hmac(settings.DRIFTGATE_AUDIT_HMAC_KEYS, settings.DRIFTGATE_AUDIT_HMAC_KEYS_FILE,
                      settings.DRIFTGATE_AUDIT_DEV_KEYS)


def signing_keys() -> SigningKeys:
    """Return the configured checkpoint signing key and trusted public keys."""
    return _load_signing(settings.DRIFTGATE_AUDIT_SIGNING_KEY_FILE, tuple(settings.DRIFTGATE_AUDIT_TRUSTED_KEY_FILES),
                         settings.DRIFTGATE_AUDIT_DEV_KEYS)


def public_key_pem() -> str:
    """Return the signing key's public half as PEM, for `driftgate-verify --public-key`."""
    return signing_keys().require_private_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

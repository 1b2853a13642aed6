"""Standard Webhooks signing (https://www.standardwebhooks.com/) and webhook secrets kept encrypted at rest.

The signature is `v1,` + base64(HMAC-SHA256(secret, f"{webhook-id}.{webhook-timestamp}.{body}")), where the secret
is the base64 text after `whsec_`. The HMAC needs the secret itself, so it is stored encrypted (Fernet, under a key
from settings), not hashed; the person who creates or rotates it sees it once.
"""
import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """Return a fresh `whsec_` secret of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet() -> Fernet:
    material = settings.DRIFTGATE_NOTIFY_SECRET_KEY or settings.SECRET_KEY
    key = hashlib.sha256(b"driftgate webhook secrets\x00" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    """Return the secret encrypted for the database."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    """Return the stored secret in clear; a changed key raises ValueError (rotate the webhook's secret)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the webhook secret cannot be decrypted with the configured key; rotate it") from exc


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the `webhook-signature` header value for the message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(*, secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Return whether one of the header's v1 signatures matches (what a receiver does)."""
    expected = sign(secret=secret, message_id=headers["webhook-id"], timestamp=int(headers["webhook-timestamp"]),
                    body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in headers["webhook-signature"].split())

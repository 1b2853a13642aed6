"""The event format: canonical bytes, the hash link, the first (unkeyed) format, and what a column can store."""
import hashlib
import json
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from driftgate.canonical import canonical_json

GENESIS_HASH = "0" * 64
FORMAT_VERSION = 2


def canonical_event_bytes(payload: dict) -> str:
    """Return the canonical JSON of an event: sorted keys, no whitespace, ASCII only.

    ASCII escapes make the stored text independent of the column's encoding and of any Unicode normalisation on
    the way; the text is kept as written and never produced again from the columns.
    """
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def event_hash(canonical: str, prev_hash: str) -> str:
    """Return sha256(canonical + prev_hash), the event's link in the chain."""
    return hashlib.sha256((canonical + prev_hash).encode("ascii")).hexdigest()


def legacy_hash(fields: dict, prev_hash: str) -> str:
    """Return the first format's hash: sha256(canonical UTF-8 JSON of the columns + prev_hash), without a key."""
    material = canonical_json(fields) + prev_hash
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def isoformat_utc(moment) -> str:
    """Return a time as the canonical bytes spell it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def storable(value: Any) -> Any:
    """Return `value` as a text or jsonb column can hold it: PostgreSQL refuses NUL, so it becomes U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value

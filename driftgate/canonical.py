"""Canonical JSON: one serialisation for everything that is hashed or archived (audit chain, gate content, reports)."""
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def canonical_json(value: Any) -> str:
    """Serialise with sorted keys and no whitespace so the same content always hashes the same.

    DjangoJSONEncoder writes datetimes, dates, Decimals and UUIDs as ISO 8601 / plain strings; NaN is refused
    because it is not JSON and a later reader of the chain or the archive could not parse it.
    """
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)

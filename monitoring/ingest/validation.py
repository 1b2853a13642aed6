"""Per-row validation of traffic records: every row is accepted as a whole or rejected with one stable code.

Row error codes: missing_field, invalid_type, invalid_text, invalid_timestamp, timestamp_in_future,
timestamp_expired, non_finite_score, invalid_feedback, unknown_model_version, field_too_long,
unsafe_number, redaction_timeout, duplicate_in_batch, and malformed_json (an NDJSON line that is not JSON).

Prompts and responses are redacted here, before their digests are taken: the digest, the embedding and every
drift statistic see the redacted text, in the baseline and in the windows alike.
"""
import json
import math
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from governance.rules import field_limit
from monitoring.ingest.digest import text_digest
from monitoring.ingest.parsing import NonFinite, RawRecord, TypedRecord
from monitoring.ingest.redaction import DEFAULT_REDACTOR, RedactionTimeout, Redactor
from monitoring.models import TrafficRecord

MAX_EXTERNAL_ID_CHARS: int = field_limit(TrafficRecord, "external_id")
MAX_SEGMENT_CHARS: int = field_limit(TrafficRecord, "segment")
MAX_TEXT_CHARS = 100_000
MAX_METADATA_BYTES = 16 * 1024
# json.dumps writes NUL as \u0000; an even run of backslashes before it would be a literal backslash instead.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# JSON readers that hold numbers as doubles (JavaScript, jq, most dashboards) cannot hold larger integers
# exactly, so such a value would read back as a different number.
MAX_SAFE_INTEGER = 2**53
# Sixteen digits in a row is the first length that can exceed 2**53, and a float that large is written with an
# exponent of two digits ("1e+16", "-1.15e18"); most metadata has neither and skips the walk. Both start with a
# digit, written once: the regex engine then tries the rest only after a digit (twice as fast on metadata).
_LARGE_NUMBER = re.compile(r"[0-9](?:[0-9]{15}|[eE]\+?[0-9]{2})")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of a batch was rejected."""

    index: int
    code: str
    message: str
    external_id: str | None = None
    field: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        """Return the JSON shape of one entry of the response's `errors`."""
        data = {"index": self.index, "external_id": self.external_id, "code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass(slots=True)
class CleanRecord:
    """A valid row, with everything the table needs computed."""

    external_id: str
    timestamp: datetime
    hour: datetime
    prompt: str
    response: str
    prompt_digest: str
    response_digest: str
    model_version_id: int
    score: float | None
    feedback: int | None
    segment: str
    metadata_json: str = "{}"
    redactions_json: str = "{}"
    # Random and unseeded so a client cannot choose which of its records land in the sample.
    sample_key: int = field(default_factory=lambda: secrets.randbits(63))


class _Reject(Exception):
    """Raised inside row validation; carries the row's code, field and message."""

    def __init__(self, code: str, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field_name
        self.message = message


def _is_bad_text(value: str) -> bool:
    # PostgreSQL text cannot hold NUL, and an escaped lone surrogate ("\ud800") cannot be encoded as UTF-8.
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text(row: dict, name: str, *, required: bool, allow_empty: bool, max_chars: int) -> str:
    value = row.get(name)
    # The common case in one test: an ASCII string within its limit, without NUL, not blank where that is refused.
    # isspace() instead of strip(): the same answer for a non-empty string, without copying a long response.
    if (value.__class__ is str and value.isascii() and len(value) <= max_chars and "\x00" not in value
            and (allow_empty or (value and not value.isspace()))):
        return value
    if value is None:
        if required:
            raise _Reject("missing_field", name, f"{name} is required.")
        return ""
    if not isinstance(value, str):
        raise _Reject("invalid_type", name, f"{name} must be a string, not {type(value).__name__}.")
    if not allow_empty and not value.strip():
        raise _Reject("missing_field", name, f"{name} must not be empty.")
    if len(value) > max_chars:
        raise _Reject("field_too_long", name, f"{name} has {len(value)} characters; the limit is {max_chars}.")
    if _is_bad_text(value):
        raise _Reject("invalid_text", name, f"{name} holds a NUL character or an unpaired surrogate.")
    return value


def _timestamp(row: dict, *, latest: datetime, earliest: datetime) -> datetime:
    value = row.get("timestamp")
    if value is None:
        raise _Reject("missing_field", "timestamp", "timestamp is required.")
    if not isinstance(value, str):
        raise _Reject("invalid_type", "timestamp", "timestamp must be an ISO 8601 string with a time zone.")
    return _timestamp_text(value, latest=latest, earliest=earliest)


def _timestamp_text(value: str, *, latest: datetime, earliest: datetime) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Reject("invalid_timestamp", "timestamp", f"{value[:40]!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None:
        raise _Reject("invalid_timestamp", "timestamp", "timestamp needs a time zone (e.g. 'Z' or '+02:00').")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        # Year 1 with a positive offset, or year 9999 with a negative one, is a valid string but no UTC time.
        raise _Reject("invalid_timestamp", "timestamp",
                      f"{value[:40]!r} lies outside the years 1-9999 in UTC.") from None
    if parsed < earliest:
        raise _Reject("timestamp_expired", "timestamp",
                      f"timestamp {parsed.isoformat()} is older than the use case keeps traffic "
                      f"(since {earliest.isoformat()}).")
    if parsed > latest:
        raise _Reject("timestamp_in_future", "timestamp",
                      f"timestamp {parsed.isoformat()} lies in the future beyond the tolerated clock skew.")
    return parsed


def _score(row: dict) -> float | None:
    value = row.get("score")
    if value is None:
        return None
    if isinstance(value, NonFinite):
        raise _Reject("non_finite_score", "score", f"score must be a finite number, not {value.token}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Reject("invalid_type", "score", f"score must be a number, not {type(value).__name__}.")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise _Reject("non_finite_score", "score", "score must be a finite number.")
    return value


def _feedback(row: dict) -> int | None:
    value = row.get("feedback")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, -1):
        raise _Reject("invalid_feedback", "feedback", "feedback must be 1 or -1 (or null).")
    return value


def _metadata(row: dict, *, fast: bool) -> str:
    """Return the metadata serialised for the jsonb column, after checking what jsonb would refuse."""
    return _metadata_value(row.get("metadata"), fast=fast)


def _metadata_value(value: Any, *, fast: bool) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise _Reject("invalid_type", "metadata", "metadata must be a JSON object.")
    if fast:
        # msgspec's encoder is several times faster than json's; it would write a non-finite float as null, but a
        # value msgspec parsed holds none (and no unpaired surrogate), so only the checks below remain.
        encoded = _ENCODER.encode(value)
        if b"\\u0000" in encoded and _ESCAPED_NUL.search(encoded.decode("utf-8")):
            raise _Reject("invalid_text", "metadata", "metadata holds a NUL character, which jsonb cannot store.")
        if len(encoded) > MAX_METADATA_BYTES:
            raise _Reject("field_too_long", "metadata",
                          f"metadata takes {len(encoded)} bytes; the limit is {MAX_METADATA_BYTES}.")
        text = encoded.decode("utf-8")
        if _LARGE_NUMBER.search(text) and _has_unsafe_number(value):
            raise _unsafe_number()
        return text
    # Serialising is also the check: allow_nan refuses non-finite floats, the NaN/Infinity markers are not
    # serialisable, and json's encoder does not recurse on the Python stack.
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise _Reject("invalid_type", "metadata", "metadata holds a non-finite number (NaN or Infinity).") from None
    except RecursionError:
        raise _Reject("invalid_type", "metadata", "metadata nests too deeply.") from None
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise _Reject("invalid_text", "metadata", "metadata holds a NUL character, which jsonb cannot store.")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _Reject("invalid_text", "metadata", "metadata holds an unpaired surrogate.") from None
    if size > MAX_METADATA_BYTES:
        raise _Reject("field_too_long", "metadata", f"metadata takes {size} bytes; the limit is {MAX_METADATA_BYTES}.")
    if _LARGE_NUMBER.search(text) and _has_unsafe_number(value):
        raise _unsafe_number()
    return text


_ENCODER = msgspec.json.Encoder()


def _has_unsafe_number(value: Any) -> bool:
    # Iterative, like the encoder above: metadata's depth is the client's choice.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, (int, float)):
            if abs(item) > MAX_SAFE_INTEGER:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _unsafe_number() -> _Reject:
    return _Reject("unsafe_number", "metadata",
                   "metadata holds a number beyond ±2^53, which would not read back as sent (JSON readers hold such "
                   "integers inexactly, and jsonb writes a large float as a long integer); send it as a string.")


@dataclass(frozen=True, slots=True)
class _Limits:
    latest: datetime
    earliest: datetime
    default_model_version: str | None
    redactor: Redactor


def _redact(redactor: Redactor, prompt: str, response: str) -> tuple[str, str, str]:
    counts: dict[str, int] = {}
    try:
        prompt = redactor.redact(prompt, counts)
        response = redactor.redact(response, counts)
    except RedactionTimeout as timeout:
        # Never stored unredacted: a text a pattern cannot finish on is refused instead.
        raise _Reject("redaction_timeout", None,
                      f"The custom redaction pattern {timeout.name!r} did not finish on this record in time.") from None
    if not counts:
        return prompt, response, "{}"
    return prompt, response, json.dumps(counts, sort_keys=True, separators=(",", ":"))


def _clean_typed(row: TypedRecord, *, model_versions: dict[str, int], limits: _Limits,
                 sample_key: int) -> CleanRecord | None:
    """Clean a record decoded with the right types; None where a check fails, for _clean to give the error."""
    # Every test here is one _clean makes, on values of the types _clean would find, so a row passed here would
    # pass there with the same result; a row refused here is handed to _clean, whose first failing check is the
    # error, exactly as without this path. What _text accepts of a string msgspec decoded (which holds no unpaired
    # surrogate) is: within its length, without NUL and, where required, not blank.
    external_id = row.external_id
    prompt = row.prompt
    response = row.response
    label = row.model_version
    if label is None:
        label = limits.default_model_version
        if label is None:
            return None
    elif not (label and not label.isspace() and len(label) <= MAX_TEXT_CHARS and "\x00" not in label):
        return None
    segment = row.segment
    if segment is None:
        segment = ""
    elif len(segment) > MAX_SEGMENT_CHARS or "\x00" in segment:
        return None
    if not (external_id and not external_id.isspace() and len(external_id) <= MAX_EXTERNAL_ID_CHARS
            and "\x00" not in external_id and prompt and not prompt.isspace() and len(prompt) <= MAX_TEXT_CHARS
            and "\x00" not in prompt and len(response) <= MAX_TEXT_CHARS and "\x00" not in response):
        return None
    model_version_id = model_versions.get(label)
    score = row.score
    feedback = row.feedback
    if (model_version_id is None or (score is not None and not math.isfinite(score))
            or (feedback is not None and feedback != 1 and feedback != -1)):
        return None
    try:
        timestamp = _timestamp_text(row.timestamp, latest=limits.latest, earliest=limits.earliest)
        metadata_json = "{}" if row.metadata is None else _metadata_value(row.metadata, fast=True)
    except _Reject:
        return None
    # Redaction is _clean's last check too: with every other one passed, its refusal is the row's error.
    return _redacted_record(limits, external_id=external_id, timestamp=timestamp, prompt=prompt, response=response,
                            model_version_id=model_version_id, score=score, feedback=feedback, segment=segment,
                            metadata_json=metadata_json, sample_key=sample_key)


def _redacted_record(limits: _Limits, *, timestamp: datetime, prompt: str, response: str, **fields: Any) -> CleanRecord:
    """Redact a checked row's texts (its last check: the refusal, if any, is the row's error) and build its record."""
    prompt, response, redactions_json = _redact(limits.redactor, prompt, response)
    # The hour by subtraction: the same UTC datetime as replace(minute=0, second=0, microsecond=0), at half the cost
    # of a call with keywords.
    hour = timestamp - timedelta(0, timestamp.minute * 60 + timestamp.second, timestamp.microsecond)
    return CleanRecord(timestamp=timestamp, hour=hour, prompt=prompt, response=response,
                       prompt_digest=text_digest(prompt), response_digest=text_digest(response),
                       redactions_json=redactions_json, **fields)


def _as_dict(row: Any) -> Any:
    # Absent and null optional fields both become None, which every check of _clean reads alike.
    return msgspec.structs.asdict(row) if row.__class__ is TypedRecord else row


def _clean(row: Any, *, model_versions: dict[str, int], limits: _Limits, fast: bool, sample_key: int) -> CleanRecord:
    if not isinstance(row, dict):
        raise _Reject("invalid_type", None, f"A record must be a JSON object, not {type(row).__name__}.")
    external_id = _text(row, "external_id", required=True, allow_empty=False, max_chars=MAX_EXTERNAL_ID_CHARS)
    timestamp = _timestamp(row, latest=limits.latest, earliest=limits.earliest)
    prompt = _text(row, "prompt", required=True, allow_empty=False, max_chars=MAX_TEXT_CHARS)
    if "response" not in row:
        raise _Reject("missing_field", "response", "response is required (it may be an empty string).")
    response = _text(row, "response", required=True, allow_empty=True, max_chars=MAX_TEXT_CHARS)
    default_model_version = limits.default_model_version
    if row.get("model_version") is None and default_model_version is not None:
        label = default_model_version
    else:
        label = _text(row, "model_version", required=True, allow_empty=False, max_chars=MAX_TEXT_CHARS)
    model_version_id = model_versions.get(label)
    if model_version_id is None:
        raise _Reject("unknown_model_version", "model_version",
                      f"Model version {label[:100]!r} is not registered for this use case.")
    score = _score(row)
    feedback = _feedback(row)
    segment = _text(row, "segment", required=False, allow_empty=True, max_chars=MAX_SEGMENT_CHARS)
    metadata_json = _metadata(row, fast=fast)
    # Last, so a row refused for another reason costs no redaction.
    return _redacted_record(limits, external_id=external_id, timestamp=timestamp, prompt=prompt, response=response,
                            model_version_id=model_version_id, score=score, feedback=feedback, segment=segment,
                            metadata_json=metadata_json, sample_key=sample_key)


def _external_id_of(value: Any) -> str | None:
    if value.__class__ is TypedRecord:
        return value.external_id[:MAX_EXTERNAL_ID_CHARS]
    if isinstance(value, dict) and isinstance(value.get("external_id"), str):
        return value["external_id"][:MAX_EXTERNAL_ID_CHARS]
    return None


def iter_valid_records(raw: list[RawRecord], *, model_versions: dict[str, int], now: datetime,
                       future_tolerance: timedelta, errors: list[RowError], retention: timedelta | None = None,
                       default_model_version: str | None = None,
                       redactor: Redactor = DEFAULT_REDACTOR) -> Iterator[CleanRecord]:
    """Yield the valid rows in batch order, appending one error per rejected row to `errors` as it goes."""
    limits = _Limits(latest=now + future_tolerance,
                     earliest=now - retention if retention is not None else datetime.min.replace(tzinfo=UTC),
                     default_model_version=default_model_version, redactor=redactor)
    seen: set[str] = set()
    # One read of the system's random source per batch instead of one per row; unseeded, as for a single key.
    entropy = os.urandom(8 * len(raw))
    for item in raw:
        if item.parse_error:
            errors.append(RowError(index=item.index, code="malformed_json", message=item.parse_error, line=item.line))
            continue
        offset = 8 * item.index
        sample_key = int.from_bytes(entropy[offset:offset + 8], "little") >> 1
        value = item.value
        try:
            record = None
            if value.__class__ is TypedRecord:
                record = _clean_typed(value, model_versions=model_versions, limits=limits, sample_key=sample_key)
                if record is None:
                    value = _as_dict(value)
            if record is None:
                record = _clean(value, model_versions=model_versions, limits=limits, fast=item.fast,
                                sample_key=sample_key)
            if record.external_id in seen:
                raise _Reject("duplicate_in_batch", "external_id",
                              "An earlier record of this batch has the same external_id.")
        except _Reject as reject:
            errors.append(RowError(index=item.index, code=reject.code, message=reject.message, field=reject.field,
                                   external_id=_external_id_of(item.value), line=item.line))
            continue
        seen.add(record.external_id)
        yield record


def validate_records(raw: list[RawRecord], *, model_versions: dict[str, int], now: datetime,
                     future_tolerance: timedelta, retention: timedelta | None = None,
                     default_model_version: str | None = None, redactor: Redactor = DEFAULT_REDACTOR,
                     ) -> tuple[list[CleanRecord], list[RowError]]:
    """Return the valid rows and one error per rejected row, in batch order."""
    errors: list[RowError] = []
    clean = list(iter_valid_records(raw, model_versions=model_versions, now=now, future_tolerance=future_tolerance,
                                    errors=errors, retention=retention, default_model_version=default_model_version,
                                    redactor=redactor))
    return clean, errors


def candidate_external_ids(raw: list[RawRecord]) -> list[str]:
    """Return the external ids the batch's rows carry, before validation (a superset of the valid rows' ids)."""
    ids = (item.value.external_id if isinstance(item.value, TypedRecord) else item.value.get("external_id")
           for item in raw if isinstance(item.value, (TypedRecord, dict)))
    # Only what the look-up query can carry; a bad id is rejected by validation anyway.
    return [value for value in ids
            if isinstance(value, str) and len(value) <= MAX_EXTERNAL_ID_CHARS and not _is_bad_text(value)]

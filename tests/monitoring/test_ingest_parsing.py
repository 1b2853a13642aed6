"""Reading and splitting traffic bodies: limits, formats and the per-row validation, without a database."""
import io
import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from driftgate.errors import ApplicationError
from monitoring.ingest.digest import text_digest
from monitoring.ingest.parsing import MEDIA_JSON, MEDIA_NDJSON, ingest_media_type, parse_records, read_bounded
from monitoring.ingest.validation import validate_records

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VERSIONS = {"v1": 7}


def _row(**overrides) -> dict:
    row = {"external_id": "r-1", "timestamp": "2025-03-01T11:15:30Z", "prompt": "How do I  reset\nmy password?",
           "response": "Open settings.", "model_version": "v1", "score": 0.8, "feedback": 1, "segment": "emea",
           "metadata": {"lang": "en"}}
    row.update(overrides)
    return {key: value for key, value in row.items() if value is not ...}


def _validate(rows, media_type=MEDIA_JSON):
    body = (json.dumps(rows) if media_type == MEDIA_JSON else "\n".join(json.dumps(r) for r in rows)).encode()
    raw = parse_records(body, media_type=media_type, max_records=1000)
    return validate_records(raw, model_versions=VERSIONS, now=NOW, future_tolerance=timedelta(minutes=5))


def _code_of(**overrides) -> str:
    clean, errors = _validate([_row(**overrides)])
    assert not clean and len(errors) == 1
    return errors[0].code


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_json_and_ndjson_are_the_only_media_types():
    assert ingest_media_type("application/json; charset=utf-8") == MEDIA_JSON
    assert ingest_media_type("application/x-ndjson") == MEDIA_NDJSON
    for refused in ("text/plain", "", "application/json; charset=latin-1", "multipart/form-data"):
        with pytest.raises(ApplicationError) as caught:
            ingest_media_type(refused)
        assert (caught.value.status_code, caught.value.code) == (415, "unsupported_media_type")


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    stream = _CountingStream(b"x" * 5000)
    with pytest.raises(ApplicationError) as caught:
        read_bounded(stream, content_length="5000", max_bytes=1024)
    assert (caught.value.status_code, caught.value.code) == (413, "payload_too_large")
    assert stream.bytes_read == 0


def test_a_body_longer_than_declared_is_refused_after_one_byte_past_the_limit():
    stream = _CountingStream(b"x" * 500_000)
    with pytest.raises(ApplicationError) as caught:
        read_bounded(stream, content_length="10", max_bytes=100_000)
    assert caught.value.code == "payload_too_large"
    assert stream.bytes_read == 100_001


def test_a_body_within_the_limit_is_read_whole():
    assert read_bounded(io.BytesIO(b"[1]"), content_length="3", max_bytes=1024) == b"[1]"


def test_invalid_utf8_refuses_the_request():
    with pytest.raises(ApplicationError) as caught:
        parse_records(b'[{"prompt": "\xff"}]', media_type=MEDIA_JSON, max_records=10)
    assert caught.value.code == "invalid_utf8"
    assert caught.value.extra == {"byte_offset": 13}


@pytest.mark.parametrize("body", [b"", b"[{", b'{"external_id": "a"}', b"[1] [2]"])
def test_an_unreadable_json_body_is_refused_as_a_whole(body):
    with pytest.raises(ApplicationError) as caught:
        parse_records(body, media_type=MEDIA_JSON, max_records=10)
    assert (caught.value.status_code, caught.value.code) == (400, "malformed_json")


def test_more_records_than_the_limit_are_refused_in_both_formats():
    for media_type, body in ((MEDIA_JSON, b"[{}, {}, {}]"), (MEDIA_NDJSON, b"{}\n{}\n\n{}\n")):
        with pytest.raises(ApplicationError) as caught:
            parse_records(body, media_type=media_type, max_records=2)
        assert (caught.value.status_code, caught.value.code) == (413, "too_many_records")


def test_blank_ndjson_lines_do_not_count_toward_the_record_limit():
    body = b'{"a": 1}\n\n\r\n  \n{"a": 2}\n\n'
    raw = parse_records(body, media_type=MEDIA_NDJSON, max_records=2)
    assert [(r.index, r.line, r.value) for r in raw] == [(0, 1, {"a": 1}), (1, 5, {"a": 2})]
    with pytest.raises(ApplicationError) as caught:
        parse_records(body + b'{"a": 3}', media_type=MEDIA_NDJSON, max_records=2)
    assert (caught.value.code, caught.value.extra["records"]) == ("too_many_records", 3)


def test_a_raw_record_cannot_be_changed():
    record = parse_records(b'{"a": 1}', media_type=MEDIA_NDJSON, max_records=1)[0]
    with pytest.raises(AttributeError):
        record.value = None  # type: ignore[misc]


def test_a_bad_ndjson_line_is_a_row_error_with_its_line_number():
    body = b'{"a": 1}\r\n\n{"a": \n{"a": 3}\n'
    raw = parse_records(body, media_type=MEDIA_NDJSON, max_records=10)
    assert [(r.index, r.line, bool(r.parse_error)) for r in raw] == [(0, 1, False), (1, 3, True), (2, 4, False)]
    _, errors = validate_records(raw, model_versions=VERSIONS, now=NOW, future_tolerance=timedelta(0))
    assert (errors[1].index, errors[1].line, errors[1].code) == (1, 3, "malformed_json")


def test_ndjson_lines_split_only_on_newline():
    body = json.dumps({"prompt": "one\u2028two"}).encode() + b"\n" + '{"prompt": "x\u2028y"}'.encode()
    raw = parse_records(body, media_type=MEDIA_NDJSON, max_records=10)
    assert [r.value["prompt"] for r in raw] == ["one\u2028two", "x\u2028y"]


_GOOD = json.dumps(_row()).encode()
_OTHER = json.dumps(_row(external_id="r-2", prompt="caf\u00e9 \u2603 \U0001f600")).encode()


@pytest.mark.parametrize(("body", "rows"), [
    (_GOOD + b"\n" + _OTHER + b"\n", [(0, 1, ""), (1, 2, "")]),                          # trailing newline
    (_GOOD + b"\n" + _OTHER, [(0, 1, ""), (1, 2, "")]),                                   # none
    (_GOOD + b"\r\n\r\n  \t\n" + _OTHER + b"\r\n", [(0, 1, ""), (1, 4, "")]),              # CRLF, blank lines
    ("\ufeff".encode() + _GOOD + "\n\u00a0\u2003\n".encode() + _OTHER, [(0, 1, ""), (1, 3, "")]),  # BOM, spaces
    (_GOOD + b'\n{"a": \n' + _OTHER, [(0, 1, ""), (1, 2, "Line 2 is not valid JSON: Expecting value (column 7)."),
                                       (2, 3, "")]),                                      # a bad line among good
    (_GOOD + b" " + _OTHER, [(0, 1, f"Line 1 is not valid JSON: Extra data (column {len(_GOOD) + 2}).")]),
    (_GOOD + b"\r" + _OTHER, [(0, 1, f"Line 1 is not valid JSON: Extra data (column {len(_GOOD) + 2}).")]),
])
def test_ndjson_rows_keep_their_line_numbers_and_errors(body, rows):
    raw = parse_records(body, media_type=MEDIA_NDJSON, max_records=10)
    assert [(r.index, r.line, r.parse_error) for r in raw] == rows
    good = [r.value for r in raw if not r.parse_error]
    assert all(value.prompt in ("How do I  reset\nmy password?", "caf\u00e9 \u2603 \U0001f600") for value in good)


def test_a_valid_row_is_cleaned_with_digests_hour_and_a_sample_key():
    clean, errors = _validate([_row()])
    assert errors == []
    (record,) = clean
    assert record.timestamp == datetime(2025, 3, 1, 11, 15, 30, tzinfo=UTC)
    assert record.hour == datetime(2025, 3, 1, 11, tzinfo=UTC)
    assert record.prompt == "How do I  reset\nmy password?"
    assert record.prompt_digest == text_digest("How do I reset my password?")
    assert record.model_version_id == 7
    assert 0 <= record.sample_key < 2**63


def test_sample_keys_are_not_repeated_across_rows():
    clean, _ = _validate([_row(external_id=str(i)) for i in range(200)])
    assert len({record.sample_key for record in clean}) == 200


def test_timestamps_with_offsets_are_stored_in_utc():
    (record,), _ = _validate([_row(timestamp="2025-03-01T13:59:00+02:00")])
    assert record.hour == datetime(2025, 3, 1, 11, tzinfo=UTC)


def test_the_hour_is_the_timestamp_with_minutes_seconds_and_microseconds_cleared():
    rng = random.Random(20261207)
    stamps = ["2025-03-01T11:00:00Z", "2025-03-01T11:59:59.999999Z", "2025-03-01T00:00:00.000001+00:00",
              "2025-03-01T12:30:00+05:45", "2024-02-29T23:59:59.5-01:30"]
    stamps += [(NOW - timedelta(seconds=rng.uniform(0, 40 * 86_400))).isoformat() for _ in range(300)]
    clean, errors = _validate([_row(external_id=str(i), timestamp=stamp) for i, stamp in enumerate(stamps)])
    assert errors == []
    for record in clean:
        assert record.hour == record.timestamp.replace(minute=0, second=0, microsecond=0)
        assert record.hour.tzinfo is UTC and record.hour.fold == 0


def test_every_metadata_number_beyond_2_to_the_53_is_refused_whatever_its_form():
    # The regex that skips the walk for most metadata must let every unsafe number through to it.
    rng = random.Random(20261207)
    values = []
    for _ in range(300):
        digits = rng.randint(1, 22)
        number = rng.choice([1, -1]) * rng.randint(10 ** (digits - 1), 10**digits - 1)
        values += [number, float(number), number * 10.0 ** rng.randint(-30, 30)]
    values += [2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 1e16, 9.007199254740993e15, 1.5e300, 1e-300]
    rows = [_row(external_id=str(i), metadata={"n": [{"v": value}]}) for i, value in enumerate(values)]
    # A NaN score sends a JSON array to the json module, whose metadata text writes exponents as "e+16".
    nan_row = _row(external_id="nan", score=math.nan)
    for media_type, extra in ((MEDIA_JSON, []), (MEDIA_NDJSON, []), (MEDIA_JSON, [nan_row])):
        _, errors = _validate(rows + extra, media_type)
        refused = {int(error.external_id) for error in errors if error.code == "unsafe_number"}
        assert len(errors) == len(refused) + len(extra)
        assert refused == {i for i, value in enumerate(values) if abs(value) > 2**53}


def test_optional_fields_may_be_absent_or_null():
    clean, errors = _validate([_row(score=..., feedback=None, segment=..., metadata=None, response="")])
    assert errors == []
    assert (clean[0].score, clean[0].feedback, clean[0].segment, clean[0].metadata_json) == (None, None, "", "{}")


@pytest.mark.parametrize(("overrides", "code"), [
    ({"external_id": ...}, "missing_field"),
    ({"external_id": ""}, "missing_field"),
    ({"prompt": ...}, "missing_field"),
    ({"response": ...}, "missing_field"),
    ({"model_version": ...}, "missing_field"),
    ({"timestamp": ...}, "missing_field"),
    ({"external_id": 12}, "invalid_type"),
    ({"prompt": ["a"]}, "invalid_type"),
    ({"score": "0.5"}, "invalid_type"),
    ({"score": True}, "invalid_type"),
    ({"metadata": [1]}, "invalid_type"),
    ({"timestamp": 1700000000}, "invalid_type"),
    ({"timestamp": "yesterday"}, "invalid_timestamp"),
    ({"timestamp": "2025-03-01T11:00:00"}, "invalid_timestamp"),
    ({"timestamp": "2025-03-01T12:06:00Z"}, "timestamp_in_future"),
    ({"score": 1e400}, "non_finite_score"),
    ({"feedback": 0}, "invalid_feedback"),
    ({"feedback": "+1"}, "invalid_feedback"),
    ({"feedback": True}, "invalid_feedback"),
    ({"model_version": "v9"}, "unknown_model_version"),
    ({"external_id": "x" * 201}, "field_too_long"),
    ({"segment": "s" * 101}, "field_too_long"),
    ({"metadata": {"blob": "m" * 20_000}}, "field_too_long"),
    ({"prompt": "nul\x00byte"}, "invalid_text"),
    ({"prompt": "lone \ud800 surrogate"}, "invalid_text"),
    ({"metadata": {"k": "a\x00"}}, "invalid_text"),
])
def test_each_bad_field_has_its_own_code(overrides, code):
    assert _code_of(**overrides) == code


def test_a_timestamp_within_the_clock_skew_tolerance_is_accepted():
    clean, errors = _validate([_row(timestamp="2025-03-01T12:04:59Z")])
    assert (len(clean), errors) == (1, [])


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_tokens_are_refused_as_scores(token):
    body = json.dumps([_row()]).replace('"score": 0.8', f'"score": {token}').encode()
    raw = parse_records(body, media_type=MEDIA_JSON, max_records=10)
    _, errors = validate_records(raw, model_versions=VERSIONS, now=NOW, future_tolerance=timedelta(0))
    assert [error.code for error in errors] == ["non_finite_score"]


def test_nan_inside_metadata_is_refused():
    body = json.dumps([_row()]).replace('"lang": "en"', '"lang": NaN').encode()
    raw = parse_records(body, media_type=MEDIA_JSON, max_records=10)
    _, errors = validate_records(raw, model_versions=VERSIONS, now=NOW, future_tolerance=timedelta(0))
    assert [(error.code, error.field) for error in errors] == [("invalid_type", "metadata")]


def test_a_record_that_is_not_an_object_is_rejected():
    clean, errors = _validate([_row(), "text", 3])
    assert len(clean) == 1
    assert [(error.index, error.code) for error in errors] == [(1, "invalid_type"), (2, "invalid_type")]


def test_a_repeated_external_id_inside_the_batch_is_rejected_after_the_first():
    clean, errors = _validate([_row(external_id="a"), _row(external_id="b"), _row(external_id="a")])
    assert [record.external_id for record in clean] == ["a", "b"]
    assert [(error.index, error.code, error.external_id) for error in errors] == [(2, "duplicate_in_batch", "a")]


def test_row_errors_name_the_external_id_and_field():
    _, errors = _validate([_row(external_id="abc", feedback=3)], media_type=MEDIA_NDJSON)
    assert errors[0].as_dict() == {"index": 0, "line": 1, "external_id": "abc", "code": "invalid_feedback",
                                   "field": "feedback", "message": "feedback must be 1 or -1 (or null)."}

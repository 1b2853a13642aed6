"""The typed fast path (records decoded by msgspec into structs) cleans and rejects exactly as the dict path does.

Every batch is validated twice: as the service parses it (typed structs where the types fit) and as plain dicts
decoded by msgspec, the path every row took before; the errors and the cleaned rows must be identical.
"""
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.ingest.parsing import MEDIA_JSON, MEDIA_NDJSON, RawRecord, TypedRecord, parse_records
from monitoring.ingest.redaction import Redactor
from monitoring.ingest.validation import (
    MAX_EXTERNAL_ID_CHARS,
    MAX_SEGMENT_CHARS,
    MAX_TEXT_CHARS,
    candidate_external_ids,
    validate_records,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VERSIONS = {"v1": 7, "ny versjon": 8}
ABSENT = object()

_texts = st.one_of(
    st.sampled_from(["", " ", "\t\n", "Hva er saldoen min?", "a\x00b", "é" * 3, "e\u0301", "ring 912 34 567",
                     "mail kari@example.no", "kort 4111 1111 1111 1111", "  two  spaces ", "v1", "ny versjon",
                     "\u2028", "😀"]),
    st.text(max_size=12),
)
_anything = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
                      st.just([1, 2]), st.just({"a": 1}), _texts)


def _maybe(values):
    return st.one_of(st.just(ABSENT), values)


_rows = st.fixed_dictionaries({
    "external_id": _maybe(st.one_of(st.sampled_from(["r-1", "r-2", "x" * MAX_EXTERNAL_ID_CHARS,
                                                     "x" * (MAX_EXTERNAL_ID_CHARS + 1)]), _anything)),
    "timestamp": _maybe(st.one_of(st.sampled_from(["2025-03-01T11:15:30Z", "2025-03-01T11:15:30", "2099-01-01T00:00Z",
                                                   "1999-01-01T00:00:00+00:00", "2025-03-01T13:15:30+02:00",
                                                   "0001-01-01T00:00:00+01:00", "yesterday"]), _anything)),
    "prompt": _maybe(st.one_of(st.just("p" * (MAX_TEXT_CHARS + 1)), _anything)),
    "response": _maybe(st.one_of(st.just("r" * MAX_TEXT_CHARS), _anything)),
    "model_version": _maybe(_anything),
    "score": _maybe(st.one_of(st.sampled_from([0.5, 7, 2**70, 1e308, -0.0]), _anything)),
    "feedback": _maybe(st.one_of(st.sampled_from([1, -1, 1.0, 0, 2]), _anything)),
    "segment": _maybe(st.one_of(st.just("s" * (MAX_SEGMENT_CHARS + 1)), _anything)),
    "metadata": _maybe(st.one_of(st.sampled_from([{"lang": "en"}, {"n": 2**60}, {"t": "a\x00"}, {"x": [1e17]},
                                                  {"big": "y" * 17000}]), _anything)),
    "extra": _maybe(_anything),
}).map(lambda row: {key: value for key, value in row.items() if value is not ABSENT})

# Most generated rows are invalid somewhere; these start from a valid row and change one field.
_VALID = {"external_id": "r-1", "timestamp": "2025-03-01T11:15:30Z", "prompt": "Hva er saldoen min?",
          "response": "Den er 100 kr.", "model_version": "v1", "score": 0.8, "feedback": 1, "segment": "nordics",
          "metadata": {"lang": "no"}}
_near_valid = st.tuples(st.sampled_from(sorted(_VALID)), _maybe(_anything), st.text(max_size=3)).map(
    lambda change: {key: value for key, value in {**_VALID, "external_id": "r-" + change[2],
                                                  change[0]: change[1]}.items() if value is not ABSENT})


def _as_dicts(body: bytes, media_type: str) -> list[RawRecord]:
    """The records as the dict path reads them: msgspec's generic decoding, every value a dict."""
    if media_type == MEDIA_JSON:
        return [RawRecord(index=index, value=value, fast=True) for index, value in enumerate(msgspec.json.decode(body))]
    return [RawRecord(index=index, value=msgspec.json.decode(line), line=index + 1, fast=True)
            for index, line in enumerate(body.split(b"\n"))]


def _both(rows: list[dict], media_type: str, default_model_version: str | None):
    if media_type == MEDIA_JSON:
        body = json.dumps(rows).encode()
    else:
        body = b"\n".join(json.dumps(row).encode() for row in rows)
    typed = parse_records(body, media_type=media_type, max_records=100)
    plain = _as_dicts(body, media_type)
    assert candidate_external_ids(typed) == candidate_external_ids(plain)
    results = []
    for raw in (typed, plain):
        clean, errors = validate_records(raw, model_versions=VERSIONS, now=NOW, future_tolerance=timedelta(minutes=5),
                                         retention=timedelta(days=365), default_model_version=default_model_version,
                                         redactor=Redactor())
        # The sample key is random by design; everything else must match.
        results.append(([dataclasses.replace(record, sample_key=0) for record in clean],
                        [error.as_dict() for error in errors]))
    return typed, results


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(_rows, _near_valid, st.just(_VALID)), min_size=1, max_size=4),
       media_type=st.sampled_from([MEDIA_JSON, MEDIA_NDJSON]), default=st.sampled_from([None, "v1", "v9"]))
def test_the_typed_path_cleans_and_rejects_like_the_dict_path(rows, media_type, default):
    _, (typed, plain) = _both(rows, media_type, default)
    assert typed == plain


_EDGES = [ABSENT, None, True, False, 0, 1, -1, 2, 1.0, 0.5, -0.0, 7, 2**53 + 1, 2**70, 1e308, 5e-324, [1, 2], {"a": 1},
          {"n": 2**60}, {"t": "a\x00"}, {"x": [1e17]}, {"big": "y" * 17000}, {"deep": [[{"n": -(2**54)}]]}, "", " ",
          "\t\n", "v1", "ny versjon", "v9", "a\x00b", "é", "e\u0301", "\u2028", "😀", "  two  spaces ", "Hva er saldoen?",
          "ring 912 34 567", "mail kari@example.no", "kort 4111 1111 1111 1111", "2025-03-01T11:15:30+00:00",
          "2025-03-01T11:15:30", "2099-01-01T00:00Z", "1999-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
          "9999-12-31T23:59:59-01:00", "yesterday", "x" * MAX_EXTERNAL_ID_CHARS, "x" * (MAX_EXTERNAL_ID_CHARS + 1),
          "s" * MAX_SEGMENT_CHARS, "s" * (MAX_SEGMENT_CHARS + 1), "p" * MAX_TEXT_CHARS, "p" * (MAX_TEXT_CHARS + 1)]


def test_every_field_with_every_edge_value_is_treated_alike_on_both_paths():
    seen_typed = 0
    for name in sorted(_VALID) + ["extra"]:
        for value in _EDGES:
            row = {key: item for key, item in {**_VALID, name: value}.items() if item is not ABSENT}
            for media_type in (MEDIA_JSON, MEDIA_NDJSON):
                for default in (None, "v1"):
                    raw, (typed, plain) = _both([row], media_type, default)
                    assert typed == plain, (name, value, media_type, default)
                    seen_typed += isinstance(raw[0].value, TypedRecord)
    # The comparison is only worth something if many rows took the typed path.
    assert seen_typed > 500


def test_a_batch_of_valid_rows_is_decoded_into_structs_and_cleaned():
    rows = [dict(_VALID, external_id=f"r-{n}", prompt=f"Ring meg på 912 34 56{n}, takk") for n in range(3)]
    raw, (typed, plain) = _both(rows, MEDIA_JSON, None)
    assert all(isinstance(item.value, TypedRecord) for item in raw)
    assert typed == plain and len(typed[0]) == 3 and not typed[1]
    assert typed[0][0].prompt == "Ring meg på [PHONE], takk" and typed[0][0].redactions_json == '{"phone":1}'


def test_one_row_of_another_type_sends_the_whole_array_down_the_dict_path():
    rows = [_VALID, dict(_VALID, external_id="r-2", score="high")]
    raw, (typed, plain) = _both(rows, MEDIA_JSON, None)
    assert not any(isinstance(item.value, TypedRecord) for item in raw)
    assert typed == plain and [error["code"] for error in typed[1]] == ["invalid_type"]


def test_a_typed_row_refused_by_value_gets_the_dict_paths_error():
    # Both fields are wrong; the dict path checks external_id first, and so must the typed path's answer.
    rows = [dict(_VALID, external_id=" ", prompt="")]
    raw, (typed, plain) = _both(rows, MEDIA_NDJSON, None)
    assert isinstance(raw[0].value, TypedRecord)
    assert typed == plain and typed[1] == [{"index": 0, "external_id": " ", "code": "missing_field",
                                            "message": "external_id must not be empty.", "field": "external_id",
                                            "line": 1}]

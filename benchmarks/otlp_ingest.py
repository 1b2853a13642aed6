"""OTLP ingestion throughput beside the JSON endpoint: the same exchanges as GenAI spans and as JSON records.

Run from the repository root (PostgreSQL from DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres):

    .venv/bin/python benchmarks/otlp_ingest.py [--batches 3] [--batch-size 5000] > var/bench-otlp.json

It creates (and at the end drops) its own database `driftgate_bench_otlp` (or `DRIFTGATE_BENCH_INGEST_DB`),
migrates it and starts gunicorn (2 workers, `DJANGO_DEBUG=0`) on 127.0.0.1, as `benchmarks/ingest.py` does and
with its records (English prose from the standard library's Python reference, a fifth of prompts repeated).
Each round posts one batch of new exchanges to each arm, in turn, so every arm writes into a table of the same
size: the JSON endpoint (a JSON array), `/v1/traces` with OTLP protobuf, the same gzipped (as the Collector's
otlphttp exporter sends by default) and OTLP JSON. A span carries what an instrumented chat call records:
`gen_ai.operation.name`, provider, request and response model, token usage, `gen_ai.input.messages` (a system
prompt and the user's message) and `gen_ai.output.messages` as JSON strings, and segment, score and feedback
attributes. Client-side encoding is outside the timing. Also reported: the seconds this process takes to decode
and map one OTLP batch without a database (protobuf parse and span mapping), the part OTLP adds.

Prints one JSON document.
"""
import argparse
import base64
import gzip
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

os.environ.setdefault("DRIFTGATE_BENCH_INGEST_DB", "driftgate_bench_otlp")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import ingest as base  # noqa: E402 - the database name above must be set before it loads

SYSTEM_PROMPT = "You are the invoice assistant of a utility company. Answer briefly and politely."


def _kv(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _messages(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in pairs])


def otlp_export(records: list[dict], *, slug: str, rng: random.Random) -> dict:
    """Return the records as one OTLP/JSON export of GenAI chat spans (hex ids), one resource, one scope."""
    spans = []
    for record in records:
        start = int(datetime.fromisoformat(record["timestamp"]).timestamp() * 1e9)
        attributes = [
            _kv("gen_ai.operation.name", "chat"), _kv("gen_ai.provider.name", "openai"),
            _kv("gen_ai.request.model", "ft-2025-06"), _kv("gen_ai.response.model", "ft-2025-06"),
            _kv("gen_ai.usage.input_tokens", record["metadata"]["tokens_in"]),
            _kv("gen_ai.usage.output_tokens", record["metadata"]["tokens_out"]),
            _kv("gen_ai.input.messages", _messages(("system", SYSTEM_PROMPT), ("user", record["prompt"]))),
            _kv("gen_ai.output.messages", _messages(("assistant", record["response"]))),
            _kv("driftgate.segment", record["segment"]), _kv("driftgate.score", record["score"]),
        ]
        if record["feedback"] is not None:
            attributes.append(_kv("driftgate.feedback", record["feedback"]))
        spans.append({"traceId": rng.randbytes(16).hex(), "spanId": rng.randbytes(8).hex(), "name": "chat ft-2025-06",
                      "kind": 3, "startTimeUnixNano": str(start),
                      "endTimeUnixNano": str(start + record["metadata"]["latency_ms"] * 1_000_000),
                      "attributes": attributes})
    return {"resourceSpans": [{
        "resource": {"attributes": [_kv("service.name", "invoice-bot"), _kv("driftgate.use_case", slug)]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"}, "spans": spans}]}]}


def protobuf_of(export: dict) -> bytes:
    """Encode an OTLP/JSON export as protobuf (ids from hex to bytes, as the SDK's exporter would send them)."""
    copy = json.loads(json.dumps(export))
    for span in copy["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["traceId"] = base64.b64encode(bytes.fromhex(span["traceId"])).decode()
        span["spanId"] = base64.b64encode(bytes.fromhex(span["spanId"])).decode()
    return json_format.ParseDict(copy, ExportTraceServiceRequest()).SerializeToString()


def decode_and_map(body: bytes) -> float:
    """Return the seconds this process takes to parse a protobuf export and map its spans (no database)."""
    from monitoring.ingest.genai import export_contents
    from monitoring.ingest.otlp import MEDIA_PROTOBUF, parse_export
    from monitoring.services.otlp import otlp_conventions

    started = time.perf_counter()
    contents = export_contents(parse_export(body, media_type=MEDIA_PROTOBUF), conventions=otlp_conventions())
    elapsed = time.perf_counter() - started
    assert contents.exchanges == sum(len(spans) for spans in contents.by_use_case.values())
    return elapsed


def post(session: requests.Session, url: str, body: bytes, headers: dict) -> tuple[float, requests.Response]:
    """POST one batch; return the seconds it took (sending to the read reply) and the response."""
    started = time.perf_counter()
    response = session.post(url, data=body, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3, help="Batches per arm.")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--keep-db", action="store_true", help="Leave the benchmark database in place.")
    args = parser.parse_args()

    load_at_start = round(os.getloadavg()[0], 2)
    base.recreate_database()
    base.migrate()
    http_case, _, raw_token = base.setup_fixtures()
    from monitoring.models import TrafficRecord

    port = base.free_port()
    server = base.start_gunicorn(port)
    rng = random.Random(20261201)
    pool = base.sentences()
    start = datetime.now(UTC) - timedelta(days=2)
    arms = ("json_endpoint", "otlp_protobuf", "otlp_protobuf_gzip", "otlp_json")
    results: dict[str, list[float]] = {arm: [] for arm in arms}
    sizes: dict[str, list[int]] = {arm: [] for arm in arms}
    mapping: list[float] = []
    traffic_url = f"http://127.0.0.1:{port}/api/v1/use-cases/{http_case.slug}/traffic"
    otlp_url = f"http://127.0.0.1:{port}/v1/traces"
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {raw_token}"
        for warm in range(2):
            records = base.make_records(rng, pool, prefix=f"warm{warm}", n=200, start=start)
            post(session, traffic_url, json.dumps(records).encode(), {"Content-Type": "application/json"})
            post(session, otlp_url, protobuf_of(otlp_export(records, slug=http_case.slug, rng=rng)),
                 {"Content-Type": "application/x-protobuf"})
        for batch in range(args.batches):
            for arm in arms:
                records = base.make_records(rng, pool, prefix=f"{arm}{batch}", n=args.batch_size, start=start)
                before = TrafficRecord.objects.filter(use_case=http_case).count()
                if arm == "json_endpoint":
                    url, body, headers = traffic_url, json.dumps(records).encode(), {"Content-Type": "application/json"}
                else:
                    export = otlp_export(records, slug=http_case.slug, rng=rng)
                    url = otlp_url
                    if arm == "otlp_json":
                        body, headers = json.dumps(export).encode(), {"Content-Type": "application/json"}
                    else:
                        body = protobuf_of(export)
                        headers = {"Content-Type": "application/x-protobuf"}
                        if batch == 0 and arm == "otlp_protobuf":
                            mapping.append(decode_and_map(body))
                        if arm == "otlp_protobuf_gzip":
                            body = gzip.compress(body, compresslevel=6)
                            headers["Content-Encoding"] = "gzip"
                sizes[arm].append(len(body))
                seconds, response = post(session, url, body, headers)
                stored = TrafficRecord.objects.filter(use_case=http_case).count() - before
                assert stored == args.batch_size, (arm, stored, response.content[:500])
                results[arm].append(seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rates = {arm: base.rate(args.batch_size, seconds) for arm, seconds in results.items()}
    report = {
        "benchmark": "otlp_ingest",
        "machine": base.machine() | {"load_average_1m_at_start": load_at_start},
        "batch_size": args.batch_size,
        "batches_per_arm": args.batches,
        "body_bytes_mean": {arm: int(statistics.mean(value)) for arm, value in sizes.items()},
        "records_per_s": rates,
        "batch_seconds_median": {arm: round(statistics.median(value), 3) for arm, value in results.items()},
        "ratio_to_json_endpoint": {arm: round(rates[arm] / rates["json_endpoint"], 3) for arm in arms},
        "decode_and_map_seconds_per_batch": round(statistics.mean(mapping), 3) if mapping else None,
    }
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        base.drop_database()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

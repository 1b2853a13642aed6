"""Traffic ingestion: bounded reading, JSON array / NDJSON parsing, per-row validation and the batch writer.

The service `monitoring.services.traffic.traffic_ingest` strings these together; the pieces are separate so
that the API view can refuse a request before reading its body and `import_traffic` can reuse the same path.
"""

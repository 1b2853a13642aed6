"""Monitoring: traffic ingestion, sampling, embeddings, baselines, drift runs, alerts and triage."""

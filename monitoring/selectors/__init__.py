"""Monitoring read-side queries, split by sub-domain."""

"""Monitoring write services, split by sub-domain."""

"""Read-side queries of governance, split by sub-domain."""

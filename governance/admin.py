"""Admin for governance models; the audit log is read-only here as everywhere."""

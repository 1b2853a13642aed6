"""Governance: inventory, decision gates, checklists, e-signed decisions, obligations and the audit log."""

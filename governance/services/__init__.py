"""Governance write services: every state change goes through one function here, audited in its transaction."""

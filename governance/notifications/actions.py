"""Audit action codes of notification configuration: named constants, never free strings."""

WEBHOOK_CREATED = "webhook.created"
WEBHOOK_UPDATED = "webhook.updated"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
PREFERENCES_CHANGED = "notification.preferences_changed"

ALL = (WEBHOOK_CREATED, WEBHOOK_UPDATED, WEBHOOK_DELETED, WEBHOOK_SECRET_ROTATED, PREFERENCES_CHANGED)

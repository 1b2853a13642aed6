"""Notifications through a transactional outbox: services write, tasks deliver after commit (README "Notifications").

- `outbox`: `notify`, called by the service that changes state, inside its transaction.
- `audiences`: who hears of what (roles per event).
- `delivery`: the per-delivery state machine (claim, send, retry with backoff, fail) run by the tasks.
- `email`, `webhooks`, `signing`: the channels and Standard Webhooks signing.
- `configuration`: webhooks and per-person preferences (audited); `inbox`: reading and marking read.
- `reminders`: the scheduled events (obligations due and overdue, approvals expiring).
"""

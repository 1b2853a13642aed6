"""The outbox's backlog for Prometheus: pending and failed deliveries per channel, one grouped query."""
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q

from governance.models import Channel, DeliveryStatus, NotificationDelivery


def notification_counts() -> Iterator[tuple[str, int, int]]:
    """`(channel, pending, failed)` for every channel, zeros included, so a series never vanishes."""
    rows: dict[str, dict[str, Any]] = {
        row["channel"]: dict(row)
        for row in NotificationDelivery.objects.values("channel").annotate(
            pending=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
            failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        )
    }
    for channel in Channel.values:
        row = rows.get(channel, {})
        yield channel, int(row.get("pending", 0)), int(row.get("failed", 0))

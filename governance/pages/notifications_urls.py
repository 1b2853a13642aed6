"""Routes of the notification pages (namespace `notifications`)."""
from django.urls import path

from governance.pages.views import notifications

app_name = "notifications"

urlpatterns = [
    path("notifications/", notifications.inbox_page, name="inbox"),
    path("notifications/read-all/", notifications.inbox_read_all, name="read-all"),
    path("notifications/preferences/", notifications.preferences_page, name="preferences"),
    path("notifications/<int:entry_id>/read/", notifications.inbox_read, name="read"),
    path("use-cases/<slug:slug>/webhooks/", notifications.webhooks_page, name="webhooks"),
    path("use-cases/<slug:slug>/webhooks/<int:webhook_id>/", notifications.webhook_action, name="webhook-action"),
]

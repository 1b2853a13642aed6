"""Admin: stored reports are read-only; they change only through the audited services."""
from django.contrib import admin

from reports.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Lists reports with their status and hash; nothing can be added, edited or deleted here."""

    list_display = ["id", "kind", "use_case", "status", "requested_by_display", "requested_at", "finished_at", "size"]
    list_filter = ["kind", "status"]
    search_fields = ["use_case__slug", "sha256", "requested_by_display"]
    readonly_fields = [field.name for field in Report._meta.fields]
    list_select_related = ["use_case"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

"""Admin for governance models; the audit log is read-only here as everywhere.

Records with a life cycle (use cases, memberships, gates, decisions, evidence, ...) change only through the
services, which check roles and write the audit trail, so the admin shows them read-only. Checklist templates are
data meant to be edited here: each edit is audited in the admin's transaction and bumps the template's version.
"""
from typing import TYPE_CHECKING, Any, cast

from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest

from driftgate.actors import Actor
from governance.audit import audit_record
from governance.models import (
    AuditCheckpoint,
    AuditEvent,
    Checklist,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Decision,
    EffectGoal,
    EffectMeasurement,
    Evidence,
    Gate,
    Membership,
    ModelVersion,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    Obligation,
    OrganisationRole,
    Signature,
    UseCase,
    Webhook,
    WebhookAttempt,
)
from governance.services.login_lockout import login_unlock
from governance.services.organisation import organisation_role_grant, organisation_role_revoke

if TYPE_CHECKING:  # pragma: no cover - the stubs' name for what get_fields returns
    from django.contrib.admin.options import _FieldGroups


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show records without add, change or delete: their changes belong to audited services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline list of related records, read-only for the same reason."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _snapshot(obj: models.Model) -> dict:
    return {field.name: getattr(obj, field.attname) for field in obj._meta.concrete_fields if field.name != "id"}


def _entity(obj: models.Model) -> str:
    return {ChecklistTemplate: "checklist_template", ChecklistTemplateItem: "checklist_template_item"}[type(obj)]


def _audit_template_change(request: HttpRequest, obj: models.Model, before: dict | None, verb: str) -> None:
    """Write the audit event of an admin edit; Django's admin runs each save in one transaction with it."""
    after = None if verb == "deleted" else _snapshot(obj)
    if before is not None and after is not None:
        changed = [name for name in after if before.get(name) != after[name]]
        before, after = {name: before[name] for name in changed}, {name: after[name] for name in changed}
    audit_record(actor=Actor.from_request(request), action=f"{_entity(obj)}.{verb}", obj=obj, before=before,
                 after=after, reason="edited in the admin")


def _bump_version(template: ChecklistTemplate) -> None:
    # Gates copy items with the version they came from; a new number marks that the template moved on.
    ChecklistTemplate.objects.filter(pk=template.pk).update(version=models.F("version") + 1)
    template.refresh_from_db(fields=["version"])


class AuditedTemplateAdmin(admin.ModelAdmin):
    """Saves and deletes of template data, each written to the audit log."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        before = _snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        if before is not None and before == _snapshot(obj):
            return
        _audit_template_change(request, obj, before, "updated" if change else "created")
        if change or isinstance(obj, ChecklistTemplateItem):
            # Only templates and their items are registered with this admin.
            _bump_version(obj if isinstance(obj, ChecklistTemplate) else cast(ChecklistTemplateItem, obj).template)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        _audit_template_change(request, obj, _snapshot(obj), "deleted")
        template = obj.template if isinstance(obj, ChecklistTemplateItem) else None
        super().delete_model(request, obj)
        if template is not None:
            _bump_version(template)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ChecklistTemplateItemInline(admin.TabularInline):
    """A template's questions, edited with the template."""

    model = ChecklistTemplateItem
    extra = 0
    fields = ["position", "key", "section", "text", "owner_role", "required"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(AuditedTemplateAdmin):
    """Built-in and custom checklist templates."""

    list_display = ["key", "title", "kind", "gate_numbers", "version", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["key", "title", "description"]
    readonly_fields = ["version"]
    inlines = [ChecklistTemplateItemInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        deleted = [item_form.instance for item_form in formset.deleted_forms if item_form.instance.pk]
        befores = {item_form.instance.pk: _snapshot(ChecklistTemplateItem.objects.get(pk=item_form.instance.pk))
                   for item_form in formset.initial_forms if item_form.instance.pk and item_form.has_changed()}
        for item in deleted:
            # Audited before the delete, while the item still has its primary key.
            _audit_template_change(request, item, _snapshot(item), "deleted")
        formset.save()
        for item in formset.new_objects:
            _audit_template_change(request, item, None, "created")
        for item, _changed_fields in formset.changed_objects:
            _audit_template_change(request, item, befores.get(item.pk), "updated")
        if change and (formset.new_objects or formset.changed_objects or deleted):
            _bump_version(form.instance)


@admin.register(ChecklistTemplateItem)
class ChecklistTemplateItemAdmin(AuditedTemplateAdmin):
    """One question of a template."""

    list_display = ["template", "position", "key", "section", "owner_role", "required"]
    list_filter = ["template", "owner_role", "required"]
    search_fields = ["key", "text", "section"]
    list_select_related = ["template"]


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["user", "role", "created_at"]


class ModelVersionInline(ReadOnlyInline):
    model = ModelVersion
    fields = ["label", "adapter_method", "status", "activated_at"]


class EffectGoalInline(ReadOnlyInline):
    model = EffectGoal
    fields = ["metric", "direction", "target", "unit"]


@admin.register(UseCase)
class UseCaseAdmin(ReadOnlyAdmin):
    """The AI inventory."""

    list_display = ["slug", "name", "stage", "risk_tier", "approach", "halted", "updated_at"]
    list_filter = ["stage", "risk_tier", "approach", "halted"]
    search_fields = ["slug", "name", "purpose", "base_model"]
    inlines = [MembershipInline, ModelVersionInline, EffectGoalInline]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Who holds which role on which use case."""

    list_display = ["use_case", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["use_case__slug", "user__username", "user__last_name"]
    list_select_related = ["use_case", "user"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Model versions with their lineage."""

    list_display = ["use_case", "label", "adapter_method", "status", "activated_at", "created_at"]
    list_filter = ["status", "adapter_method"]
    search_fields = ["use_case__slug", "label", "base_model", "training_data_sha256"]
    list_select_related = ["use_case"]


@admin.register(EffectGoal)
class EffectGoalAdmin(ReadOnlyAdmin):
    """Measurable effect goals."""

    list_display = ["use_case", "metric", "direction", "target", "unit"]
    list_filter = ["direction"]
    search_fields = ["use_case__slug", "metric"]
    list_select_related = ["use_case"]


@admin.register(EffectMeasurement)
class EffectMeasurementAdmin(ReadOnlyAdmin):
    """Measured values of effect goals."""

    list_display = ["goal", "value", "measured_at", "source", "recorded_by"]
    search_fields = ["goal__metric", "goal__use_case__slug", "source"]
    date_hierarchy = "measured_at"
    list_select_related = ["goal", "recorded_by"]


@admin.register(Gate)
class GateAdmin(ReadOnlyAdmin):
    """Passes through the three decision gates."""

    list_display = ["use_case", "number", "status", "opened_at", "decided_at", "expires_at"]
    list_filter = ["number", "status"]
    search_fields = ["use_case__slug"]
    list_select_related = ["use_case"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    """Go / no-go decisions with the criteria as they stood."""

    list_display = ["gate", "outcome", "status", "proposed_by", "created_at", "finalized_at"]
    list_filter = ["outcome", "status"]
    search_fields = ["gate__use_case__slug", "rationale", "content_hash"]
    list_select_related = ["gate__use_case", "proposed_by"]


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    """Electronic signatures on decisions."""

    list_display = ["decision", "printed_name", "role", "meaning", "signed_at"]
    list_filter = ["role"]
    search_fields = ["printed_name", "signer__username", "decision__gate__use_case__slug"]
    list_select_related = ["decision__gate__use_case"]


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    """Conditions and standing duties with owners and due dates."""

    list_display = ["use_case", "title", "owner", "due_date", "status", "closed_at"]
    list_filter = ["status"]
    search_fields = ["use_case__slug", "title", "description"]
    date_hierarchy = "due_date"
    list_select_related = ["use_case", "owner"]


@admin.register(Checklist)
class ChecklistAdmin(ReadOnlyAdmin):
    """Checklists instantiated on gates."""

    list_display = ["gate", "title", "kind", "template_version", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title", "gate__use_case__slug"]
    list_select_related = ["gate__use_case"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ReadOnlyAdmin):
    """Items of gate checklists and their state."""

    list_display = ["checklist", "key", "status", "owner_role", "automation", "completed_at"]
    list_filter = ["status", "automation", "owner_role", "required"]
    search_fields = ["key", "text", "checklist__gate__use_case__slug"]
    list_select_related = ["checklist__template", "checklist__gate__use_case"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    """Evidence files and links with their SHA-256."""

    list_display = ["item", "name", "sha256", "size", "uploaded_by", "uploaded_at", "removed_at"]
    search_fields = ["name", "sha256", "url"]
    list_select_related = ["item__checklist__template", "uploaded_by"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    """Signed checkpoints of the audit chain: read-only, like the events they cover."""

    list_display = ["tree_size", "signed_at", "key_id", "root_hash"]
    search_fields = ["root_hash", "key_id"]
    date_hierarchy = "signed_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditCheckpoint._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The hash-chained audit log: every field read-only, nothing can be added, changed or deleted."""

    list_display = ["sequence", "created_at", "actor_display", "actor_kind", "action", "object_type", "object_id",
                    "use_case"]
    list_filter = ["actor_kind", "object_type"]
    search_fields = ["action", "object_id", "actor_display", "reason", "request_id", "hash"]
    list_select_related = ["use_case"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]


class OrganisationRoleGrantForm(forms.ModelForm):
    """Who gets which organisation-wide role and why; the model's constraints are checked before the service runs."""

    class Meta:
        model = OrganisationRole
        fields = ["user", "role", "reason"]

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # ModelForm's private hook is not in django-stubs
        # ModelForm skips constraints on fields outside the form (the active-grant constraint reads revoked_at).
        try:
            self.instance.validate_constraints()
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # private BaseForm method missing from the stubs


class OrganisationRoleRevokeForm(forms.ModelForm):
    """Revoking is the one change an organisation-wide role allows; it needs a reason."""

    class Meta:
        model = OrganisationRole
        fields = ["revoke_reason"]


@admin.register(OrganisationRole)
class OrganisationRoleAdmin(admin.ModelAdmin):
    """Organisation-wide roles: granted and revoked here through the audited services; never edited or deleted."""

    list_display = ["user", "role", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["role", "revoked_at"]
    search_fields = ["user__username", "reason"]
    list_select_related = ["user", "granted_by"]

    def get_fields(self, request: HttpRequest, obj: OrganisationRole | None = None) -> "_FieldGroups":
        return list(self._shown_fields(obj))

    @staticmethod
    def _shown_fields(obj: OrganisationRole | None) -> list[str]:
        if obj is None:
            return ["user", "role", "reason"]
        return ["user", "role", "reason", "granted_by", "granted_at", "revoked_by", "revoked_at", "revoke_reason"]

    def get_readonly_fields(self, request: HttpRequest, obj: OrganisationRole | None = None) -> list[str]:
        if obj is None:
            return []
        fields = self._shown_fields(obj)
        # A revoked role is history: nothing about it may change any more.
        return fields if obj.revoked_at else [field for field in fields if field != "revoke_reason"]

    def get_form(self, request: HttpRequest, obj: OrganisationRole | None = None, change: bool = False, **kwargs: Any):
        kwargs["form"] = OrganisationRoleGrantForm if obj is None else OrganisationRoleRevokeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # Audit events point at these rows; revoking keeps who could read when.

    def save_model(self, request: HttpRequest, obj: OrganisationRole, form: Any, change: bool) -> None:
        # The form already checked what the model knows (reason given, one active grant per person); the admin's
        # own add/change permissions are the services' permissions, so a refusal here is a lost race, not input.
        actor = Actor.from_request(request)
        if not change:
            grant = organisation_role_grant(actor=actor, user=form.cleaned_data["user"],
                                            role=form.cleaned_data["role"], reason=form.cleaned_data["reason"])
        elif form.cleaned_data.get("revoke_reason", "").strip():
            grant = organisation_role_revoke(actor=actor, grant=obj, reason=form.cleaned_data["revoke_reason"])
            messages.info(request, "The organisation-wide role is revoked.")
        else:
            return
        obj.__dict__.update({key: value for key, value in grant.__dict__.items() if key != "_state"})
        obj._state.adding = False
@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyAdmin):
    """Failed sign-ins counted by django-axes; staff lift a lockout with the audited unlock action."""

    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "path_info", "user_agent"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    actions = ["unlock"]
    exclude = ["get_data", "post_data"]

    @admin.action(description="Unlock the selected accounts and addresses")
    def unlock(self, request: HttpRequest, queryset) -> None:
        actor = Actor.from_request(request)
        pairs = sorted(set(queryset.values_list("username", "ip_address")), key=str)
        for username, ip_address in pairs:
            login_unlock(actor=actor, username=username or None, ip_address=ip_address or None)
        self.message_user(request, f"Unlocked {len(pairs)} account/address pair(s).")


# Notifications: the outbox, webhooks and preferences change through their audited services and pages; the admin
# shows them for support (a failed delivery and its last error) and never the webhook secret.
@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Events that someone must hear of, as written with the change that caused them."""

    list_display = ["event", "use_case", "subject", "created_at"]
    list_filter = ["event"]
    search_fields = ["subject", "use_case__slug"]
    list_select_related = ["use_case"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """The outbox rows: one per notification, channel and recipient, with their retry state."""

    list_display = ["notification", "channel", "target", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["target", "last_error", "notification__subject"]
    list_select_related = ["notification"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    """A use case's webhook endpoints; the encrypted secret is not shown."""

    list_display = ["use_case", "url", "slack_format", "is_active", "created_by", "created_at"]
    list_filter = ["is_active", "slack_format"]
    search_fields = ["url", "use_case__slug"]
    exclude = ["secret_encrypted"]
    list_select_related = ["use_case", "created_by"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    """Each HTTP attempt of a webhook delivery with its status code or error."""

    list_display = ["webhook", "attempt", "status_code", "duration_ms", "created_at"]
    search_fields = ["error", "webhook__url"]
    list_select_related = ["webhook__use_case"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    """Per-person choices of events and channels."""

    list_display = ["user", "event", "channel", "enabled", "updated_at"]
    list_filter = ["channel", "enabled"]
    search_fields = ["user__username", "event"]

"""Admin for API tokens: created and revoked through the audited token services; the raw token is shown once."""
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ApplicationError, Conflict
from driftgate.models import ApiToken, TaskOutcomeCount, TokenScope
from governance.services.tokens import api_token_create, api_token_revoke

if TYPE_CHECKING:  # pragma: no cover - the stubs' name for what get_fields returns
    from django.contrib.admin.options import _FieldGroups


class ApiTokenCreateForm(forms.ModelForm):
    """The fields a new token needs; the secret is generated, never typed."""

    scopes = forms.MultipleChoiceField(choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "owner", "scopes", "expires_at"]

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must lie in the future.")
        return expires_at

    def clean_owner(self):
        owner = self.cleaned_data.get("owner")
        user = getattr(self.request, "user", None)
        if owner is not None and user is not None and owner != user and not user.is_superuser:
            raise forms.ValidationError("Only a superuser may create tokens for someone else.")
        if owner is not None and not owner.is_active:
            raise forms.ValidationError("The owner must be an active user.")
        return owner


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Machine tokens: create (the raw token is shown once), inspect and revoke; never edit or delete."""

    list_display = ["name", "owner", "lookup", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "owner__username", "lookup"]
    list_select_related = ["owner"]
    actions = ["revoke_tokens"]
    granted_fields = ("name", "owner", "lookup", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")

    def get_form(self, request: HttpRequest, obj: ApiToken | None = None, change: bool = False, **kwargs: Any):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        class RequestBoundForm(ApiTokenCreateForm):
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, request=request, **form_kwargs)

        kwargs["form"] = RequestBoundForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> "_FieldGroups":
        if obj is None:
            return list(ApiTokenCreateForm.Meta.fields)
        return list(self.granted_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        # A token's name, owner and scopes are part of what was granted; change means revoke and create anew.
        return [] if obj is None else list(self.granted_fields)

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # Audit events point at tokens; revoking keeps the history intact.

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        token, raw = api_token_create(actor=Actor.from_request(request), owner_username=obj.owner.get_username(),
                                      name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                                      expires_at=form.cleaned_data.get("expires_at"))
        # The admin goes on with `obj` (log entry, redirect); make it the stored token.
        obj.__dict__.update({key: value for key, value in token.__dict__.items() if key != "_state"})
        obj._state.adding = False
        messages.warning(request, f"Token created. Copy it now, it is not shown again: {raw}")

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = Actor.from_request(request)
        revoked, refused = 0, []
        for token in queryset:
            try:
                api_token_revoke(actor=actor, token=token, reason="revoked in the admin")
                revoked += 1
            except Conflict:
                refused.append(f"{token.name} (already revoked)")
            except ApplicationError as exc:
                refused.append(f"{token.name} ({exc.message})")
        if revoked:
            messages.success(request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}.")
        if refused:
            messages.warning(request, f"Not revoked: {', '.join(refused)}.")


@admin.register(TaskOutcomeCount)
class TaskOutcomeCountAdmin(admin.ModelAdmin):
    """Task failures and retries per queue, as /metrics serves them; counted by the workers, never edited."""

    list_display = ["queue", "task", "outcome", "count", "updated_at"]
    list_filter = ["queue", "outcome"]
    search_fields = ["queue", "task"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

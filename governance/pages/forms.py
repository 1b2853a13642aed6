"""Page forms: they turn posted text into the services' arguments and show the services' refusals by the field.

No rule lives here. Limits, required fields and allowed states are the services' and models'; a form only
parses types (a number, a date) and maps an `ApplicationError` to the field it is about.
"""
from django import forms
from django.utils.translation import gettext_lazy as _

from driftgate.errors import ApplicationError
from governance.models import AdapterMethod, Direction, RiskTier
from governance.pages.labels import choices
from governance.pages.messages import error_message


def _text(label, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, strip=False, **kwargs)


def _area(label, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}),
                           **kwargs)


def _choice(label, choices, **kwargs) -> forms.ChoiceField:
    # The service refuses an unknown value with its own code; the select only offers the known ones.
    return forms.TypedChoiceField(label=label, required=False, choices=choices, **kwargs)


class ServiceForm(forms.Form):
    """A form whose errors come from the service it calls."""

    # Service error codes that concern one field but carry no `fields` map.
    error_fields: dict[str, str] = {}

    def show_error(self, exc: ApplicationError) -> None:
        """Put the service's refusal next to its field (or above the form when it concerns the whole form)."""
        fields = exc.extra.get("fields") if isinstance(exc.extra, dict) else None
        if isinstance(fields, dict) and fields:
            for name, messages in fields.items():
                target = name if name in self.fields else None
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, error_message(exc.code, str(message), field=name))
            return
        target = self.error_fields.get(exc.code)
        self.add_error(target if target in self.fields else None, error_message(exc.code, exc.message))


class UseCaseCreateForm(ServiceForm):
    """Register a use case."""

    slug = _text(_("Short name (slug)"), help_text=_("Lowercase letters, digits and hyphens, e.g. invoice-assistant."))
    name = _text(_("Name"))
    purpose = _area(_("Purpose"))
    approach = _choice(_("Approach"), choices("approach"))
    base_model = _text(_("Base model"))
    risk_tier = _choice(_("EU AI Act risk tier"), choices("risk_tier"), initial=RiskTier.MINIMAL)
    regulatory_scopes = forms.MultipleChoiceField(label=_("Regulatory scopes"), required=False,
                                                  choices=choices("scope"),
                                                  widget=forms.CheckboxSelectMultiple)
    error_fields = {"duplicate_slug": "slug"}


class MembershipGrantForm(ServiceForm):
    """Give a person a role on the use case."""

    username = _text(_("Username"))
    role = _choice(_("Role"), choices("role"))
    error_fields = {"unknown_user": "username", "duplicate_membership": "username", "missing_role": "role"}


class ReasonForm(ServiceForm):
    """An action that records why."""

    reason = _area(_("Reason"))
    error_fields = {"reason_required": "reason"}


def _parse_metrics(text: str) -> dict:
    metrics = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        try:
            metrics[name.strip()] = float(value.strip().replace(",", "."))
        except ValueError:
            raise forms.ValidationError(_("Line %(number)s: write name = number, e.g. exact_match = 0.91."),
                                        params={"number": number}) from None
        if not sep or not name.strip():
            raise forms.ValidationError(_("Line %(number)s: write name = number, e.g. exact_match = 0.91."),
                                        params={"number": number})
    return metrics


class ModelVersionForm(ServiceForm):
    """Register a model version with its lineage and evaluation."""

    label = _text(_("Label"))
    base_model = _text(_("Base model"))
    adapter_method = _choice(_("Adapter method"), choices("adapter"), initial=AdapterMethod.LORA)
    training_data_ref = _text(_("Training data reference"))
    training_data_sha256 = _text(_("Training data SHA-256"))
    task_metrics = _area(_("Task metrics"), help_text=_("One per line: name = number."))
    general_capability_regression = forms.FloatField(
        label=_("General-capability regression against the base model"), required=False,
        help_text=_("The change in general-capability score, e.g. -0.02 for two points worse."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    error_fields = {"duplicate_label": "label"}

    def clean_task_metrics(self) -> dict:
        return _parse_metrics(self.cleaned_data.get("task_metrics") or "")

    def evaluation(self) -> dict:
        """Return the evaluation object the service checks: empty when nothing was entered."""
        metrics = self.cleaned_data.get("task_metrics") or {}
        regression = self.cleaned_data.get("general_capability_regression")
        if not metrics and regression is None:
            return {}
        return {"task_metrics": metrics, "general_capability_regression": regression}


class EffectGoalForm(ServiceForm):
    """Define an effect goal."""

    metric = _text(_("Metric"))
    target = forms.FloatField(label=_("Target"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    direction = _choice(_("Direction"), choices("direction"), initial=Direction.AT_LEAST)
    unit = _text(_("Unit"))
    description = _area(_("Description"))
    error_fields = {"duplicate_metric": "metric"}


class MeasurementForm(ServiceForm):
    """Record one measured value of an effect goal."""

    value = forms.FloatField(label=_("Measured value"), required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    source = _text(_("Source"))
    seen = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ItemForm(ServiceForm):
    """Change a checklist item's status."""

    status = _choice(_("Status"), choices("item_status"))
    reason = _area(_("Reason (for waived or not applicable)"))
    automation = _choice(_("ML Test Score credit"), choices("automation"))
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    error_fields = {"reason_required": "reason", "evidence_required": "status", "invalid_status": "status"}


class EvidenceForm(ServiceForm):
    """Attach a file or a URL to a checklist item."""

    file = forms.FileField(label=_("File"), required=False)
    url = forms.CharField(label=_("or a URL"), required=False, widget=forms.URLInput)
    name = _text(_("Name (optional)"))
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    error_fields = {"evidence_too_large": "file", "invalid_url": "url", "evidence_source_required": "file",
                    "name_too_long": "name"}


class DecideForm(ServiceForm):
    """Propose a decision and sign it."""

    outcome = _choice(_("Outcome"), choices("outcome"), widget=forms.RadioSelect)
    rationale = _area(_("Rationale"))
    role = _choice(_("Sign as"), choices("role"))
    password = forms.CharField(label=_("Your password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    error_fields = {"invalid_outcome": "outcome", "rationale_required": "rationale", "password_required": "password",
                    "invalid_password": "password", "role_not_required": "role", "missing_role": "role",
                    "self_approval": "role", "conditions_required": "outcome", "conditions_not_allowed": "outcome"}


class ConditionForm(forms.Form):
    """One condition row of a go-with-conditions decision."""

    title = _text(_("Condition"))
    owner = _choice(_("Owner"), [])
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—"), *owners]


# Two empty rows: without JavaScript (which adds rows) a decision can still carry two conditions per review.
ConditionFormSet = forms.formset_factory(ConditionForm, extra=2, max_num=20)


class SignForm(ServiceForm):
    """Co-sign a pending decision."""

    role = _choice(_("Sign as"), choices("role"))
    password = forms.CharField(label=_("Your password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    error_fields = DecideForm.error_fields


class FulfilForm(ServiceForm):
    """Close an obligation as fulfilled."""

    resolution = _area(_("How it was fulfilled"))
    evidence_url = forms.CharField(label=_("Evidence (link)"), required=False, widget=forms.URLInput)
    error_fields = {"resolution_required": "resolution", "invalid_url": "evidence_url"}

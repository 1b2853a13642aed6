"""Forms of the monitoring pages: they parse input into the services' arguments and show the services' refusals
beside the field; the rules are the services'."""
from django import forms
from django.utils.translation import gettext_lazy as _

from governance.pages.forms import ServiceForm
from monitoring.models import AlertStatus, Resolution, Severity, TriageVerdict


class TriageForm(ServiceForm):
    """Record what the alert turned out to be and what is done about it."""

    verdict = forms.ChoiceField(label=_("Verdict"), required=False,
                                choices=[("", _("— choose —")), *TriageVerdict.choices])
    resolution = forms.ChoiceField(label=_("Resolution"), required=False,
                                   choices=[("", _("— choose —")), *Resolution.choices])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    error_fields = {"invalid_verdict": "verdict", "resolution_required": "resolution",
                    "invalid_resolution": "resolution", "resolution_not_allowed": "resolution"}


class SignedReasonForm(ServiceForm):
    """A halt or a resume: a reason and the password re-entered."""

    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(label=_("Your password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    error_fields = {"reason_required": "reason", "password_required": "password", "invalid_password": "password"}


class AlertFilterForm(forms.Form):
    """Filters of the review queue; a malformed value is refused beside its field and filters nothing."""

    use_case = forms.CharField(label=_("Use case"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False,
                                 choices=[("", _("Any")), (Severity.REVIEW, Severity.REVIEW.label),
                                          (Severity.STOP, Severity.STOP.label)])
    status = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any")), *AlertStatus.choices],
                               initial=AlertStatus.OPEN)
    raised_before = forms.DateField(label=_("Raised before (YYYY-MM-DD)"), required=False,
                                    input_formats=["%Y-%m-%d"])
    raised_since = forms.DateField(label=_("Raised since (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])


class RecordFilterForm(forms.Form):
    """Filters of a run's window records."""

    segment = forms.CharField(label=_("Segment"), required=False)
    model_version = forms.CharField(label=_("Model version"), required=False)

"""Forms of the monitoring pages: they parse input into the services' arguments and show the services' refusals
beside the field; the rules are the services'."""
from django import forms
from django.utils.translation import gettext_lazy as _

from governance.pages.forms import ServiceForm
from monitoring.models import AlertStatus, IncidentClass, Resolution, Severity, TriageVerdict


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
    # The services' field messages are English; these refusals read in the person's language.
    field_texts = {"invalid_password": _("The password is not correct; nothing was changed."),
                   "password_required": _("Re-enter your password."), "reason_required": _("A reason is required.")}

    def show_error(self, exc) -> None:
        """Show a password or reason refusal beside its field in the page's language, others as the base does."""
        if exc.code in self.field_texts:
            self.add_error(self.error_fields[exc.code], self.field_texts[exc.code])
            return
        super().show_error(exc)


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


class BaselineBuildForm(ServiceForm):
    """Build (and, once computed, freeze) a baseline from a traffic range; replacing the frozen one needs a reason."""

    start = forms.DateField(label=_("Traffic from (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label=_("Traffic to, exclusive (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])
    sample_size = forms.IntegerField(label=_("Sample size"), required=False, initial=10_000)
    reason = forms.CharField(label=_("Reason (required when it replaces the frozen baseline)"), required=False)
    error_fields = {"invalid_range": "end", "baseline_too_small": "start", "invalid_sample_size": "sample_size",
                    "reason_required": "reason", "no_active_model_version": "start"}


class BaselineFreezeForm(ServiceForm):
    """Freeze a computed baseline; replacing the frozen one needs a reason."""

    reason = forms.CharField(label=_("Reason for replacing the frozen baseline"), required=False)
    error_fields = {"reason_required": "reason"}


class PolicyForm(ServiceForm):
    """The monitoring policy: tiers per signal, significance level, caps, automatic halts, window and sample."""

    enabled = forms.BooleanField(label=_("Monitoring enabled"), required=False)
    auto_halt = forms.BooleanField(label=_("A stop alert halts the use case without a human"), required=False)
    window_hours = forms.IntegerField(label=_("Window (hours)"), required=False)
    sample_size = forms.IntegerField(label=_("Sample size per window"), required=False)
    material_degradation = forms.FloatField(label=_("Material degradation (relative drop, 0.10 = 10%)"),
                                            required=False)
    alpha = forms.FloatField(label=_("Significance level α (Holm across a run's signals)"), required=False)
    error_fields = {"invalid_window_hours": "window_hours", "invalid_sample_size": "sample_size",
                    "invalid_material_degradation": "material_degradation"}

    def __init__(self, *args, tiers: dict, caps: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signal_names = list(tiers)
        for name in tiers:
            self.fields[f"review_{name}"] = forms.FloatField(label=_("%(signal)s: review at") % {"signal": name},
                                                             required=False)
            self.fields[f"stop_{name}"] = forms.FloatField(label=_("%(signal)s: stop at") % {"signal": name},
                                                           required=False)
        for name in caps:
            self.fields[f"cap_{name}"] = forms.ChoiceField(
                label=_("%(signal)s: highest outcome") % {"signal": name}, required=False,
                choices=[(Severity.REVIEW, Severity.REVIEW.label), (Severity.STOP, Severity.STOP.label),
                         (Severity.OK, _("never alerts"))])
        self.cap_names = list(caps)

    def rows(self) -> list[dict]:
        """Return the signal fields grouped by signal, for the table of tiers."""
        return [{"name": name, "review": self[f"review_{name}"], "stop": self[f"stop_{name}"],
                 "cap": self[f"cap_{name}"] if name in self.cap_names else None} for name in self.signal_names]

    def config(self) -> dict:
        """Return the engine's policy config as typed in; the engine validates it (`policy_config_validate`)."""
        data = self.cleaned_data
        return {"alpha": data.get("alpha"),
                "tiers": {name: [data.get(f"review_{name}"), data.get(f"stop_{name}")] for name in self.signal_names},
                "max_severity": {name: data.get(f"cap_{name}") for name in self.cap_names}}

    def show_policy_error(self, exc) -> None:
        """Put an engine refusal beside the signal it names (its message names the tier), else above the form."""
        for name in sorted(self.signal_names, key=len, reverse=True):
            if f"'{name}'" in exc.message:
                target = f"stop_{name}" if "stop" in exc.message and "review" not in exc.message else f"review_{name}"
                self.add_error(target, exc.message)
                return
        if "alpha" in exc.message:
            self.add_error("alpha", exc.message)
            return
        self.show_error(exc)


class IncidentForm(ServiceForm):
    """Mark the alert as an EU AI Act Art. 73 serious incident; the reporting deadline runs from `aware_at`."""

    incident_class = forms.ChoiceField(label=_("Class of serious incident"), required=False,
                                       choices=[("", _("— choose —")), *[(value, label) for value, label
                                                                        in IncidentClass.choices if value]])
    aware_at = forms.DateTimeField(label=_("Aware since (YYYY-MM-DD HH:MM, UTC)"), required=False,
                                   input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"])
    error_fields = {"invalid_incident_class": "incident_class", "invalid_aware_at": "aware_at"}

"""The report request form: it parses the page's dates into the service's arguments; the period rules are the
service's (`report_period`), shown beside the field."""
from datetime import UTC, datetime, time, timedelta
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from governance.pages.forms import ServiceForm
from reports.models import ReportKind


class ReportRequestForm(ServiceForm):
    """Ask for a report of a use case for a period (the end day is included)."""

    use_case = forms.ChoiceField(label=_("Use case"), required=False)
    kind = forms.ChoiceField(label=_("Kind of report"), required=False, choices=ReportKind.choices)
    start = forms.DateField(label=_("From (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label=_("To, inclusive (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])
    error_fields = {"invalid_period": "end", "invalid_report_kind": "kind", "missing_role": "use_case",
                    "use_case_not_found": "use_case"}

    def __init__(self, *args, use_cases: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["use_case"]).choices = use_cases

    def period(self) -> tuple[datetime | None, datetime | None]:
        """Return the period as the service takes it: [start 00:00, the day after end 00:00) in UTC."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (datetime.combine(start, time.min, tzinfo=UTC) if start else None,
                datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) if end else None)

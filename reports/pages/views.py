"""The reports page: request a report, watch it render without reloading, download it and check its hash.
Thin over the report services and the visibility selector the API uses."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.pages.views.common import actor_of, page, refusal_text, render_page
from governance.permissions import use_cases_visible_to
from governance.selectors.inventory import use_case_get
from reports.models import ReportStatus
from reports.pages.forms import ReportRequestForm
from reports.selectors.stored import report_file_check, report_get_visible, reports_visible_to
from reports.services import report_download, report_request

LISTED = 100
PENDING = (ReportStatus.QUEUED, ReportStatus.RENDERING)


def _context(request: HttpRequest, form: ReportRequestForm | None = None) -> dict:
    actor = actor_of(request)
    use_cases = list(use_cases_visible_to(actor).order_by("slug").values_list("slug", "name"))
    return {"form": form or ReportRequestForm(use_cases=use_cases, initial={"use_case": request.GET.get("use_case")}),
            "reports": list(reports_visible_to(actor=actor)[:LISTED]), "pending": PENDING, "nav_section": "reports"}


@page(("GET", "POST"))
def reports_page(request: HttpRequest) -> HttpResponse:
    """The stored reports, newest first, and the form to request one."""
    if request.method == "GET":
        return render_page(request, "reports/pages/list.html", _context(request))
    actor = actor_of(request)
    use_cases = list(use_cases_visible_to(actor).order_by("slug").values_list("slug", "name"))
    form = ReportRequestForm(request.POST, use_cases=use_cases)
    if form.is_valid():
        try:
            use_case = use_case_get(actor=actor, slug=form.cleaned_data["use_case"])
            start, end = form.period()
            report = report_request(actor=actor, use_case=use_case, kind=form.cleaned_data["kind"], start=start,
                                    end=end)
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("Report %(id)s is requested; it appears below when it is ready.")
                             % {"id": report.pk})
            return redirect("reports:list")
    return render_page(request, "reports/pages/list.html", _context(request, form), status=400)


@page()
def report_row(request: HttpRequest, report_id: int) -> HttpResponse:
    """One report's row: what the page polls while the report renders."""
    report = report_get_visible(actor=actor_of(request), report_id=report_id)
    return render_page(request, "reports/pages/_row.html", {"report": report, "pending": PENDING})


@page()
def report_file(request: HttpRequest, report_id: int) -> HttpResponse:
    """Download a ready report (checked against its SHA-256 and audited by the service)."""
    actor = actor_of(request)
    report = report_get_visible(actor=actor, report_id=report_id)
    try:
        content, filename = report_download(actor=actor, report=report)
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("reports:list")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@page(("POST",))
def report_check(request: HttpRequest, report_id: int) -> HttpResponse:
    """Recompute the stored file's SHA-256 and say whether it is still the file that was rendered."""
    report = report_get_visible(actor=actor_of(request), report_id=report_id)
    check = report_file_check(report)
    if check["intact"]:
        messages.success(request, _("Report %(id)s: the stored file still has its SHA-256 %(sha)s.")
                         % {"id": report.pk, "sha": report.sha256})
    elif check["checked"]:
        messages.error(request, _("Report %(id)s: the stored file no longer matches its recorded SHA-256.")
                       % {"id": report.pk})
    else:
        messages.warning(request, _("Report %(id)s has no file to check yet.") % {"id": report.pk})
    return redirect("reports:list")

"""Reading stored reports: only those of use cases the actor may see."""
import hashlib

from django.db.models import QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.permissions import use_cases_visible_to
from reports.models import Report


def reports_visible_to(*, actor: Actor, use_case_slug: str | None = None, kind: str | None = None,
                       status: str | None = None) -> QuerySet[Report]:
    """Return the reports of the use cases the actor may read, newest first."""
    queryset = (Report.objects.filter(use_case__in=use_cases_visible_to(actor))
                .select_related("use_case", "requested_by").order_by("-requested_at", "-id"))
    if use_case_slug:
        queryset = queryset.filter(use_case__slug=use_case_slug)
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def report_get_visible(*, actor: Actor, report_id: int) -> Report:
    """Return one report, or NotFound when it does not exist or its use case is not visible to the actor."""
    report = reports_visible_to(actor=actor).filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"Report {report_id} does not exist or is not visible to you.", code="report_not_found",
                       extra={"id": report_id})
    return report


def report_chain_heads():
    """Yield ("report N", chain head) of every report that was built, for audit verification to check."""
    rows = Report.objects.exclude(chain_head="").order_by("pk").values_list("pk", "chain_head")
    for pk, head in rows.iterator(chunk_size=2000):
        yield f"report {pk}", head
def report_file_check(report: Report) -> dict:
    """Return whether the stored file still hashes to the SHA-256 recorded when it was rendered."""
    if not report.file or not report.sha256:
        return {"checked": False, "intact": None, "sha256": ""}
    try:
        with report.file.open("rb") as handle:
            actual = hashlib.sha256(handle.read()).hexdigest()  # as reports.rendering.sha256_hex, without loading WeasyPrint
    except FileNotFoundError:
        return {"checked": True, "intact": False, "sha256": "", "missing": True}
    return {"checked": True, "intact": actual == report.sha256, "sha256": actual, "missing": False}

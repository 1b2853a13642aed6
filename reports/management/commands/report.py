"""`manage.py report {audit-trail|monitoring|degradation} --use-case SLUG [--start ISO --end ISO] -o FILE.pdf`."""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.models import UseCase
from reports.models import ReportKind, ReportStatus
from reports.services import parse_moment, report_download, report_render, report_request

KINDS = {kind.replace("_", "-"): kind for kind in ReportKind.values}


class Command(BaseCommand):
    """Render a report in this process, store it like any other, and write the PDF to a file."""

    help = "Render a compliance report to a PDF file (stored and audited like one requested through the API)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--use-case", required=True, help="Slug of the use case.")
        parser.add_argument("--start", help="Start of the period: ISO 8601 date-time with a zone, or a date (UTC).")
        parser.add_argument("--end", help="End of the period (exclusive), same format.")
        parser.add_argument("-o", "--output", required=True, type=Path, help="Where to write the PDF.")
        parser.add_argument("--user", help="Act as this person (their roles are checked); default: the system.")

    def handle(self, *args, **options) -> None:
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"No use case {options['use_case']!r}.")
        actor = Actor.system("manage.py report")
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r}.")
            actor = Actor.for_user(user)
        try:
            report = report_request(actor=actor, use_case=use_case, kind=KINDS[options["kind"]],
                                    start=parse_moment(options["start"], name="start"),
                                    end=parse_moment(options["end"], name="end"), enqueue=False)
            report = report_render(report_id=report.pk)
            if report.status != ReportStatus.READY:
                raise CommandError(f"Report {report.pk} failed: {report.error}")
            content, _ = report_download(actor=actor, report=report)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        options["output"].write_bytes(content)
        self.stdout.write(f"report {report.pk} ({report.kind}) written to {options['output']}: {report.size} bytes, "
                          f"sha256 {report.sha256}, audit chain head {report.chain_head}")

"""`manage.py audit_verify`: walk the audit chain; exit 0 when intact, 1 naming the first bad event."""
import json

from django.core.management.base import BaseCommand, CommandError

from governance.audit import audit_verify_chain


class Command(BaseCommand):
    """Verify the audit log's hash chain."""

    help = "Verify the audit log's hash chain. Exits 0 when intact, 1 at the first event that does not verify."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = audit_verify_chain()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        elif result.ok:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.count} events, head {result.head_hash}"))
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event #{result.first_bad_sequence}: {result.problem} "
                f"({result.count} events verified before it)",
                returncode=1,
            )

"""`manage.py audit_verify`: walk the whole audit chain; exit 0 when intact, 1 listing every break."""
import json

from django.core.management.base import BaseCommand, CommandError

from governance.audit import audit_verify_chain


class Command(BaseCommand):
    """Verify the audit log: every event's bytes, hash, MAC and link, and the signed checkpoints."""

    help = ("Verify the audit log's keyed hash chain against its signed checkpoints. Exits 0 when intact, 1 when "
            "any event or checkpoint does not verify (every break is listed).")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = audit_verify_chain()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            for note in result.notes:
                self.stdout.write(self.style.WARNING(note))
            if result.external_checkpoint:
                anchor = result.external_checkpoint
                self.stdout.write(f"Checked against the external checkpoint of {anchor['tree_size']} events "
                                  f"signed {anchor['timestamp']} by key {anchor['key_id']}.")
            for found in result.breaks:
                where = (f"#{found.first_sequence}" if found.first_sequence == found.last_sequence
                         else f"#{found.first_sequence}–#{found.last_sequence}") if found.first_sequence else "-"
                self.stdout.write(self.style.ERROR(f"{found.kind} at {where}: {found.detail}"))
            if result.ok:
                self.stdout.write(self.style.SUCCESS(
                    f"Audit chain intact: {result.count} events, head {result.head_hash}"))
        if not result.ok:
            raise CommandError(
                f"Audit chain broken: {len(result.breaks)} break(s), the first at event #{result.first_bad_sequence} "
                f"({result.problem}); {result.count} events checked", returncode=1)

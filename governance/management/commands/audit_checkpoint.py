"""`manage.py audit_checkpoint`: sign a checkpoint of the audit chain now, or print the public key to verify one."""
import json

from django.core.management.base import BaseCommand, CommandError

from driftgate.errors import ApplicationError
from governance.auditlog.checkpoints import audit_checkpoint_create, audit_consistency_proof, checkpoint_document
from governance.auditlog.keys import public_key_pem


class Command(BaseCommand):
    """Sign a checkpoint on demand (the beat schedule does it every few minutes when the chain grew)."""

    help = ("Sign a checkpoint of the audit chain and write it to every external sink. --public-key prints the "
            "PEM that driftgate-verify and auditors need; --consistency A B prints the proof that B extends A.")

    def add_arguments(self, parser):
        parser.add_argument("--public-key", action="store_true", help="Print the checkpoint public key (PEM).")
        parser.add_argument("--consistency", nargs=2, type=int, metavar=("FIRST", "SECOND"),
                            help="Print the consistency proof between two stored checkpoints' tree sizes.")

    def handle(self, *args, **options):
        if options["public_key"]:
            self.stdout.write(public_key_pem(), ending="")
            return
        try:
            if options["consistency"]:
                first, second = options["consistency"]
                self.stdout.write(json.dumps(audit_consistency_proof(first=first, second=second), indent=1))
                return
            checkpoint = audit_checkpoint_create(force=True)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self.stdout.write(json.dumps(checkpoint_document(checkpoint), indent=1))

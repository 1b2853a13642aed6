"""`manage.py login_unlock`: lift a sign-in lockout of an account and/or an address, audited."""
from django.core.management.base import BaseCommand, CommandError

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.services.login_lockout import login_unlock


class Command(BaseCommand):
    """Lift a sign-in lockout."""

    help = "Lift the sign-in lockout of --username and/or --ip (both given: only that pair)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=None, help="The locked account.")
        parser.add_argument("--ip", default=None, help="The locked client address.")

    def handle(self, *args, **options):
        try:
            removed = login_unlock(actor=Actor.system("login_unlock"), username=options["username"],
                                   ip_address=options["ip"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"Unlocked: {removed} attempt record(s) removed.")

"""`manage.py token_create`: create a scoped API token for a machine and print it once."""
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from driftgate.models import TokenScope
from governance.services.tokens import api_token_create


class Command(BaseCommand):
    """Create an API token."""

    help = "Create a hashed, scoped API token for USER and print the raw token once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the token acts for (its roles apply).")
        parser.add_argument("--name", required=True, help="A name to recognise the token by, e.g. ci-pipeline.")
        parser.add_argument("--scope", action="append", dest="scopes", required=True, choices=TokenScope.values,
                            help="Repeat for several scopes.")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days (default: never).")

    def handle(self, *args, **options):
        expires_at = timezone.now() + timedelta(days=options["days"]) if options["days"] else None
        try:
            token, raw = api_token_create(actor=Actor.system("token_create"), owner_username=options["user"],
                                          name=options["name"], scopes=options["scopes"], expires_at=expires_at)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stderr.write(f"Token {token.name!r} for {options['user']} with scopes {', '.join(token.scopes)}. "
                          "Store it now; it is not shown again.")
        self.stdout.write(raw)

"""`manage.py token_create`: create a scoped API token for a machine and print it once."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from driftgate.models import TokenScope
from governance.services.tokens import api_token_create, machine_user_ensure


class Command(BaseCommand):
    """Create an API token."""

    help = "Create a hashed, scoped API token for USER and print the raw token once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the token acts for (its roles apply).")
        parser.add_argument("--name", required=True, help="A name to recognise the token by, e.g. ci-pipeline.")
        parser.add_argument("--scope", action="append", dest="scopes", required=True, choices=TokenScope.values,
                            help="Repeat for several scopes.")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days (default: never).")
        parser.add_argument("--create-user", action="store_true",
                            help="Create USER first if missing, as a machine user that cannot sign in with a password.")
        parser.add_argument("--use-case", default=None, help="With --role: give USER this role on the use case.")
        parser.add_argument("--role", default=None, help="With --use-case: the role, e.g. viewer or platform_owner.")

    def handle(self, *args, **options):
        expires_at = timezone.now() + timedelta(days=options["days"]) if options["days"] else None
        try:
            if options["create_user"] or options["role"] or options["use_case"]:
                if not options["create_user"] and not get_user_model().objects.filter(username=options["user"]).exists():
                    raise CommandError(f"unknown_user: no user {options['user']!r}; add --create-user to create it.")
                _, created = machine_user_ensure(actor=Actor.system("token_create"), username=options["user"],
                                                 use_case_slug=options["use_case"], role=options["role"])
                if created:
                    self.stderr.write(f"Created the machine user {options['user']!r} (no password sign-in).")
            token, raw = api_token_create(actor=Actor.system("token_create"), owner_username=options["user"],
                                          name=options["name"], scopes=options["scopes"], expires_at=expires_at)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stderr.write(f"Token {token.name!r} for {options['user']} with scopes {', '.join(token.scopes)}. "
                          "Store it now; it is not shown again.")
        self.stdout.write(raw)

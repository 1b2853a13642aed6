"""`manage.py use_case_create --slug SLUG --name NAME --purpose TEXT ... [--as USERNAME]`: register a use case."""
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.errors import ApplicationError
from governance.models import Approach, RegulatoryScope, RiskTier
from governance.services.inventory import use_case_create
from monitoring.management.options import actor_option, application_error


class Command(BaseCommand):
    """Register a use case in pilot through the inventory service (audited); `--as` makes that person its owner."""

    help = "Register a use case (stage pilot). With --as USERNAME that person acts and becomes product owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="URL name, e.g. claims-assistant")
        parser.add_argument("--name", required=True, help="Human name")
        parser.add_argument("--purpose", required=True, help="What the system is for")
        parser.add_argument("--approach", required=True, choices=Approach.values)
        parser.add_argument("--base-model", required=True, help="Base model, e.g. llama-3.1-8b")
        parser.add_argument("--risk-tier", required=True, choices=RiskTier.values)
        parser.add_argument("--scope", action="append", default=[], choices=RegulatoryScope.values,
                            help="Regulatory scope (repeat for several)")
        parser.add_argument("--as", dest="as_user", help="Username acting (default: the system)")
        parser.add_argument("--json", action="store_true", help="Print the use case as JSON")

    def handle(self, *args, **options) -> None:
        actor = actor_option(options["as_user"], command="use_case_create")
        try:
            use_case = use_case_create(actor=actor, slug=options["slug"], name=options["name"],
                                       purpose=options["purpose"], approach=options["approach"],
                                       base_model=options["base_model"], risk_tier=options["risk_tier"],
                                       regulatory_scopes=options["scope"])
        except ApplicationError as exc:
            raise application_error(exc) from exc
        if use_case is None:
            raise CommandError("The use case was not created.")
        data = {"slug": use_case.slug, "name": use_case.name, "stage": use_case.stage,
                "risk_tier": use_case.risk_tier, "regulatory_scopes": use_case.regulatory_scopes}
        self.stdout.write(json.dumps(data, indent=2) if options["json"] else
                          f"use case {use_case.slug} created in stage {use_case.stage}")

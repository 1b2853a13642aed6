"""`manage.py model_version_register --use-case SLUG --label L --base-model M --adapter-method X [--activate]`."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.errors import ApplicationError
from governance.models import AdapterMethod, UseCase
from governance.services.inventory import model_version_activate, model_version_register
from monitoring.management.options import actor_option, application_error


def _evaluation(value: str | None) -> dict:
    """Read `--evaluation` as inline JSON or, with a leading @, from a file."""
    if not value:
        return {}
    text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--evaluation is not JSON: {exc}") from exc
    return data


class Command(BaseCommand):
    """Register a model version with its lineage and evaluation (audited), and optionally put it in service."""

    help = "Register a model version of a use case; --activate makes it the one in service (needs an evaluation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="Use case slug")
        parser.add_argument("--label", required=True, help="Version label, as traffic records name it")
        parser.add_argument("--base-model", required=True)
        parser.add_argument("--adapter-method", required=True, choices=AdapterMethod.values)
        parser.add_argument("--training-data-ref", default="", help="Where the training data lives")
        parser.add_argument("--training-data-sha256", default="", help="SHA-256 of the training data")
        parser.add_argument("--evaluation", help='JSON or @file: {"task_metrics": {...}, '
                                                 '"general_capability_regression": -0.01}')
        parser.add_argument("--activate", action="store_true", help="Make it the version in service")
        parser.add_argument("--as", dest="as_user", required=True,
                            help="Username acting: a platform owner of the use case (the audit names them)")

    def handle(self, *args, **options) -> None:
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"Unknown use case {options['use_case']!r}.")
        actor = actor_option(options["as_user"], command="model_version_register")
        try:
            version = model_version_register(
                actor=actor, use_case=use_case, label=options["label"], base_model=options["base_model"],
                adapter_method=options["adapter_method"], training_data_ref=options["training_data_ref"],
                training_data_sha256=options["training_data_sha256"], evaluation=_evaluation(options["evaluation"]))
            if options["activate"]:
                version = model_version_activate(actor=actor, model_version=version)
        except ApplicationError as exc:
            raise application_error(exc) from exc
        self.stdout.write(f"model version {version.label} of {use_case.slug}: {version.status}")

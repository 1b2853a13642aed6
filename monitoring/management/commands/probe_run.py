"""`manage.py probe_run --use-case SLUG [--model-version LABEL] [--target model|base] [--queue] [--json]`."""
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.models import ModelVersion, UseCase
from monitoring.models import EndpointTarget, ProbeRun, ProbeTrigger
from monitoring.services.probe_runs import probe_run_execute
from monitoring.services.probes import probe_run_request


def probe_run_as_dict(run: ProbeRun) -> dict:
    """The run in the command's JSON shape: what ran, pass rates, comparisons, flaky items, severity."""
    return {
        "run": run.pk, "use_case": run.use_case.slug, "model_version": run.model_version.label,
        "target": run.target, "status": run.status, "error": run.error or None,
        "sets": {key: number for key, number in run.set_versions.values_list("golden_set__key", "number")},
        "summary": run.summary, "comparisons": run.comparisons, "flaky_items": run.flaky_items,
        "severity": run.signal_run.severity if run.signal_run else None,
    }


def _rate(row: dict) -> str:
    if row.get("pass_rate") is None:
        return "—"
    low, high = row["wilson_95"]
    return f"{100 * row['pass_rate']:.1f}% [{100 * low:.1f}–{100 * high:.1f}]"


class Command(BaseCommand):
    """Probe a model version now, in this process (or only queue it with --queue)."""

    help = "Run the use case's golden sets against a model version's endpoint and print what the run reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="Use case slug")
        parser.add_argument("--model-version", help="Version label (default: the newest candidate or active one)")
        parser.add_argument("--target", choices=EndpointTarget.values, default=EndpointTarget.MODEL,
                            help="model: the version's own endpoint; base: its base model's")
        parser.add_argument("--queue", action="store_true", help="Queue the run on the probes queue and return")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table")

    def handle(self, *args, **options) -> None:
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"Unknown use case {options['use_case']!r}.")
        version = None
        if options["model_version"]:
            version = ModelVersion.objects.filter(use_case=use_case, label=options["model_version"]).first()
            if version is None:
                raise CommandError(f"Unknown model version {options['model_version']!r} of {use_case.slug!r}.")
        try:
            run = probe_run_request(actor=Actor.system("probe_run"), use_case=use_case, model_version=version,
                                    target=options["target"], trigger=ProbeTrigger.COMMAND)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["queue"]:
            self.stdout.write(f"Queued probe run {run.pk}.")
            return
        run = probe_run_execute(run_id=run.pk)
        if options["json"]:
            self.stdout.write(json.dumps(probe_run_as_dict(run), indent=2, default=str))
            return
        self._table(run)

    def _table(self, run: ProbeRun) -> None:
        self.stdout.write(f"Probe run {run.pk} of {run.use_case.slug} {run.model_version.label} ({run.target}): "
                          f"{run.status}{' — ' + run.error if run.error else ''}")
        for key, row in run.summary.get("sets", {}).items():
            self.stdout.write(f"  {key} v{row.get('version')}: {_rate(row)} of {row.get('graded', 0)} graded, "
                              f"{row.get('errors', 0)} failed call(s)")
        for name, comparison in run.comparisons.items():
            pooled = comparison["pooled"]
            self.stdout.write(f"  vs {name} run {comparison['run']}: {pooled['lost']} lost, {pooled['gained']} "
                              f"gained of {pooled['paired']}, drop {100 * pooled['drop']:.1f} points, "
                              f"McNemar p = {pooled['p_value']:.3g}")
        if run.flaky_items:
            self.stdout.write("  flaky: " + ", ".join(f"{i['set']}/{i['key']}" for i in run.flaky_items))
        if run.signal_run:
            self.stdout.write(f"  severity: {run.signal_run.severity}")

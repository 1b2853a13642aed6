"""`manage.py drift_run --use-case SLUG --start ISO --end ISO [--json]`: compare one window with the baseline now."""
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.errors import ApplicationError
from governance.models import UseCase
from monitoring.management.options import parse_iso_option
from monitoring.models import DriftRun, RunStatus
from monitoring.services.runs import drift_run_execute, json_safe


def run_as_dict(run: DriftRun) -> dict:
    """Return the run in the command's JSON shape."""
    return json_safe({
        "use_case": run.use_case.slug,
        "window": {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()},
        "n": run.n,
        "status": run.status,
        "severity": run.severity or None,
        # How long the run took from its claim to its stored result (embedding, loading and statistics).
        "duration_ms": run.duration_ms,
        "duration_seconds": None if run.duration_ms is None else run.duration_ms / 1000,
        "signals": [
            {"name": signal.name, "statistic": signal.statistic, "p_value": signal.p_value,
             "p_adjusted": signal.p_adjusted, "effect_size": signal.effect_size, "effect_unit": signal.effect_unit,
             "severity": signal.severity, "details": signal.details}
            for signal in run.signals.order_by("name")
        ],
    })


class Command(BaseCommand):
    """Run drift detection for one window (idempotent: an existing run of the window is shown, not repeated)."""

    help = "Compare a traffic window of a use case with its frozen baseline and print the signals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="Use case slug")
        parser.add_argument("--start", required=True, help="Window start, ISO 8601 with time zone")
        parser.add_argument("--end", required=True, help="Window end (exclusive), ISO 8601 with time zone")
        parser.add_argument("--seed", type=int, default=None, help="Random seed (default: derived from the window)")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table")

    def handle(self, *args, **options) -> None:
        start = parse_iso_option("start", options["start"])
        end = parse_iso_option("end", options["end"])
        assert start is not None and end is not None  # both options are required=True
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"Unknown use case {options['use_case']!r}.")
        try:
            run = drift_run_execute(use_case=use_case, window_start=start, window_end=end, seed=options["seed"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if run.status == RunStatus.RUNNING:
            raise CommandError(f"Another worker is running this window (run {run.pk}); try again later.")
        if run.status != RunStatus.SUCCEEDED:
            self.stderr.write(f"Run {run.pk} {run.status}: {run.error}")
        data = run_as_dict(run)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._table(run, data)

    def _table(self, run: DriftRun, data: dict) -> None:
        self.stdout.write(f"{data['use_case']}  {data['window']['start']} – {data['window']['end']}  "
                          f"n={data['n']}  severity={data['severity'] or run.status}")
        if not data["signals"]:
            return
        header = f"{'signal':<16} {'statistic':>10} {'p':>9} {'p_holm':>9} {'effect':>9}  {'unit':<22} severity"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for signal in data["signals"]:
            p_adjusted = "—" if signal["p_adjusted"] is None else f"{signal['p_adjusted']:.2e}"
            self.stdout.write(f"{signal['name']:<16} {signal['statistic']:>10.4g} {signal['p_value']:>9.2e} "
                              f"{p_adjusted:>9} {signal['effect_size']:>9.4f}  {signal['effect_unit']:<22} "
                              f"{signal['severity']}")

"""`manage.py policy_configure --use-case SLUG --as USERNAME [--window-hours H] [--tier NAME=REVIEW,STOP] ...`."""
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.errors import ApplicationError
from governance.models import UseCase
from monitoring.management.options import actor_option, application_error
from monitoring.models import MonitoringPolicy
from monitoring.selectors.power import detectable_share
from monitoring.services.policies import policy_configure, policy_defaults, policy_view


def _tier(value: str) -> tuple[str, tuple[float, float]]:
    """Parse NAME=REVIEW,STOP."""
    name, _, pair = value.partition("=")
    try:
        review, stop = (float(part) for part in pair.split(","))
    except ValueError as exc:
        raise CommandError(f"--tier {value!r}: write NAME=REVIEW,STOP, e.g. prompt_drift=0.05,0.15") from exc
    return name.strip(), (review, stop)


def _cap(value: str) -> tuple[str, str]:
    """Parse NAME=SEVERITY."""
    name, _, severity = value.partition("=")
    if not severity:
        raise CommandError(f"--max-severity {value!r}: write NAME=review or NAME=stop")
    return name.strip(), severity.strip()


class Command(BaseCommand):
    """Create or change a use case's monitoring policy through the policy service (audited before/after).

    Options not given keep the current policy's value (or the seed default for a use case without one).
    """

    help = "Configure how a use case is monitored: window, sample size, alpha, tiers, caps, automatic halt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="Use case slug")
        parser.add_argument("--as", dest="as_user", required=True,
                            help="Username acting: a platform or governance owner of the use case")
        parser.add_argument("--window-hours", type=int, help="Hours per drift window")
        parser.add_argument("--sample-size", type=int, help="Records sampled per window")
        parser.add_argument("--alpha", type=float, help="Significance level after Holm (default 0.01)")
        parser.add_argument("--tier", action="append", default=[], type=_tier, metavar="NAME=REVIEW,STOP",
                            help="Effect tiers of a signal (repeat for several)")
        parser.add_argument("--max-severity", action="append", default=[], type=_cap, metavar="NAME=SEVERITY",
                            help="Highest severity a signal may raise (repeat for several)")
        parser.add_argument("--material-degradation", type=float, help="Relative quality drop that is material")
        parser.add_argument("--embedding-tier", choices=["default", "static"],
                            help="Embedding model of the next baseline (static: run embeddings_distill_static first)")
        halt = parser.add_mutually_exclusive_group()
        halt.add_argument("--auto-halt", dest="auto_halt", action="store_true", default=None)
        halt.add_argument("--no-auto-halt", dest="auto_halt", action="store_false")
        enabled = parser.add_mutually_exclusive_group()
        enabled.add_argument("--enable", dest="enabled", action="store_true", default=None)
        enabled.add_argument("--disable", dest="enabled", action="store_false")
        parser.add_argument("--json", action="store_true", help="Print the policy as JSON")

    def handle(self, *args, **options) -> None:
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"Unknown use case {options['use_case']!r}.")
        actor = actor_option(options["as_user"], command="policy_configure")
        current = MonitoringPolicy.objects.filter(use_case=use_case).first() or policy_defaults(use_case=use_case)
        config = json.loads(json.dumps(current.config))
        if options["alpha"] is not None:
            config["alpha"] = options["alpha"]
        config.setdefault("tiers", {}).update({name: list(pair) for name, pair in options["tier"]})
        config.setdefault("max_severity", {}).update(dict(options["max_severity"]))

        def pick(name: str):
            return options[name] if options[name] is not None else getattr(current, name)

        try:
            policy = policy_configure(
                actor=actor, use_case=use_case, config=config, auto_halt=pick("auto_halt"),
                window_hours=pick("window_hours"), sample_size=pick("sample_size"),
                material_degradation=pick("material_degradation"), enabled=pick("enabled"),
                ingest_rate_per_minute=current.ingest_rate_per_minute, embedding_tier=pick("embedding_tier"))
        except ApplicationError as exc:
            raise application_error(exc) from exc
        data = {**policy_view(policy), "detectable_share": detectable_share(sample_size=policy.sample_size)}
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        share = data["detectable_share"]["new_topic"]
        self.stdout.write(f"policy of {use_case.slug}: {policy.window_hours} h windows of {policy.sample_size} records, "
                          f"alpha {policy.config['alpha']}, auto-halt {'on' if policy.auto_halt else 'off'}, "
                          f"{'enabled' if policy.enabled else 'disabled'}; a new topic is detected 90% of the time "
                          f"from {share:.0%} of a window" if share is not None else "")

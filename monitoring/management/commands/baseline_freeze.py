"""`manage.py baseline_freeze --use-case SLUG --start ISO --end ISO [--sample-size N] [--reason TEXT]`."""
from django.core.management.base import BaseCommand, CommandError, CommandParser

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.models import UseCase
from monitoring.management.options import parse_iso_option
from monitoring.models import Baseline
from monitoring.services.baselines import MAX_BASELINE_RECORDS, baseline_build, baseline_freeze


def _describe(baseline: Baseline) -> list[str]:
    summary = baseline.summary
    scores, feedback = summary.get("score_stats", {}), summary.get("feedback_stats", {})
    clusters = summary.get("response_clusters")
    lines = [
        f"baseline {baseline.pk} of {baseline.use_case.slug}: {baseline.status}",
        f"  range        {baseline.start.isoformat()} – {baseline.end.isoformat()}",
        f"  records      {baseline.n_records} sampled of {summary.get('records_in_range')} in range; "
        f"{summary.get('distinct_prompts')} distinct prompts, {summary.get('distinct_responses')} distinct responses",
        f"  model        {baseline.embedding_model}"
        + (f", model version {baseline.model_version.label}" if baseline.model_version else ""),
        f"  clusters     prompts k={len(summary['prompt_clusters']['centroids'])}, "
        + (f"responses k={len(clusters['centroids'])}" if clusters else "responses not clustered"),
        f"  scores       n={scores.get('n', 0)}" + (f", mean {scores['mean']:.4f}, sd {scores['std']:.4f}"
                                                     if scores.get("n") else ""),
        f"  feedback     n={feedback.get('n', 0)}" + (f", positive {feedback['positive_share']:.1%}"
                                                       if feedback.get("n") else ""),
        f"  artifact     sha256 {baseline.artifact_sha256}",
    ]
    if baseline.replaced_by_id:
        lines.append(f"  replaced by  {baseline.replaced_by_id}")
    return lines


class Command(BaseCommand):
    """Build a baseline from a range of traffic and freeze it, as the system; the previous one is replaced."""

    help = "Build and freeze a use case's drift baseline from a time range of its traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="Use case slug")
        parser.add_argument("--start", help="Range start, ISO 8601 with time zone (default: active version's go-live)")
        parser.add_argument("--end", help="Range end (exclusive), ISO 8601 with time zone (default: start + 30 days)")
        parser.add_argument("--sample-size", type=int, default=MAX_BASELINE_RECORDS,
                            help=f"Records to sample from the range (default and maximum {MAX_BASELINE_RECORDS})")
        parser.add_argument("--reason", default="", help="Why; required when a frozen baseline will be replaced")

    def handle(self, *args, **options) -> None:
        start = parse_iso_option("start", options["start"])
        end = parse_iso_option("end", options["end"])
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"Unknown use case {options['use_case']!r}.")
        actor = Actor.system("baseline_freeze")
        try:
            baseline = baseline_build(actor=actor, use_case=use_case, start=start, end=end,
                                      sample_size=options["sample_size"], reason=options["reason"],
                                      progress=lambda line: self.stderr.write(f"  {line}"))
            baseline = baseline_freeze(actor=actor, baseline=baseline, reason=options["reason"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        baseline = Baseline.objects.defer("artifact").select_related("use_case", "model_version").get(pk=baseline.pk)
        self.stdout.write("\n".join(_describe(baseline)))

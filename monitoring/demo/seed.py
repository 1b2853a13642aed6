"""The monitoring half of the demo: 30 days of traffic, a frozen baseline and hourly runs over the last 7 days
with a drift episode, all through the services the workers use.

Timeline (hours before the seed's end hour E, which is the hour the traffic was first generated in):
- E−30 d … E−8 d: the pilot team's traffic (a sixth of the later volume); the baseline is built from it and frozen.
- E−8 d: the assistant is rolled out to every billing team.
- E−7 d … E: one drift run per hour, as the hourly schedule would have made them.
- E−110 h … E−108 h: invoices start going out as e-invoices and two in five questions are about the new
  format: prompt drift reaches review (input drift is capped at review); the platform owner triages the first
  alerts as a legitimate change and leaves the newest in the queue.
- E−6 h … E−4 h: answers degrade (retrieval of account data fails for a quarter of the questions): the quality
  drop reaches stop and the policy halts the use case; the serving layer honours the halt within the hour, so
  the last four hours have no traffic and their runs are skipped (too few records).
Elsewhere the week is ordinary traffic, so an alert there is a false alarm at the rate the tests allow (about one
in a hundred runs); those stay open in the review queue.

Idempotent like the rest of the seed: each step looks for what an earlier run made.
"""
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from driftgate.actors import Actor
from governance.models import UseCase
from monitoring.demo.texts import exchange
from monitoring.drift import Policy
from monitoring.models import (
    Alert,
    AlertStatus,
    BaselineStatus,
    DriftRun,
    MonitoringPolicy,
    ProbePolicy,
    Severity,
    TrafficRecord,
)
from monitoring.selectors.baselines import frozen_baseline
from monitoring.services.alerts import alert_triage
from monitoring.services.baselines import baseline_build, baseline_freeze
from monitoring.services.policies import policy_configure
from monitoring.services.probes import probe_policy_configure
from monitoring.services.runs import drift_run_execute
from monitoring.services.traffic import traffic_ingest

logger = logging.getLogger(__name__)

TRAFFIC_DAYS = 30
BASELINE_DAYS = 22
RUN_DAYS = 7
SEED = 20251124
# Records per hour after the rollout: busiest around midday, never below the 200 a run needs, about 6,200 a day.
HOURLY_VOLUME = (225, 222, 222, 225, 228, 232, 240, 252, 268, 285, 295, 300, 298, 295, 290, 282, 270, 262, 255,
                 248, 242, 236, 232, 228)
# Before the rollout to every team (8 days before E) the assistant served one team, a sixth of the volume.
PILOT_SHARE = 1 / 6
ROLLOUT_HOURS_BEFORE_END = 8 * 24
NEW_TOPIC_HOURS = range(108, 111)     # hours before E
NEW_TOPIC_SHARE = 0.4
QUALITY_DROP_HOURS = range(4, 6)      # hours before E
QUIET_HOURS = range(0, 4)             # after the halt: no traffic
QUALITY_FACTOR = 0.8
FALLBACK_SHARE = 0.25
BATCH = 10_000
TRIAGE_NOTE = ("E-invoicing (EHF/Peppol) went live for business customers this week; the new questions match the "
               "announcement. Expected change in what users ask, answers are correct.")


@dataclass(frozen=True)
class MonitoringDemo:
    """What the monitoring seed left behind, for the summary it prints."""

    records: int
    baseline_id: int
    runs: int
    alerts: dict[str, int]
    halted: bool
    end: datetime


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _episode(hours_before_end: int) -> dict:
    if hours_before_end in NEW_TOPIC_HOURS:
        return {"new_topic_share": NEW_TOPIC_SHARE}
    if hours_before_end in QUALITY_DROP_HOURS:
        return {"quality_factor": QUALITY_FACTOR, "fallback_share": FALLBACK_SHARE}
    return {}


def demo_traffic(*, end: datetime, model_version: str, seed: int = SEED):
    """Yield the demo's traffic records (JSON-ready dicts) for the 30 days before `end`, oldest first."""
    start = end - timedelta(days=TRAFFIC_DAYS)
    hours = int((end - start) / timedelta(hours=1))
    for offset in range(hours):
        hour = start + timedelta(hours=offset)
        before_end = hours - 1 - offset
        if before_end in QUIET_HOURS:
            continue
        episode = _episode(before_end)
        # A generator per hour, seeded by the hour's place before the end: the volume follows the clock's hour of day,
        # so one shared stream would give every later hour other texts depending on the hour the seed runs in.
        rng = random.Random(f"{seed}:{before_end}")
        # The pilot team alone until the last eight days, then every billing team: the hourly runs of the last week
        # see the full volume, and the month stays quick to seed.
        scale = PILOT_SHARE if before_end >= ROLLOUT_HOURS_BEFORE_END else 1.0
        volume = int(HOURLY_VOLUME[hour.hour] * scale * rng.uniform(0.95, 1.1))
        for index in range(volume):
            item = exchange(rng, **episode)
            moment = hour + timedelta(seconds=rng.randrange(3600))
            record = {"external_id": f"demo-{hour:%Y%m%d%H}-{index:04d}", "timestamp": moment.isoformat(),
                      "model_version": model_version, "prompt": item.prompt, "response": item.response,
                      "score": item.score, "segment": item.segment}
            if item.feedback is not None:
                record["feedback"] = item.feedback
            yield record


def _ingest(*, use_case: UseCase, end: datetime, model_version: str) -> int:
    """Post the traffic through the ingestion service in batches, as the serving layer would."""
    actor, accepted = Actor.system("demo_seed"), 0
    batch: list[dict] = []

    def flush() -> int:
        body = "\n".join(json.dumps(record) for record in batch).encode("utf-8")
        batch.clear()
        result = traffic_ingest(actor=actor, use_case=use_case, body=body, content_type="application/x-ndjson")
        if result.rejected:
            raise RuntimeError(f"the demo traffic was rejected: {result.errors[:3]}")
        return result.accepted

    for record in demo_traffic(end=end, model_version=model_version):
        batch.append(record)
        if len(batch) == BATCH:
            accepted += flush()
    if batch:
        accepted += flush()
    return accepted


def seed_monitoring(*, use_case: UseCase, platform_owner, model_version: str,
                    now: datetime | None = None) -> MonitoringDemo:
    """Create the policy, traffic, baseline, hourly runs and the triage of the demo's drift episode."""
    owner = Actor.for_user(platform_owner)
    if not MonitoringPolicy.objects.filter(use_case=use_case).exists():
        # Thumbs are sparse (about 45 an hour), so the demo's policy lets feedback ask for a review but not halt;
        # the evaluator score of every answer (quality_drop) may stop the use case.
        config = Policy().to_dict()
        config["max_severity"]["feedback_drop"] = Severity.REVIEW.value
        policy_configure(actor=owner, use_case=use_case, config=config, auto_halt=True, window_hours=1,
                         sample_size=5000, material_degradation=0.10, enabled=True)
    if not ProbePolicy.objects.filter(use_case=use_case).exists():
        # The demo has no chat endpoint to probe: the platform owner switches probing off (an audited policy
        # change), and gate 2's probes criterion says so instead of waiting for runs that cannot happen.
        probe_policy_configure(actor=owner, use_case=use_case, values={"enabled": False})
    first = TrafficRecord.objects.filter(use_case=use_case).order_by("timestamp").values_list("hour", flat=True).first()
    if first is None:
        end = _hour(now or timezone.now())
        _ingest(use_case=use_case, end=end, model_version=model_version)
    else:
        end = first + timedelta(days=TRAFFIC_DAYS)
    start = end - timedelta(days=TRAFFIC_DAYS)

    baseline = frozen_baseline(use_case=use_case)
    if baseline is None:
        built = use_case.baselines.filter(status=BaselineStatus.BUILDING).exclude(artifact_sha256="").first()
        built = built or baseline_build(actor=owner, use_case=use_case, start=start,
                                        end=start + timedelta(days=BASELINE_DAYS), sample_size=10_000)
        baseline = baseline_freeze(actor=owner, baseline=built)

    for offset in range(RUN_DAYS * 24, 0, -1):
        window_start = end - timedelta(hours=offset)
        drift_run_execute(use_case=use_case, window_start=window_start, window_end=window_start + timedelta(hours=1))

    episode_start = end - timedelta(hours=max(NEW_TOPIC_HOURS) + 1)
    episode_alerts = list(Alert.objects.filter(
        use_case=use_case, severity=Severity.REVIEW, run__window_start__gte=episode_start,
        run__window_start__lt=end - timedelta(hours=min(NEW_TOPIC_HOURS))).order_by("run__window_start"))
    # The newest alert of the episode stays in the review queue for a person to triage.
    for alert in episode_alerts[:-1] if len(episode_alerts) > 1 else episode_alerts:
        if alert.status == AlertStatus.OPEN:
            alert_triage(actor=owner, alert=alert, verdict="legitimate_change", resolution="none", note=TRIAGE_NOTE)

    use_case.refresh_from_db()
    alerts = Alert.objects.filter(use_case=use_case)
    return MonitoringDemo(
        records=TrafficRecord.objects.filter(use_case=use_case).count(), baseline_id=baseline.pk,
        runs=DriftRun.objects.filter(use_case=use_case).count(),
        alerts={"review": alerts.filter(severity=Severity.REVIEW).count(),
                "stop": alerts.filter(severity=Severity.STOP).count(),
                "open": alerts.filter(status=AlertStatus.OPEN).count()},
        halted=use_case.halted, end=end)


def demo_step(*, use_case: UseCase, users: dict, base_url: str) -> list[str]:
    """The `demo_seed` step of monitoring: seed it and say what the demo now shows."""
    version = use_case.model_versions.order_by("created_at").values_list("label", flat=True).first()
    assert version is not None  # governance's demo step registered the model versions before this one
    demo = seed_monitoring(use_case=use_case, platform_owner=users["pete"], model_version=version)
    return [
        f"Monitoring: {demo.records:,} traffic records over {TRAFFIC_DAYS} days, baseline {demo.baseline_id} frozen, "
        f"{demo.runs} hourly runs; {demo.alerts['review']} review and {demo.alerts['stop']} stop alerts "
        f"({demo.alerts['open']} open); use case {'halted' if demo.halted else 'not halted'}.",
        f"Monitoring page: {base_url}/use-cases/{use_case.slug}/monitoring/",
        f"Review queue:    {base_url}/alerts/",
    ]

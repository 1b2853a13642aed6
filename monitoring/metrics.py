"""Monitoring's Prometheus series, read from the database on each scrape (registered in `MonitoringConfig.ready`).

Labels are use case slugs and the engine's own signal names, nothing a person types: one series per use case
and signal, so cardinality grows with the inventory and never with traffic. Four queries per scrape whatever
the number of use cases (benchmarks/bench_metrics.py measures it).
"""
from collections.abc import Iterator

from django.db.models import OuterRef, Subquery
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from governance.models import UseCase
from monitoring.drift import SIGNAL_NAMES
from monitoring.models import DriftRun, DriftSignal, RunStatus, Severity, TrafficIngestCount

# Severity as a number, so a Prometheus rule can compare it (`>= 2` is a stop).
SEVERITY_LEVELS: dict[str, int] = {Severity.OK: 0, Severity.REVIEW: 1, Severity.STOP: 2}


class MonitoringCollector(Collector):
    """Per use case: halted, the last finished run (severity, duration, each signal), traffic counted at ingest."""

    def collect(self) -> Iterator[Metric]:
        last_run = (DriftRun.objects.filter(use_case=OuterRef("pk"), status=RunStatus.SUCCEEDED)
                    .order_by("-window_end", "-id").values("pk")[:1])
        use_cases = list(UseCase.objects.annotate(last_run_id=Subquery(last_run))
                         .values_list("pk", "slug", "halted", "last_run_id").order_by("slug"))
        slugs = {pk: slug for pk, slug, _, _ in use_cases}

        halted = GaugeMetricFamily("driftgate_use_case_halted", "1 while the use case is halted.",
                                   labels=["use_case"])
        for _, slug, is_halted, _ in use_cases:
            halted.add_metric([slug], 1.0 if is_halted else 0.0)
        yield halted

        yield from self._runs({run_id: slug for _, slug, _, run_id in use_cases if run_id is not None})
        yield from self._traffic(slugs)

    def _runs(self, slug_of_run: dict[int, str]) -> Iterator[Metric]:
        severity = GaugeMetricFamily("driftgate_drift_run_severity", "Severity of the last finished drift run "
                                     "(0 ok, 1 review, 2 stop).", labels=["use_case"])
        duration = GaugeMetricFamily("driftgate_drift_run_duration_seconds", "How long the last finished drift run "
                                     "took.", labels=["use_case"])
        window_end = GaugeMetricFamily("driftgate_drift_run_window_end_timestamp_seconds", "End of the window the "
                                       "last finished drift run compared (Unix time).", labels=["use_case"])
        runs = DriftRun.objects.filter(pk__in=slug_of_run).values_list("pk", "severity", "duration_ms", "window_end")
        for run_id, level, duration_ms, end in runs:
            slug = slug_of_run[run_id]
            severity.add_metric([slug], float(SEVERITY_LEVELS.get(level, 0)))
            if duration_ms is not None:
                duration.add_metric([slug], duration_ms / 1000)
            window_end.add_metric([slug], end.timestamp())
        yield from (severity, duration, window_end)

        effect = GaugeMetricFamily("driftgate_drift_signal_effect_size", "Effect size of each signal of the last "
                                   "finished run, in the signal's own unit.", labels=["use_case", "signal"])
        p_value = GaugeMetricFamily("driftgate_drift_signal_p_value", "p-value of each signal of the last finished "
                                    "run, before Holm correction.", labels=["use_case", "signal"])
        p_adjusted = GaugeMetricFamily("driftgate_drift_signal_p_adjusted", "Holm-adjusted p-value of each signal "
                                       "of the last finished run.", labels=["use_case", "signal"])
        signal_severity = GaugeMetricFamily("driftgate_drift_signal_severity", "Severity of each signal of the last "
                                            "finished run (0 ok, 1 review, 2 stop).", labels=["use_case", "signal"])
        # Only the engine's names become labels: a stored row with any other name is not exported.
        signals = (DriftSignal.objects.filter(run_id__in=slug_of_run, name__in=SIGNAL_NAMES)
                   .values_list("run_id", "name", "effect_size", "p_value", "p_adjusted", "severity")
                   .order_by("run_id", "name"))
        for run_id, name, effect_size, p, p_holm, level in signals:
            labels = [slug_of_run[run_id], name]
            effect.add_metric(labels, effect_size)
            p_value.add_metric(labels, p)
            if p_holm is not None:
                p_adjusted.add_metric(labels, p_holm)
            signal_severity.add_metric(labels, float(SEVERITY_LEVELS.get(level, 0)))
        yield from (effect, p_value, p_adjusted, signal_severity)

    def _traffic(self, slugs: dict[int, str]) -> Iterator[Metric]:
        help_texts = {
            "ingested": "Traffic records stored, counted at ingest (retention never lowers it).",
            "duplicate": "Traffic records refused as already stored (same external_id).",
            "rejected": "Traffic records rejected by validation.",
        }
        families = {kind: CounterMetricFamily(f"driftgate_traffic_records_{kind}", text, labels=["use_case"])
                    for kind, text in help_texts.items()}
        rows = TrafficIngestCount.objects.values_list("use_case_id", "accepted", "duplicate", "rejected")
        for use_case_id, accepted, duplicate, rejected in rows:
            slug = slugs.get(use_case_id)
            if slug is None:
                continue
            for kind, value in (("ingested", accepted), ("duplicate", duplicate), ("rejected", rejected)):
                families[kind].add_metric([slug], float(value))
        yield from families.values()

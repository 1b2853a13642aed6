"""Traffic drawn from a pool of real English sentences, for the drift engine's error-rate tests.

Baselines and windows are drawn *with replacement*, so texts repeat on both sides as FAQ prompts
and retries do in LLM traffic. Some topics are held out of the baseline: drawing window rows from
them simulates users starting to ask about something new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from monitoring.drift import ClusterModel, embedding_drift, fit_clusters, holm, topic_novelty
from monitoring.drift.severity import holm_weights
from tests.textpool import load_pool

# Held-out topics with at least 70 distinct sentences each (debugger 169, string-methods 140,
# formatstrings 75, execmodel 74), semantically close to the rest (all Python documentation),
# which makes them a hard test: a new topic of real traffic is usually farther away.
NEW_TOPICS = ("debugger", "string-methods", "formatstrings", "execmodel")
BASELINE_ROWS = 10_000
WINDOW_ROWS = 2_000
ALPHA = 0.01


@dataclass
class Traffic:
    """Row indices into the pool for one side of a comparison."""

    rows: np.ndarray
    vectors: np.ndarray | None = None

    def groups(self) -> np.ndarray:
        """Text group per record: the pool index, equal for identical texts."""
        return self.rows.astype(np.int64)


class TrafficPool:
    """Draws baselines and windows from the sentence pool."""

    def __init__(self) -> None:
        """Load the pool and split it into known topics and held-out new topics."""
        self.texts, self.topics, self.embeddings = load_pool()
        self.known = np.flatnonzero(~np.isin(self.topics, NEW_TOPICS))
        self.new = {topic: np.flatnonzero(self.topics == topic) for topic in NEW_TOPICS}

    def popularity(self, rng: np.random.Generator, *, faq_texts: int = 0, faq_share: float = 0.0) -> np.ndarray:
        """Skewed text popularity over known texts; optionally a few FAQ texts take a big share."""
        weights = rng.lognormal(0.0, 1.0, len(self.known))
        weights /= weights.sum()
        if faq_texts:
            faq = rng.choice(len(self.known), faq_texts, replace=False)
            weights *= 1.0 - faq_share
            weights[faq] += faq_share / faq_texts
        return weights / weights.sum()

    def topic_popularity(self, rng: np.random.Generator, *, topic_sigma: float = 1.0) -> np.ndarray:
        """Log-normal text popularity times a log-normal factor per topic: some topics are asked about more."""
        topics = self.topics[self.known]
        names = np.unique(topics)
        factor = dict(zip(names, rng.lognormal(0.0, topic_sigma, len(names)), strict=True))
        weights = rng.lognormal(0.0, 1.0, len(self.known)) * np.array([factor[t] for t in topics])
        return weights / weights.sum()

    def zipf_popularity(self, rng: np.random.Generator, *, exponent: float = 1.0) -> np.ndarray:
        """Zipf-weighted popularity over known texts (the r-th most asked text has weight 1 / r^s)."""
        weights = 1.0 / np.arange(1, len(self.known) + 1) ** exponent
        return weights[rng.permutation(len(weights))] / weights.sum()

    def draw_distinct(self, rng: np.random.Generator, n: int, popularity: np.ndarray) -> Traffic:
        """A baseline without repeats: n records of traffic with each text kept once."""
        return Traffic(np.unique(self.draw(rng, n, popularity).rows))

    def draw(self, rng: np.random.Generator, n: int, popularity: np.ndarray) -> Traffic:
        """Draw n records of known topics with replacement."""
        return Traffic(self.known[rng.choice(len(self.known), n, p=popularity)])

    def window(
        self,
        rng: np.random.Generator,
        popularity: np.ndarray,
        *,
        n: int = WINDOW_ROWS,
        new_topic: str | None = None,
        share: float = 0.0,
        bursts: int = 0,
        burst_size: int = 300,
    ) -> Traffic:
        """A window: known traffic, optionally a share from a new topic and retry bursts."""
        rows = self.draw(rng, n, popularity).rows
        start = 0
        if new_topic is not None:
            m = int(round(share * n))
            rows[:m] = rng.choice(self.new[new_topic], m)
            start = m
        if bursts:
            # Retries of texts the baseline never saw: the worst case for a repeat-blind test.
            other = [t for t in NEW_TOPICS if t != new_topic]
            candidates = np.concatenate([self.new[t] for t in other])
            retried = rng.choice(candidates, bursts, replace=False)
            rows[start : start + bursts * burst_size] = np.repeat(retried, burst_size)
        return Traffic(rows)

    def vectors(self, traffic: Traffic) -> np.ndarray:
        """Embeddings of a traffic sample's records (computed once per sample: baselines are reused)."""
        if traffic.vectors is None:
            traffic.vectors = self.embeddings[traffic.rows]
        return traffic.vectors

    def texts_of(self, traffic: Traffic) -> list[str]:
        """Texts of a traffic sample's records."""
        return [self.texts[i] for i in traffic.rows]

    def clusters(self, baseline: Traffic, *, seed: int) -> ClusterModel:
        """Baseline clusters as a freeze would fit them."""
        return fit_clusters(self.vectors(baseline), groups=baseline.groups(), seed=seed)


# Independent baselines per scenario: windows compared with one baseline share its sampling noise, so
# with few baselines one atypical baseline moves a whole scenario's rate.
BASELINES = 10
# Three unseen texts retried 100 times each: 15% of a 2,000-record window is one burst of retries.
BURSTS = {"bursts": 3, "burst_size": 100}


def scenario_popularity(pool: TrafficPool, rng: np.random.Generator, scenario: str) -> np.ndarray:
    """Text popularity of a scenario: log-normal, log-normal with FAQ texts, log-normal by text and topic, or Zipf."""
    if scenario == "zipf":
        return pool.zipf_popularity(rng)
    if scenario in ("topic_lognormal", "baseline_without_repeats_topic_popularity"):
        return pool.topic_popularity(rng)
    if scenario == "faq":
        return pool.popularity(rng, faq_texts=40, faq_share=0.3)
    return pool.popularity(rng)


def run_windows(
    pool: TrafficPool, *, scenario: str, seed: int, windows: int, n: int = WINDOW_ROWS, baselines: int = BASELINES,
    **window_kwargs,
) -> list[dict]:
    """Draw `windows` windows over several baselines and record every prompt test's p-value, the alarm and the
    emerging topics: the error-rate suite's loop, which the benchmarks run on other vectors too."""
    # One thread for BLAS and OpenMP, as run_signals and a freeze hold it: on two busy cores the default
    # threads spin against each other and made the file several times slower.
    with threadpool_limits(limits=1):
        return _windows(pool, scenario=scenario, seed=seed, windows=windows, n=n, baselines=baselines,
                        **window_kwargs)


def _windows(
    pool: TrafficPool, *, scenario: str, seed: int, windows: int, n: int, baselines: int, **window_kwargs
) -> list[dict]:
    """The windows of `run_windows`, computed under its thread limits."""
    results = []
    per_baseline = -(-windows // baselines)
    for b in range(baselines):
        rng = np.random.default_rng([seed, b])
        popularity = scenario_popularity(pool, rng, scenario)
        if scenario.startswith("baseline_without_repeats"):
            # Each text once: the distinct texts of 3,000 records (about 1,100 of the pool's 1,700 known
            # ones; deduplicating all 10,000 would leave the window almost no text the baseline lacks).
            baseline = pool.draw_distinct(rng, 3000, popularity)
        else:
            baseline = pool.draw(rng, BASELINE_ROWS, popularity)
        clusters = pool.clusters(baseline, seed=b)
        for i in range(per_baseline):
            if len(results) == windows:
                break
            kwargs = dict(window_kwargs)
            if kwargs.get("share"):
                kwargs["new_topic"] = NEW_TOPICS[len(results) % len(NEW_TOPICS)]
            window = pool.window(rng, popularity, n=n, **kwargs)
            drift = embedding_drift(
                "prompt_drift",
                pool.vectors(baseline),
                baseline.groups(),
                clusters,
                pool.vectors(window),
                window.groups(),
                seed=i,
            )
            novelty = topic_novelty(
                clusters,
                pool.vectors(window),
                pool.texts_of(window),
                window_groups=window.groups(),
                baseline=pool.vectors(baseline),
                baseline_groups=baseline.groups(),
                seed=i,
            )
            results.append(
                {
                    "classifier": drift.details["classifier_p"],
                    "chi2": drift.details["chi2_p"],
                    "prompt_drift": drift.p_value,
                    "novelty": novelty.p_value,
                    # The run's alarm on prompts: weighted Holm across its two prompt signals, as a run does it.
                    "alarm": min(holm([drift.p_value, novelty.p_value],
                                      weights=holm_weights(["prompt_drift", "topic_novelty"]))),
                    "topic": kwargs.get("new_topic"),
                    "emerging": novelty.details["emerging_topics"],
                }
            )
    return results


# The no-drift scenarios of the error-rate suite: name -> (seed, popularity, window options).
NO_DRIFT = {
    "repeats_on_both_sides": (101, "lognormal", {}),
    "faq_repeats_on_both_sides": (202, "faq", {}),
    "retry_bursts_in_the_window_only": (303, "lognormal", BURSTS),
    "baseline_without_repeats": (404, "baseline_without_repeats", {}),
    "zipf_population_on_both_sides": (505, "zipf", {}),
    # Popularity that varies by topic as well as by text: a test whose null leans on popularity being spread
    # evenly over the embedding space (which texts end up on one side only) fails here first.
    "topic_popularity_on_both_sides": (606, "topic_lognormal", {}),
    "baseline_without_repeats_topic_popularity": (707, "baseline_without_repeats_topic_popularity", {}),
}

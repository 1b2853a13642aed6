"""Statistics of probe runs: pass rates with Wilson intervals, McNemar's exact test, flaky items, signals.

A probe run grades the same items every time, so two runs are compared item by item (paired), not as two
independent proportions: at temperature 0 most items give the same verdict run after run, and only the
discordant items carry information. McNemar's exact test conditions on them: among the n items that passed
in one run and failed in the other, the number lost is Binomial(n, 1/2) when nothing changed (McNemar 1947;
the exact conditional form, as recommended for small counts by Fagerland, Lydersen & Laake 2013, BMC Med Res
Methodol 13:91). Items whose call failed are left out of both the rates and the pairs: a timeout is not a
wrong answer.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from scipy.stats import binom

from monitoring.drift.types import SignalResult

Z_95 = 1.959963984540054
BEHAVIOUR_SIGNAL = "model_behaviour"            # against the previous run of the same model version
BASE_SIGNAL = "model_behaviour_base"            # against the base model on the same items
EFFECT_UNIT = "pass-rate drop"


def wilson_interval(passed: int, n: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a pass rate (Wilson 1927); None when nothing was graded."""
    if n <= 0:
        return None
    if not 0 <= passed <= n:
        raise ValueError("passed must lie in [0, n]")
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(lost: int, gained: int) -> float:
    """One-sided exact McNemar p-value that the second run is worse: P(X >= lost), X ~ Binomial(lost + gained, 1/2)."""
    if lost < 0 or gained < 0:
        raise ValueError("counts must not be negative")
    n = lost + gained
    if n == 0:
        return 1.0
    # sf(k - 1) = P(X >= k); one-sided because only a drop is a regression worth an alert.
    return float(min(1.0, binom.sf(lost - 1, n, 0.5)))


@dataclass(frozen=True)
class RateSummary:
    """A pass rate with its Wilson 95% interval."""

    passed: int
    graded: int
    errors: int

    @property
    def rate(self) -> float | None:
        """Share of graded items that passed."""
        return self.passed / self.graded if self.graded else None

    def to_dict(self) -> dict:
        """JSON shape stored in a run's summary."""
        interval = wilson_interval(self.passed, self.graded)
        return {"passed": self.passed, "graded": self.graded, "errors": self.errors, "pass_rate": self.rate,
                "wilson_95": list(interval) if interval else None}


@dataclass(frozen=True)
class Verdict:
    """One item of a run: which set and category, its stable digest, and passed (True/False) or None (call failed)."""

    set_key: str
    category: str
    digest: str
    passed: bool | None


def summarise(verdicts: Iterable[Verdict]) -> dict:
    """Pass rates overall, per set and per set category, each with a Wilson interval."""
    counts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for verdict in verdicts:
        for cell_key in (("overall",), ("set", verdict.set_key), ("category", verdict.set_key, verdict.category)):
            cell = counts[cell_key]
            if verdict.passed is None:
                cell[2] += 1
            else:
                cell[1] += 1
                cell[0] += int(verdict.passed)
    overall = RateSummary(*counts.get(("overall",), [0, 0, 0])).to_dict()
    by_set: dict[str, dict] = {}
    for key, (passed, graded, errors) in sorted(counts.items()):
        if key[0] == "set":
            by_set[key[1]] = {**RateSummary(passed, graded, errors).to_dict(), "categories": {}}
    for key, (passed, graded, errors) in sorted(counts.items()):
        if key[0] == "category":
            by_set[key[1]]["categories"][key[2]] = RateSummary(passed, graded, errors).to_dict()
    return {"overall": overall, "sets": by_set}


@dataclass(frozen=True)
class PairedComparison:
    """Two runs compared on the items both graded: discordant counts, exact p-value, drop in pass rate."""

    paired: int
    lost: int          # passed before, fails now
    gained: int        # failed before, passes now
    reference_rate: float | None
    candidate_rate: float | None
    p_value: float
    excluded: int = 0  # items left out as known to be flaky

    @property
    def drop(self) -> float:
        """Drop in pass rate on the paired items (positive = worse now)."""
        return (self.lost - self.gained) / self.paired if self.paired else 0.0

    def to_dict(self) -> dict:
        """JSON shape stored in a run's comparisons."""
        return {"paired": self.paired, "lost": self.lost, "gained": self.gained,
                "reference_pass_rate": self.reference_rate, "candidate_pass_rate": self.candidate_rate,
                "drop": self.drop, "p_value": self.p_value, "excluded_flaky": self.excluded}


def compare_paired(reference: Mapping[str, bool | None], candidate: Mapping[str, bool | None], *,
                   exclude: Collection[str] = ()) -> PairedComparison:
    """Compare two runs on the digests both graded (a failed call on either side drops the pair).

    `exclude` names items known to be flaky from earlier runs. A coin-flip item is discordant half the time in
    either direction: it adds only noise to the discordant counts and costs power. The test stays valid as long
    as the exclusion is decided without looking at the run being tested.
    """
    paired = [key for key, passed in candidate.items() if passed is not None and reference.get(key) is not None]
    keys = [key for key in paired if key not in exclude]
    lost = sum(1 for key in keys if reference[key] and not candidate[key])
    gained = sum(1 for key in keys if not reference[key] and candidate[key])
    n = len(keys)
    reference_rate = sum(1 for key in keys if reference[key]) / n if n else None
    candidate_rate = sum(1 for key in keys if candidate[key]) / n if n else None
    return PairedComparison(paired=n, lost=lost, gained=gained, reference_rate=reference_rate,
                            candidate_rate=candidate_rate, p_value=mcnemar_exact(lost, gained),
                            excluded=len(paired) - n)


def compare_by_set(reference: Iterable[Verdict], candidate: Iterable[Verdict], *,
                   exclude: Collection[str] = ()) -> dict:
    """Pooled and per-set paired comparisons of two runs' verdicts."""
    before = {verdict.digest: verdict.passed for verdict in reference}
    now = list(candidate)
    pooled = compare_paired(before, {verdict.digest: verdict.passed for verdict in now}, exclude=exclude)
    sets: dict[str, dict] = {}
    for set_key in sorted({verdict.set_key for verdict in now}):
        mine = {verdict.digest: verdict.passed for verdict in now if verdict.set_key == set_key}
        sets[set_key] = compare_paired(before, mine, exclude=exclude).to_dict()
    return {"pooled": pooled, "sets": sets}


def behaviour_signal(name: str, comparison: PairedComparison, *, details: dict | None = None) -> SignalResult:
    """The "model behaviour" signal of a paired comparison, in the shape the drift policy grades."""
    return SignalResult(name=name, statistic=float(comparison.lost), p_value=comparison.p_value,
                        effect_size=float(comparison.drop), effect_unit=EFFECT_UNIT,
                        details={**comparison.to_dict(), **(details or {})})


def flaky_items(history: Iterable[Mapping[str, str]], *, min_runs: int = 2) -> list[str]:
    """Digests whose answer text differed between runs of the same endpoint on the same item.

    `history` holds one mapping digest -> answer per run (failed calls left out). At temperature 0 with a
    fixed seed a deterministic model repeats itself; an item that does not is noise in every comparison, so
    it is named for the set's owner to fix or drop.
    """
    seen: dict[str, set[str]] = defaultdict(set)
    runs: Counter = Counter()
    for answers in history:
        for digest, answer in answers.items():
            seen[digest].add(" ".join(answer.split()))
            runs[digest] += 1
    return sorted(digest for digest, answers in seen.items() if runs[digest] >= min_runs and len(answers) > 1)

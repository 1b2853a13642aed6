"""What a policy's window can see: the measured smallest shift share detected 90% of the time."""
import json
from functools import lru_cache
from pathlib import Path

from monitoring.drift.power import share_for_window

# Written by benchmarks/power_curves.py from its measured curves (see docs/drift-power.md).
POWER_TABLE = Path(__file__).resolve().parent.parent / "drift" / "power.json"


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(POWER_TABLE.read_text(encoding="utf-8"))


def detectable_share(*, sample_size: int) -> dict:
    """Return, per kind of shift, the smallest share of a `sample_size`-record window detected 90% of the time.

    A window is sampled down to the policy's sample size, so that is the size the statistics see. None means
    the measured curves do not reach 90% at that size within the measured shares (2-20%).
    """
    table = _table()
    sizes = table["window_sizes"]
    shares = {kind: share_for_window(sizes, values, sample_size) for kind, values in table["smallest_share"].items()}
    return {**shares, "window_records": int(sample_size), "detection_rate": table["detection_rate"],
            "alpha": table["alpha"], "source": "docs/drift-power.md"}


def measured_window_sizes() -> list[int]:
    """Return the window sizes the curves were measured at, smallest first."""
    return sorted(int(size) for size in _table()["window_sizes"])

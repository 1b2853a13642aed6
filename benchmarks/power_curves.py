"""Power curves: how often a drift run detects a shift, by shift share, window size and kind of shift.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/power_curves.py [--windows 40] [--baselines 4]

Real English sentences (the test pool of `tests/textpool.py`, Python's reference prose) with the packaged
all-MiniLM-L6-v2 embeddings; 10,000-record baselines and windows drawn with replacement, so texts repeat as
in traffic. A window of n records has a share s of them replaced by the shift:
- new_topic: sentences of a topic the baseline never saw (four held-out topics in turn);
- style: known sentences rewritten as terse, lower-case chat questions ("hey, quick one: ...?");
- language: sentences in other languages (Django's own translations, de/es/fr/it/nb/nl/pt/sv);
- quality_drop: the same prompts, but a share s of answers scores like a failed answer (Beta(3, 7) instead
  of Beta(7, 3)), tested by the quality-drop signal.
"Detected" is what a run alarms on before effect tiers: for the embedding kinds the Holm-combined p of prompt
drift and topic novelty below alpha = 0.01, for quality drop its own p below 0.01.

Writes the curves to benchmarks/results/power_curves.json, the plot to docs/images/drift-power.svg and the
smallest share detected 90% of the time per window size and kind to monitoring/drift/power.json, which the
policy API reads (`monitoring.selectors.power`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from threadpoolctl import threadpool_limits  # noqa: E402

from monitoring.drift import embedding_drift, holm, quality_drop, topic_novelty  # noqa: E402
from monitoring.drift.power import smallest_detected_share  # noqa: E402
from tests.monitoring.drift.traffic import NEW_TOPICS, TrafficPool  # noqa: E402
from tests.textpool import embed_cached  # noqa: E402

WINDOW_SIZES = (500, 1000, 2000, 5000)
SHARES = (0.02, 0.03, 0.05, 0.07, 0.10, 0.15, 0.20)
KINDS = ("new_topic", "style", "language", "quality_drop")
BASELINE_ROWS = 10_000
ALPHA = 0.01
LANGUAGES = ("de", "es", "fr", "it", "nb", "nl", "pt", "sv")
OPENERS = ("hey, quick one:", "so basically", "pls help -", "ok so", "question:")


def foreign_sentences() -> list[str]:
    """Whole sentences from Django's translation catalogues, placeholders and markup left out."""
    import django

    base = Path(django.__file__).parent
    found: set[str] = set()
    for lang in LANGUAGES:
        for path in glob.glob(str(base / "**" / "locale" / lang / "LC_MESSAGES" / "django.po"), recursive=True):
            text = Path(path).read_text(encoding="utf-8")
            for match in re.finditer(r'msgstr "(.+)"', text):
                sentence = match.group(1)
                if len(sentence.split()) >= 6 and not re.search(r"[%{<\\]", sentence):
                    found.add(sentence)
    return sorted(found)


def restyle(sentence: str, index: int) -> str:
    """The same content as a terse lower-case chat question."""
    body = sentence.rstrip(".!?:").lower()
    return f"{OPENERS[index % len(OPENERS)]} {body}?"


class ShiftPool:
    """The sentence pool plus the shifted texts of each kind, with their embeddings."""

    def __init__(self) -> None:
        """Embed (or load from the cache) the style and language variants."""
        self.pool = TrafficPool()
        known_texts = [self.pool.texts[i] for i in self.pool.known]
        self.style_texts = [restyle(text, i) for i, text in enumerate(known_texts)]
        self.style_vectors = embed_cached(self.style_texts)
        self.language_texts = foreign_sentences()
        self.language_vectors = embed_cached(self.language_texts)

    def window(self, rng: np.random.Generator, popularity: np.ndarray, *, n: int, kind: str, share: float,
               index: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Embeddings, text groups and texts of a window with `share` of its records shifted."""
        topic = NEW_TOPICS[index % len(NEW_TOPICS)] if kind == "new_topic" else None
        traffic = self.pool.window(rng, popularity, n=n, new_topic=topic, share=share if topic else 0.0)
        vectors = self.pool.vectors(traffic).copy()
        groups = traffic.groups().copy()
        texts = self.pool.texts_of(traffic)
        m = int(round(share * n))
        if kind in ("style", "language") and m:
            source_vectors = self.style_vectors if kind == "style" else self.language_vectors
            source_texts = self.style_texts if kind == "style" else self.language_texts
            if kind == "style":
                # Restyle the window's own prompts: what users ask stays, how they ask changes.
                positions = np.searchsorted(self.pool.known, traffic.rows[:m])
            else:
                positions = rng.integers(0, len(source_texts), m)
            vectors[:m] = source_vectors[positions]
            # Group ids beyond the pool's so a shifted text never shares a group with a pool text.
            groups[:m] = 1_000_000 * (1 + KINDS.index(kind)) + positions
            for j, p in enumerate(positions):
                texts[j] = source_texts[p]
        return vectors, groups, texts


def detected(shifts: ShiftPool, baseline, clusters, popularity, rng, *, n: int, kind: str, share: float,
             index: int) -> bool:
    """Run the signals a drift run would on one shifted window and say whether it alarms at alpha."""
    pool = shifts.pool
    if kind == "quality_drop":
        scores = rng.beta(7.0, 3.0, BASELINE_ROWS)
        window = rng.beta(7.0, 3.0, n)
        failed = rng.random(n) < share
        window[failed] = rng.beta(3.0, 7.0, int(failed.sum()))
        return quality_drop(scores, window, seed=index).p_value < ALPHA
    vectors, groups, texts = shifts.window(rng, popularity, n=n, kind=kind, share=share, index=index)
    drift = embedding_drift("prompt_drift", pool.vectors(baseline), baseline.groups(), clusters, vectors, groups,
                            seed=index)
    novelty = topic_novelty(clusters, vectors, texts, window_groups=groups, baseline=pool.vectors(baseline),
                            baseline_groups=baseline.groups(), seed=index)
    return min(holm([drift.p_value, novelty.p_value])) < ALPHA


def main(argv: list[str] | None = None) -> int:
    """Measure every curve and write the JSON, the SVG plot and the detectable-share table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=40, help="windows per (kind, size, share) point")
    parser.add_argument("--baselines", type=int, default=4, help="independent baselines the windows rotate over")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "power_curves.json"))
    parser.add_argument("--svg", default=str(ROOT / "docs" / "images" / "drift-power.svg"))
    parser.add_argument("--table", default=str(ROOT / "monitoring" / "drift" / "power.json"))
    args = parser.parse_args(argv)

    started = time.monotonic()
    shifts = ShiftPool()
    pool = shifts.pool
    setups = []
    for b in range(args.baselines):
        rng = np.random.default_rng([2026, b])
        popularity = pool.popularity(rng)
        baseline = pool.draw(rng, BASELINE_ROWS, popularity)
        setups.append((baseline, pool.clusters(baseline, seed=b), popularity))
    curves: dict[str, dict[str, list[float]]] = {kind: {} for kind in KINDS}
    with threadpool_limits(limits=1):
        for kind in KINDS:
            for n in WINDOW_SIZES:
                rates = []
                for share in SHARES:
                    rng = np.random.default_rng([KINDS.index(kind), n, int(share * 1000)])
                    hits = 0
                    for i in range(args.windows):
                        baseline, clusters, popularity = setups[i % len(setups)]
                        hits += detected(shifts, baseline, clusters, popularity, rng, n=n, kind=kind, share=share,
                                         index=i)
                    rates.append(hits / args.windows)
                curves[kind][str(n)] = rates
                print(f"{kind:<13} n={n:<5} " + " ".join(f"{s:.0%}:{r:.0%}" for s, r in zip(SHARES, rates, strict=True)),
                      file=sys.stderr, flush=True)
    table = {
        "alpha": ALPHA,
        "detection_rate": 0.9,
        "window_sizes": list(WINDOW_SIZES),
        "windows_per_point": args.windows,
        "smallest_share": {kind: [smallest_detected_share(SHARES, curves[kind][str(n)]) for n in WINDOW_SIZES]
                           for kind in KINDS},
    }
    result = {"shares": list(SHARES), "window_sizes": list(WINDOW_SIZES), "curves": curves, "table": table,
              "windows_per_point": args.windows, "baselines": args.baselines,
              "seconds": round(time.monotonic() - started, 1), "load_average": os.getloadavg()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.table).write_text(json.dumps(table, indent=2) + "\n")
    Path(args.svg).write_text(plot(curves))
    print(json.dumps(result))
    return 0


def plot(curves: dict[str, dict[str, list[float]]]) -> str:
    """One SVG with a panel per kind of shift, a line per window size, drawn by the reports' chart code."""
    from reports.rendering.charts import line_chart_svg

    panels = []
    for kind in KINDS:
        series = [{"name": f"{n:,} records", "points": [(100 * s, 100 * r) for s, r in zip(SHARES, curves[kind][str(n)], strict=True)]}
                  for n in WINDOW_SIZES]
        panels.append(line_chart_svg(series, title=f"{kind.replace('_', ' ')}: detected % of windows",
                                     y_label="detected %", x_label="shifted share of the window, %",
                                     thresholds=[{"value": 90, "label": "90%"}], y_range=(0, 100),
                                     width=480, height=260))
    width, height = 960, 520
    inner = []
    for i, panel in enumerate(panels):
        x, y = 480 * (i % 2), 260 * (i // 2)
        # Nested <svg> elements keep each panel's own coordinate system and accessible name.
        inner.append(str(panel).replace("<svg ", f'<svg x="{x}" y="{y}" ', 1))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><title>Drift detection power</title>'
            + "".join(inner) + "</svg>\n")


if __name__ == "__main__":
    raise SystemExit(main())

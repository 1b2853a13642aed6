"""What the monitoring page says a window can see, read from the measured power curves (docs/drift-power.md)."""
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.models import DriftRun
from monitoring.selectors.power import detectable_share, measured_window_sizes

# The kinds of shift the curves were measured for, in the order a reader meets them, with what each one means.
KINDS = (
    ("new_topic", gettext_lazy("a new topic")),
    ("language", gettext_lazy("prompts in another language")),
    ("style", gettext_lazy("a new style of writing (same topics, new phrasing)")),
    ("quality_drop", gettext_lazy("a quality drop (answers scoring like failed ones)")),
)


@dataclass(frozen=True)
class Detectable:
    """One kind of shift and the smallest share of a window that is detected (None: not within the curves)."""

    kind: str
    label: str
    share: float | None
    text: str


@dataclass(frozen=True)
class DetectionStatement:
    """What a window of `records` records detects, kind by kind, as the page states it."""

    records: int
    lead: str
    kinds: list[Detectable]


def percent(share: float) -> str:
    """Format a share as a percentage with 3 significant digits, in the reader's number format."""
    return number_format(f"{share * 100:.3g}")


def detection_statements(*, sample_size: int, last_run: DriftRun | None) -> list[DetectionStatement]:
    """State what the policy's window detects; and what the last run's window did, if it held fewer records."""
    statements = [_statement(records=sample_size, lead=_(
        "With windows of %(records)s records (the policy's sample size), a run detects, in %(rate)s%% of windows "
        "at α = %(alpha)s, a shift that makes up this share of the window or more:"))]
    if last_run is not None and 0 < last_run.n < sample_size:
        statements.append(_statement(records=last_run.n, lead=_(
            "The last run's window held only %(records)s records; at that size it detects, in %(rate)s%% of "
            "windows at α = %(alpha)s:")))
    return statements


def _statement(*, records: int, lead: str) -> DetectionStatement:
    shares = detectable_share(sample_size=records)
    smallest = measured_window_sizes()[0]
    kinds = []
    for kind, label in KINDS:
        share = shares.get(kind)
        if share is not None:
            text = _("%(share)s%% of the window") % {"share": percent(share)}
        elif records < smallest:
            text = _("not measured below %(records)s records") % {"records": number_format(smallest, force_grouping=True)}
        else:
            text = _("not detected within the measured shares")
        kinds.append(Detectable(kind=kind, label=str(label), share=share, text=text))
    return DetectionStatement(records=records, kinds=kinds, lead=lead % {
        "records": number_format(records, force_grouping=True),
        "rate": number_format(round(shares["detection_rate"] * 100)), "alpha": f"{shares['alpha']:g}"})

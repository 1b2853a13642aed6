"""Table data for the `reports/_table.html` partial: columns with a layout kind, rows checked against them."""
from collections.abc import Iterable, Sequence

# A column's kind picks its CSS class in report.css: "num" is right-aligned, "hash" is monospace and may break
# anywhere (64 hex digits fit no column), "long" is prose such as prompts or reasons that breaks inside a word
# only when the word does not fit the column; "time" (a date and time) and "code" (an action or state code) never
# break, because a timestamp or a code cut in two is misread.
COLUMN_KINDS = frozenset({"text", "num", "hash", "long", "time", "code"})
# Share of the table a column takes (report.css, th.w-*): a fixed layout otherwise gives every column the same
# width, and a checklist's item text wraps into a tall, narrow column while the status columns stay half empty.
COLUMN_WIDTHS = frozenset({"tiny", "narrow", "wide", "widest"})


def data_table(
    *,
    columns: Sequence[tuple[str, str] | tuple[str, str, str] | str],
    rows: Iterable[Sequence[object]],
    caption: str = "",
    empty: str = "No entries.",
) -> dict:
    """Return the context for `reports/_table.html`; a column is a label, a (label, kind) pair or a (label, kind,
    width) triple, width one of COLUMN_WIDTHS (the columns without one share the rest of the page)."""
    normalised = []
    for column in columns:
        label, kind, width = (column, "text", "") if isinstance(column, str) else (*column, "")[:3]
        if kind not in COLUMN_KINDS:
            raise ValueError(f"column {label!r} has unknown kind {kind!r}; use one of {sorted(COLUMN_KINDS)}")
        if width and width not in COLUMN_WIDTHS:
            raise ValueError(f"column {label!r} has unknown width {width!r}; use one of {sorted(COLUMN_WIDTHS)}")
        normalised.append({"label": label, "kind": kind, "width": f"w-{width}" if width else ""})
    table_rows = []
    for number, row in enumerate(rows, start=1):
        if len(row) != len(normalised):
            # A short row would shift every later cell under the wrong header without anyone noticing.
            raise ValueError(f"row {number} has {len(row)} cells for {len(normalised)} columns")
        table_rows.append([{"value": value, "kind": column["kind"]} for value, column in zip(row, normalised, strict=True)])
    return {"caption": caption, "columns": normalised, "rows": table_rows, "empty": empty}

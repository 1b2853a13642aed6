"""Report rendering core: Django template to PDF/A-3b with embedded data, and vector charts; no database access.

A report builder gathers its facts, then calls render_pdf with a template that extends `reports/base.html`, a
context (use_case, period, generated_at, chain_head, parameters, toc and the template's own keys) and the data
dict that is embedded as JSON; it stores the bytes with sha256_hex of them. Charts (line_chart_svg,
bar_chart_svg) and tables (data_table) are built in Python and placed with the `reports/_chart.html` and
`reports/_table.html` partials.
"""
from reports.rendering.charts import SvgMarkup, bar_chart_svg, downsample_min_max, line_chart_svg
from reports.rendering.pdf import (
    LocalOnlyURLFetcher,
    ReportRenderingError,
    ResourceRefused,
    canonical_json,
    render_html,
    render_pdf,
    sha256_hex,
)
from reports.rendering.tables import data_table

__all__ = [
    "LocalOnlyURLFetcher",
    "ReportRenderingError",
    "ResourceRefused",
    "SvgMarkup",
    "bar_chart_svg",
    "canonical_json",
    "data_table",
    "downsample_min_max",
    "line_chart_svg",
    "render_html",
    "render_pdf",
    "sha256_hex",
]

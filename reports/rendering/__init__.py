"""Report rendering core: Django template to PDF/A-3b with embedded data, and vector charts; no database access."""
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

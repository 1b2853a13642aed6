"""Selectors of the reports: one module per report, each returning a plain dict that is both the template
context and the JSON embedded in the PDF."""

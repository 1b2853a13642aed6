"""Reports: compliance PDFs built from governance and monitoring data."""

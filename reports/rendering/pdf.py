"""Render a report template to a PDF/A-3b file that carries its own data as an embedded JSON attachment.

The report builders only produce a context (for the template) and a data dict (for the attachment); everything
about the file format lives here. Nothing is fetched from the network: every URL the document names must be a
`data:` URL or a file inside the project's `templates/` or `static/` directory.
"""
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from xml.etree import ElementTree

import pydyf
from django.template import loader
from weasyprint import HTML, Attachment
from weasyprint.document import Document, DocumentMetadata
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from driftgate.canonical import canonical_json as canonical_text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"

# PDF/A-3 is the archival profile that allows embedded files of any type (PDF/A-2 allows only PDF/A), so the
# machine-readable data travels inside the archived document; "b" (visual appearance) is the level claimed.
PDF_VARIANT = "pdf/a-3b"
# The same file is also tagged for PDF/UA-1 (ISO 14289-1): a structure tree from the HTML (headings, tables
# with header cells, lists, figures with their text alternative), the language, and the title shown instead of
# the file name, so a screen reader can read the report in order. WeasyPrint writes only one variant's
# identification, so the PDF/UA identification is added to the XMP packet next to PDF/A's.
PDFUA_PART = "1"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PDFUAID = "http://www.aiim.org/pdfua/ns/id/"


class _PdfAAndUaMetadata(DocumentMetadata):
    """Document metadata whose XMP packet identifies PDF/UA-1 next to PDF/A-3b, in the same description."""

    def generate_rdf_metadata(self, variant, version, conformance):
        """Return WeasyPrint's RDF with pdfuaid:part added to the description that carries pdfaid:part."""
        rdf = ElementTree.fromstring(super().generate_rdf_metadata(variant, version, conformance))
        # One rdf:RDF per packet (XMP part 1, 7.4): a second one is ignored by readers such as pikepdf.
        rdf.find(f"{{{_RDF}}}Description").set(f"{{{_PDFUAID}}}part", PDFUA_PART)
        return ElementTree.tostring(rdf, encoding="utf-8")

# Every report states where in the audit trail it was built from (DESIGN.md, "Audit log"); a builder that
# forgets one of these gets an error instead of a cover page with a hole in it.
REQUIRED_CONTEXT_KEYS = ("use_case", "period", "generated_at", "chain_head")

METADATA_KEYS = frozenset({"author", "subject", "keywords", "created"})

_ID_ATTRIBUTE = re.compile(r"""\sid\s*=\s*["']([^"']+)["']""")


class ReportRenderingError(Exception):
    """A report that cannot be rendered as asked: a template, context or resource error, never a user's fault."""


class ResourceRefused(ValueError):
    """A URL the renderer will not fetch: a network scheme or a file outside the allowed directories."""


class LocalOnlyURLFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves `data:` URLs and files under the allowed roots, and refuses the rest."""

    def __init__(self, *, allowed_roots: tuple[Path, ...] = (TEMPLATES_DIR, STATIC_DIR)) -> None:
        # fail_on_errors turns a refusal into an error of the whole rendering: a compliance PDF that silently
        # lacks its stylesheet or an image is worse than no PDF.
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=True)
        self.allowed_roots = tuple(root.resolve() for root in allowed_roots)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource for a `data:` URL or an allowed local file; raise ResourceRefused otherwise."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise ResourceRefused(f"refusing to fetch {url!r}: only file: and data: URLs are allowed")
        if parts.netloc not in ("", "localhost"):
            raise ResourceRefused(f"refusing to fetch {url!r}: file URLs must name a local path")
        # Resolve symlinks and "..": the check must hold for the file actually opened, not for its spelling.
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not any(path.is_relative_to(root) for root in self.allowed_roots):
            raise ResourceRefused(f"refusing to fetch {url!r}: outside the project's templates and static files")
        return super().fetch(url, headers)


def canonical_json(data: Mapping) -> bytes:
    """Return `data` as canonical JSON bytes, serialised exactly as the audit chain serialises what it hashes."""
    return canonical_text(data).encode("utf-8")


def sha256_hex(pdf_bytes: bytes) -> str:
    """Return the hexadecimal SHA-256 of a rendered file, as stored next to it."""
    return hashlib.sha256(pdf_bytes).hexdigest()


def render_html(*, template_name: str, context: Mapping) -> str:
    """Render a report template with Django's autoescaping engine and check that its contents entries resolve."""
    template = loader.get_template(template_name)
    engine = getattr(getattr(template, "template", None), "engine", None)
    # Prompts, evidence and reasons are user text: a backend without autoescaping would let them inject markup.
    if engine is None or not engine.autoescape:
        raise ReportRenderingError(f"{template_name} must be rendered by a Django template engine with autoescape on")
    html = template.render(dict(context))
    anchors = set(_ID_ATTRIBUTE.findall(html))
    missing = [entry["id"] for entry in context.get("toc") or () if entry["id"] not in anchors]
    if missing:
        # target-counter() on a missing anchor prints nothing: the contents would list a section without a page.
        raise ReportRenderingError(f"contents entries without a matching element id: {', '.join(missing)}")
    return html


def render_pdf(
    *,
    template_name: str,
    context: Mapping,
    data: Mapping,
    title: str,
    header: str,
    attachment_name: str = "report-data.json",
    metadata: Mapping | None = None,
) -> bytes:
    """Render `template_name` with `context` to PDF/A-3b bytes with `data` embedded as canonical JSON."""
    missing = [key for key in REQUIRED_CONTEXT_KEYS if key not in context]
    if missing:
        raise ReportRenderingError(f"report context lacks {', '.join(missing)}")
    metadata = dict(metadata or {})
    unknown = set(metadata) - METADATA_KEYS
    if unknown:
        raise ReportRenderingError(f"unknown metadata keys: {', '.join(sorted(unknown))}")
    created = metadata.get("created") or context["generated_at"]
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise ReportRenderingError("the creation time (metadata 'created' or context 'generated_at') must be aware")
    # WeasyPrint writes the attachment's dates with a literal "Z": hand it UTC.
    created = created.astimezone(UTC)

    html = render_html(template_name=template_name, context={**context, "title": title, "header": header})
    fetcher = LocalOnlyURLFetcher()
    attachment = Attachment(
        string=canonical_json(data),
        name=attachment_name,
        description="Report data (canonical JSON)",
        # The report's own time, not the clock at rendering: a re-rendered report states when its data was taken.
        created=created,
        modified=created,
        # PDF/A-3 requires an AFRelationship; "Data" says the file is the information the pages present.
        relationship="Data",
        url_fetcher=fetcher,
    )
    try:
        document = HTML(string=html, base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=fetcher).render()
        document.metadata = _PdfAAndUaMetadata(**vars(document.metadata))
        _apply_metadata(document_metadata=document.metadata, title=title, metadata=metadata, created=created)
        return document.write_pdf(
            pdf_variant=PDF_VARIANT, pdf_tags=True, attachments=[attachment], finisher=_finish_catalog
        )
    except FatalURLFetchingError as error:
        # WeasyPrint raises this BaseException subclass; callers deal in ordinary exceptions.
        raise ReportRenderingError(f"{error}: {error.__cause__}") from error


def _finish_catalog(document: Document, pdf: pydyf.PDF) -> None:
    """Keep one entry per attachment in the associated files; mark the file as tagged and show its title."""
    associated = pdf.catalog.get("AF")
    if associated:
        # WeasyPrint adds each attachment twice, once from the name tree and once from its file specification;
        # an archive validator or a reader listing the associated files should see the data file once.
        associated[:] = list(dict.fromkeys(associated))
    # PDF/UA-1 §7.1: the document is marked as tagged and viewers show the title, not the file name.
    pdf.catalog["MarkInfo"] = pydyf.Dictionary({"Marked": "true"})
    preferences = pdf.catalog.get("ViewerPreferences") or pydyf.Dictionary()
    preferences["DisplayDocTitle"] = "true"
    pdf.catalog["ViewerPreferences"] = preferences


def _apply_metadata(*, document_metadata: DocumentMetadata, title: str, metadata: Mapping, created: datetime) -> None:
    """Copy the report's descriptive metadata (`created` in UTC) into the Info dictionary and XMP packet."""
    timestamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    document_metadata.title = title
    document_metadata.created = timestamp
    document_metadata.modified = timestamp
    document_metadata.generator = "Driftgate"
    if "author" in metadata:
        document_metadata.authors = [str(metadata["author"])]
    if "subject" in metadata:
        document_metadata.description = str(metadata["subject"])
    if "keywords" in metadata:
        document_metadata.keywords = [str(keyword) for keyword in metadata["keywords"]]

"""The renderer fetches nothing from the network and no file outside the project's templates and static files."""
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reports.rendering import LocalOnlyURLFetcher, ReportRenderingError, ResourceRefused, render_pdf
from reports.rendering.pdf import PROJECT_ROOT, TEMPLATES_DIR


@pytest.mark.parametrize(
    "url",
    ["http://example.com/logo.png", "https://example.com/font.woff2", "ftp://example.com/a.css", "//example.com/x"],
)
def test_it_refuses_network_urls(url):
    with pytest.raises(ResourceRefused):
        LocalOnlyURLFetcher().fetch(url)


def test_it_refuses_a_file_outside_templates_and_static():
    with pytest.raises(ResourceRefused):
        LocalOnlyURLFetcher().fetch((PROJECT_ROOT / "pyproject.toml").as_uri())


def test_it_refuses_a_path_that_climbs_out_of_the_templates():
    with pytest.raises(ResourceRefused):
        LocalOnlyURLFetcher().fetch(TEMPLATES_DIR.as_uri() + "/reports/../../pyproject.toml")


def test_it_refuses_a_file_url_naming_another_host():
    with pytest.raises(ResourceRefused):
        LocalOnlyURLFetcher().fetch("file://fileserver/share/report.css")


def test_it_refuses_a_symlink_that_leads_out_of_an_allowed_root(tmp_path):
    root = tmp_path / "templates"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for reports")
    (root / "innocent.css").symlink_to(secret)

    with pytest.raises(ResourceRefused):
        LocalOnlyURLFetcher(allowed_roots=(root,)).fetch((root / "innocent.css").as_uri())


def test_it_serves_the_report_stylesheet():
    response = LocalOnlyURLFetcher().fetch((TEMPLATES_DIR / "reports" / "report.css").as_uri())

    assert b"@page" in response.read()


def test_it_serves_data_urls():
    response = LocalOnlyURLFetcher().fetch("data:text/plain;base64,aGVsbG8=")

    assert response.read() == b"hello"


def test_a_report_naming_a_remote_image_fails_without_sending_a_request(report_templates):
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            """Count the request and answer with nothing."""
            requests.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pixel.png"
        with pytest.raises(ReportRenderingError, match="127.0.0.1"):
            render_pdf(
                template_name="rendering_tests/remote_image.html",
                context={"use_case": "U", "period": "P", "generated_at": datetime(2025, 1, 1, tzinfo=UTC),
                         "chain_head": "0" * 64, "toc": [], "image_url": url},
                data={},
                title="Remote",
                header="U · P",
            )
    finally:
        server.shutdown()
        server.server_close()

    assert requests == []

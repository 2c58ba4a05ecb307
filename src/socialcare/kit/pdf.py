"""HTML to PDF (WeasyPrint) that fetches nothing from the network: a page can only use data: URIs
(charts are embedded) and files shipped inside the socialcare package. A URL smuggled into a report
(a style, an image, an @import) is refused instead of fetched."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import socialcare

PACKAGE_DIR = Path(socialcare.__file__).resolve().parent


class FetchRefused(ValueError):
    pass


def check_url(url: str) -> None:
    """Refuse (FetchRefused) any URL but a data: URI or a file inside the package."""
    parsed = urlparse(url)
    if parsed.scheme == "data":
        return
    if parsed.scheme == "file" and Path(unquote(parsed.path)).resolve().is_relative_to(PACKAGE_DIR):
        return
    raise FetchRefused(f"the PDF renderer fetches nothing outside the package ({parsed.scheme or 'relative'} URL)")


def _fetcher():
    from weasyprint.urls import URLFetcher

    class SafeFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            check_url(url)
            return super().fetch(url, headers)

    return SafeFetcher(allowed_protocols={"data", "file"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_fetcher(), base_url=str(PACKAGE_DIR)).write_pdf()

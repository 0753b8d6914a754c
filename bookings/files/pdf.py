"""HTML to PDF (WeasyPrint) for every document the product prints.

Everything a document needs is inline; only ``data:`` URLs may be read, so rendering never
waits on the network or reads a file a template happened to name, and it renders the same in
a background task, a web request and a test.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """An A4 PDF of ``html`` (the page size is the template's ``@page`` rule)."""
    # Imported here: loading pango is slow and most processes never print a document.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def htmls_to_pdf(htmls: list[str]) -> bytes:
    """One PDF of several documents, each starting on a new page, in the order given."""
    from weasyprint import HTML  # imported here, as above
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    documents = [HTML(string=html, url_fetcher=fetcher).render() for html in htmls]
    if not documents:
        raise ValueError("No documents to print.")
    pages = [page for document in documents for page in document.pages]
    return bytes(documents[0].copy(pages).write_pdf())

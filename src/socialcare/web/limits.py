"""Request body size limits (FastAPI's ``max_body_size``): every route takes at most
``settings.max_body_bytes`` (1 MB: forms and JSON); a route that takes a file says so with
``max_body_size=upload_limit()`` on its decorator (``settings.max_upload_bytes``, 10 MB). A larger
body is answered 413 before it is read (a declared Content-Length at once, a chunked body as soon as
it passes the limit): one user can neither fill the memory nor hold a worker with a huge upload."""

from __future__ import annotations

from socialcare.core.settings import get_settings


def body_limit() -> int:
    return get_settings().max_body_bytes


def upload_limit() -> int:
    return get_settings().max_upload_bytes

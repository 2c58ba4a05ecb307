"""Errors become clear pages (HTML) or problem documents (JSON under /api); never a traceback.

JSON shape: ``{"error": title, "detail": message, "problems": [{"file", "row", "field", "message"}]}``.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcare.core.errors import InvalidInput, SocialcareError, Unauthorized
from socialcare.web.deps import LoginRequired

log = logging.getLogger("socialcare.web")

HTTP_TITLES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please sign in", "Sign in to continue."),
    403: ("Not allowed", "You may not open this page."),
    404: ("Page not found", "There is no page at this address. Check the link, or go back to your home page."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    422: ("Input rejected", "Some of the values sent were not valid."),
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem_json(status: int, title: str, detail: str, problems: list[dict] | None = None, headers=None) -> JSONResponse:
    return JSONResponse(
        {"error": title, "detail": detail, "problems": problems or []}, status_code=status, headers=headers
    )


def error_page(
    request: Request, status: int, title: str, message: str, problems: list[dict] | None = None,
    reference: str | None = None,
) -> Response:
    from socialcare.web.templating import render

    try:
        return render(
            request,
            "error.html",
            {"status": status, "title": title, "message": message, "problems": problems or [], "reference": reference},
            block="error",
            status_code=status,
        )
    except Exception:  # the error page itself failed: still no traceback for the user
        log.exception("error page failed to render")
        return HTMLResponse(
            f"<!doctype html><title>{status}</title><h1>{status}</h1><p>Something went wrong; the error was logged.</p>",
            status_code=status,
        )


def login_url(reason: str, request: Request) -> str:
    nxt = request.url.path
    if request.url.query:
        nxt += "?" + request.url.query
    return f"/login?reason={reason}&next={quote(nxt, safe='')}"


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def _login_required(request: Request, exc: LoginRequired) -> Response:
        url = login_url(exc.reason, request)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(SocialcareError)
    def _socialcare_error(request: Request, exc: SocialcareError) -> Response:
        problems = [p.as_dict() for p in exc.problems] if isinstance(exc, InvalidInput) else []
        if wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
            return problem_json(exc.status_code, exc.title, exc.message, problems, headers)
        if isinstance(exc, Unauthorized):
            return RedirectResponse(login_url("signin", request), status_code=303)
        return error_page(request, exc.status_code, exc.title, exc.message, problems)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title, message = HTTP_TITLES.get(exc.status_code, ("Request refused", "The request was refused."))
        if isinstance(exc.detail, str) and exc.detail and exc.status_code not in (404, 405):
            message = exc.detail
        if wants_json(request):
            return problem_json(exc.status_code, title, message, headers=getattr(exc, "headers", None))
        return error_page(request, exc.status_code, title, message)

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
            problems.append({"file": None, "row": None, "field": ".".join(loc) or None, "message": err.get("msg", "")})
        message = "Some of the values sent were not valid; see the list below."
        if wants_json(request):
            return problem_json(422, "Input rejected", message, problems)
        return error_page(request, 422, "Input rejected", message, problems)

    @app.exception_handler(RecursionError)
    def _too_deep(request: Request, exc: RecursionError) -> Response:
        message = "The request is nested too deeply to read."
        if request.url.path.startswith("/fhir"):
            return JSONResponse({"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "too-costly", "diagnostics": message}]}, status_code=400,
                media_type="application/fhir+json")
        if wants_json(request):
            return problem_json(400, "Bad request", message)
        return error_page(request, 400, "Bad request", message)

    @app.exception_handler(Exception)
    def _server_error(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.error("unhandled error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
        message = f"Something went wrong; the error was logged (reference {reference})."
        if wants_json(request):
            return problem_json(500, "Server error", message)
        return error_page(request, 500, "Something went wrong", message, reference=reference)

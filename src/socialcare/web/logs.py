"""Logging: plain text for a terminal, or one JSON object per line (SOCIALCARE_LOG_FORMAT=json) for a
log pipeline. Every line written while a request is served carries its request id (the caller's
``X-Request-ID`` when it sends a sane one, else a new one), also returned as ``X-Request-ID``."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGING_ENV = "SOCIALCARE_SERVE_LOGGING"  # set by `socialcare serve` for its web worker processes
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("socialcare_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("socialcare.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        for key in ("method", "path", "route", "status", "duration_ms", "client"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return super().format(record)


def configure_logging(settings=None, stream=None) -> None:
    """Install one handler on the root logger (and uvicorn's) in the chosen format."""
    from socialcare.core.settings import get_settings

    settings = settings or get_settings()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format.lower() == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_socialcare", False):
            root.removeHandler(h)
    handler._socialcare = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "huey", "huey.consumer"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("huey").setLevel(logging.WARNING)  # each run is in job_run and on the Jobs page  # socialcare.access says it once, with the request id


def is_configured() -> bool:
    return any(getattr(h, "_socialcare", False) for h in logging.getLogger().handlers)


def uvicorn_log_config() -> dict:
    """uvicorn keeps its hands off logging: configure_logging() already did it."""
    return {"version": 1, "disable_existing_loggers": False}


class RequestContextMiddleware:
    """Request id in, request id out, one access log line and the latency metric per request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            from socialcare.web import metrics

            elapsed = time.perf_counter() - started
            route = metrics.route_template(scope)
            metrics.observe_request(scope.get("method", ""), route, status["code"], elapsed)
            if route not in ("/metrics", "/healthz", "/readyz") and not route.startswith("/static"):
                client = scope.get("client")
                access_log.info(
                    "%s %s %s %.1fms", scope.get("method"), scope.get("path"), status["code"], elapsed * 1000,
                    extra={"method": scope.get("method"), "path": scope.get("path"), "route": route,
                           "status": status["code"], "duration_ms": round(elapsed * 1000, 1),
                           "client": client[0] if client else None})
            request_id.reset(token)

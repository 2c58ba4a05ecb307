"""The home page (one per role, live counts from every domain's ``home_cards``) and a health check."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from socialcare.core.db import savepoint
from socialcare.core.migrate import missing_migrations
from socialcare.web import metrics
from socialcare.web.deps import DbSession, PagePrincipal, public
from socialcare.web.nav import NavItem, visible_nav
from socialcare.web.templating import render

log = logging.getLogger("socialcare.web")

router = APIRouter(tags=["pages"])

NAV = [NavItem(label="Home", href="/", permission="home:read", order=0)]


@router.get("/", name="home")
def home(request: Request, db: DbSession, principal: PagePrincipal):
    cards: list[dict] = []
    for provider in request.app.state.home_card_providers:
        try:
            with savepoint(db):
                cards.extend(provider(db, principal) or [])
        except Exception:  # one domain's broken card must not take the home page down
            log.exception("home card provider %s failed", getattr(provider, "__module__", provider))
    cards.sort(key=lambda c: c.get("order", 100))
    links = [i for i in visible_nav(request.app.state.nav, principal) if i.href != "/"]
    return render(request, "home.html", {"cards": cards, "links": links})


@router.get("/healthz", dependencies=[Depends(public)])
def healthz():
    """Liveness, for process supervisors: 200 while this process answers (nothing else is checked,
    so a database outage does not get every web process restarted)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", dependencies=[Depends(public)])
def readyz(db: DbSession):
    """Readiness, for load balancers: 200 when the database answers, its migrations are at head and
    the job queue answers; 503 with what is wrong otherwise."""
    checks: dict[str, str] = {}
    try:
        db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if checks["database"] == "ok":
        try:
            missing = missing_migrations(db.connection())
            checks["migrations"] = "ok" if not missing else f"{len(missing)} not applied: {', '.join(missing[:5])}"
        except Exception as exc:
            checks["migrations"] = f"unknown: {type(exc).__name__}"
    try:
        from socialcare.jobs import queue

        queue.ping()
        checks["jobs"] = "ok"
    except Exception as exc:
        checks["jobs"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", dependencies=[Depends(public)])
def metrics_endpoint(request: Request):
    """Prometheus text exposition (scrape it from inside the network: see docs/operations.md)."""
    import hmac

    from socialcare.core.settings import get_settings

    expected = get_settings().metrics_token
    if expected and not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {expected}"):
        return JSONResponse({"error": "Unauthorized", "detail": "Send the metrics token."}, status_code=401)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)

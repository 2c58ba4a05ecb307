"""The home page (one per role, live counts from every domain's ``home_cards``) and a health check."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from socialcare.core.db import savepoint
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
def healthz(db: DbSession):
    """For load balancers: 200 when the database answers."""
    db.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})

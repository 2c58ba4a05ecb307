"""The referrals world plus a live plan–hub contract whose scope of work has a timing expectation and
a two-level escalation pathway."""

from __future__ import annotations

from datetime import date

import pytest

from socialcare.contracts import schemas, service
from tests.referrals.conftest import World, world  # noqa: F401  (fixture re-export)
from tests.web.fixtures import app, client_factory  # noqa: F401


def make_live_contract(db, w: World, admin, *, timing=None, pathway=None, counterparty=None):
    sow = schemas.ScopeOfWork.model_validate({
        "who": {"staffing": {"escalation_pathway": pathway or []}},
        "what": {"timing_expectations": timing or []},
    })
    c = service.create(db, admin, schemas.ContractCreate(
        name="Meals after discharge", counterparty_id=(counterparty or w.hub).id, start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31), scope_of_work=sow))
    c.phase = "implementation"
    db.flush()
    return c


@pytest.fixture
def plan_admin(db, world):  # noqa: F811
    from tests.factories import make_user

    return make_user(db, world.plan, "plan_admin")

"""A FHIR search gives the same result on SQLite and PostgreSQL: the same data in both, random search
parameter values (dates at every precision and offset, OR values, modifiers) and random offsets and
page sizes, compared entry by entry.

It needs a PostgreSQL server: the one of ``SOCIALCARE_DATABASE_URL`` (CI's PostgreSQL pass) or of
``SOCIALCARE_TEST_PG_URL``; it makes its own database there (``<name>_fhirsearch``) and its own
SQLite file, and skips when neither variable names PostgreSQL.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session


def _pg_base() -> str | None:
    for var in ("SOCIALCARE_TEST_PG_URL", "SOCIALCARE_DATABASE_URL"):
        url = os.environ.get(var, "")
        if url.startswith("postgresql"):
            return url
    return None


pytestmark = pytest.mark.skipif(_pg_base() is None, reason="needs PostgreSQL: set SOCIALCARE_TEST_PG_URL")

STATUSES = ["requested", "accepted", "in-progress", "completed", "cancelled", "on-hold"]
FAMILIES = ["Rivera", "Rivers", "Smith", "Smithson", "O'Neil", "Ng", "rivera", "Alvarez"]


def _seed(url: str) -> dict:
    from socialcare.core.migrate import upgrade
    from socialcare.referrals.models import Referral
    from tests.factories import make_member, make_org, make_user

    upgrade(url)
    rnd = random.Random(17)
    engine = sa.create_engine(url)
    with Session(engine) as db:
        plan = make_org(db, "health_plan", "Search Plan")
        cbos = [make_org(db, "cbo", f"Search CBO {i}", county="Erie", state="NY") for i in range(3)]
        make_user(db, plan, "plan_staff", "search_plan")
        members = []
        for i in range(40):
            members.append(make_member(
                db, plan, plan_member_id=f"S{i:05d}", first_name=f"Given{i % 7}", last_name=FAMILIES[i % len(FAMILIES)],
                birth_date=date(1940, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 70)),
                sex=["female", "male", "other", "unknown"][i % 4]))
        db.flush()
        t0 = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
        rows = []
        for i in range(150):
            # on the hour, on the minute, at odd microseconds, around midnight and month ends
            when = t0 + timedelta(minutes=rnd.choice([-1440 * 30, -60, -1, 0, 1, 59, 60, 300, 1439, 1440]) * rnd.random()
                                  ) if i % 3 else t0 + timedelta(hours=rnd.randrange(-48, 48))
            rows.append(dict(plan_id=plan.id, requester_org_id=plan.id, owner_org_id=cbos[i % 3].id,
                             member_id=members[i % 40].id, need_domain="food", reason="", source="fhir",
                             status=STATUSES[rnd.randrange(len(STATUSES))], created_at=when, updated_at=when))
        db.execute(sa.insert(Referral), rows)
        db.commit()
        out = {"cbos": [c.id for c in cbos], "members": [m.id for m in members]}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def two_servers():
    from socialcare.web.app import create_app
    from tests.conftest import reset_database
    from tests.factories import PASSWORD

    parsed = make_url(_pg_base())
    admin = None
    if os.environ.get("SOCIALCARE_TEST_PG_URL", "").startswith("postgresql"):  # a database of its own, as is
        pg = os.environ["SOCIALCARE_TEST_PG_URL"]
        reset_database(pg)
    else:  # CI's PostgreSQL pass: a database beside the suite's, made and dropped here
        name = f"{parsed.database}_fhirsearch"
        admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg = parsed.set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="socialcare-fhirsearch-"))
    lite = f"sqlite:///{tmp / 'search.db'}"
    seeds = [_seed(url) for url in (lite, pg)]
    assert seeds[0] == seeds[1]  # the same ids on both
    clients = []
    for url in (lite, pg):
        c = TestClient(create_app(database_url=url))
        c.__enter__()
        token = c.post("/api/v1/tokens", json={"username": "search_plan", "password": PASSWORD}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        clients.append(c)
    yield clients, seeds[0]
    for c in clients:
        c.__exit__(None, None, None)
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


# ---- strategies --------------------------------------------------------------------------------

PREFIXES = st.sampled_from(["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"])
OFFSETS = st.sampled_from(["Z", "+00:00", "-05:00", "+05:30", "-11:00", "+14:00", ""])


@st.composite
def fhir_dates(draw, around: datetime):
    dt = around + timedelta(minutes=draw(st.integers(-60 * 24 * 40, 60 * 24 * 40)),
                            microseconds=draw(st.sampled_from([0, 0, 1, 500000, 999999])))
    precision = draw(st.sampled_from(["year", "month", "day", "minute", "second", "fraction"]))
    if precision == "year":
        return f"{dt.year:04d}"
    if precision == "month":
        return f"{dt:%Y-%m}"
    if precision == "day":
        return f"{dt:%Y-%m-%d}"
    tz = draw(OFFSETS)
    text = {"minute": f"{dt:%Y-%m-%dT%H:%M}", "second": f"{dt:%Y-%m-%dT%H:%M:%S}",
            "fraction": f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond:06d}"[:draw(st.integers(21, 26))]}[precision]
    return text + tz


@st.composite
def task_queries(draw, seed: dict):
    params: list[tuple[str, str]] = []
    if draw(st.booleans()):
        params.append(("_lastUpdated", draw(PREFIXES) + draw(fhir_dates(datetime(2026, 12, 3, tzinfo=UTC)))))
    if draw(st.booleans()):
        params.append(("_lastUpdated", draw(PREFIXES) + draw(fhir_dates(datetime(2026, 12, 3, tzinfo=UTC)))))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["status", "status:not"]))
        params.append((name, ",".join(draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3)))))
    if draw(st.booleans()):
        owners = draw(st.lists(st.sampled_from(seed["cbos"]), min_size=1, max_size=2))
        params.append(("owner", ",".join(f"Organization/{o}" for o in owners)))
    if draw(st.booleans()):
        params.append(("patient", f"Patient/{draw(st.sampled_from(seed['members']))}"))
    params.append(("_count", str(draw(st.integers(1, 40)))))
    if draw(st.booleans()):
        params.append(("_offset", str(draw(st.integers(0, 160)))))
    return params


@st.composite
def patient_queries(draw, seed: dict):
    params: list[tuple[str, str]] = []
    if draw(st.booleans()):
        params.append(("birthdate", draw(PREFIXES) + draw(fhir_dates(datetime(1975, 6, 1, tzinfo=UTC)))))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["family", "family:exact", "family:contains", "name", "name:contains"]))
        word = draw(st.sampled_from(FAMILIES + ["riv", "Smi", "son", "Giv", "en3", "'", "%", "_"]))
        params.append((name, word))
    if draw(st.booleans()):
        params.append((draw(st.sampled_from(["gender", "gender:not"])),
                       ",".join(draw(st.lists(st.sampled_from(["female", "male", "other", "unknown"]), min_size=1,
                                              max_size=2)))))
    params.append(("_count", str(draw(st.integers(1, 25)))))
    if draw(st.booleans()):
        params.append(("_offset", str(draw(st.integers(0, 45)))))
    return params


def _answer(client: TestClient, path: str, params) -> tuple:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    b = r.json()
    ids = [e["resource"]["id"] for e in b.get("entry", [])]
    nxt = next((lk["url"] for lk in b["link"] if lk["relation"] == "next"), None)
    return b["total"], ids, nxt is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_task_search_is_the_same_on_sqlite_and_postgresql(two_servers, data):
    (lite, pg), seed = two_servers
    params = data.draw(task_queries(seed))
    assert _answer(lite, "/fhir/Task", params) == _answer(pg, "/fhir/Task", params), params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_patient_search_is_the_same_on_sqlite_and_postgresql(two_servers, data):
    (lite, pg), seed = two_servers
    params = data.draw(patient_queries(seed))
    assert _answer(lite, "/fhir/Patient", params) == _answer(pg, "/fhir/Patient", params), params

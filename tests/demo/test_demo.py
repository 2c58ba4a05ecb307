"""The demo partnership: its shape (seed 002's WNYICC hub), plausible members, one login per role,
and determinism (same --seed and --as-of, same data), on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import simple_icd_10_cm as icd
import sqlalchemy as sa
from stdnum import luhn
from stdnum.us import ein

from socialcare.core.db import Base, import_all_models
from socialcare.demo.builder import build_demo
from socialcare.demo.geography import WNY_COUNTIES, zip_index
from socialcare.kit.codes import NeedDomain, OrgKind
from socialcare.security.passwords import verify_password
from socialcare.security.rules import Role, role_fits_org
from tests.conftest import _test_url, is_postgres

AS_OF = date(2026, 6, 30)
MEMBERS = 1500


def _sqlite(tmp_path_factory, name: str) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('demo') / name}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = _sqlite(tmp_path_factory, "shape.db")
    result = build_demo(url, seed=7, members=MEMBERS, as_of=AS_OF, progress=False)
    engine = sa.create_engine(url)
    yield engine, result
    engine.dispose()


def rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_two_plans_and_one_hub_whose_nine_cbos_cover_the_eight_counties(demo):
    engine, result = demo
    kinds = dict(rows(engine, "SELECT kind, count(*) FROM organization GROUP BY kind"))
    # the Medicaid plan, and a smaller Medicare Advantage plan sharing the hub (one inbox across plans)
    assert kinds[OrgKind.HEALTH_PLAN] == 2 and kinds[OrgKind.HUB] == 1
    hub_id = scalar(engine, "SELECT id FROM organization WHERE kind = 'community_care_hub'")
    network = rows(engine, "SELECT cbo_id, start_date, end_date FROM hub_network_membership WHERE hub_id = :h", h=hub_id)
    assert len({r.cbo_id for r in network}) == 9
    assert all(r.end_date is None and str(r.start_date) < str(AS_OF) for r in network)
    covered = {
        r[0]
        for r in rows(
            engine,
            "SELECT DISTINCT county FROM service_area WHERE service_id IS NULL AND organization_id IN "
            "(SELECT cbo_id FROM hub_network_membership WHERE hub_id = :h)",
            h=hub_id,
        )
    }
    assert covered == set(WNY_COUNTIES)
    # seed 002: every one of the nine network partners delivers home-delivered meals (S5170)
    meal_cbos = {r[0] for r in rows(engine, "SELECT organization_id FROM service WHERE service_code = 'S5170'")}
    assert {r.cbo_id for r in network} <= meal_cbos
    independent = scalar(
        engine,
        "SELECT count(*) FROM organization WHERE kind = 'cbo' AND id NOT IN (SELECT cbo_id FROM hub_network_membership)",
    )
    assert independent == 3
    assert set(result["state"]["network_cbo_ids"]) == {r.cbo_id for r in network}


def test_organizations_carry_valid_npis_and_eins(demo):
    engine, _ = demo
    for npi, tax_id in rows(engine, "SELECT npi, tax_id FROM organization"):
        assert len(npi) == 10 and luhn.is_valid("80840" + npi)
        assert ein.is_valid(tax_id)


def test_about_twenty_services_across_the_need_domains_with_areas(demo):
    engine, _ = demo
    services = rows(engine, "SELECT id, need_domain, service_code, unit, capacity_per_month, languages FROM service")
    assert 18 <= len(services) <= 25
    domains = {s.need_domain for s in services}
    assert len(domains) >= 8 and domains <= {d.value for d in NeedDomain}
    assert all(s.capacity_per_month and s.capacity_per_month > 0 for s in services)
    codes = {s.service_code.split("-")[0] for s in services if s.service_code}
    assert {"S5170", "T1016", "H0043"} <= codes
    without_area = scalar(
        engine, "SELECT count(*) FROM service WHERE id NOT IN (SELECT service_id FROM service_area WHERE service_id IS NOT NULL)"
    )
    assert without_area == 0
    assert scalar(engine, "SELECT count(*) FROM location") >= 14


def test_members_live_at_real_zip_codes_with_valid_conditions(demo):
    engine, result = demo
    # the Medicaid plan's roster (the second, Medicare Advantage plan adds a few members of its own)
    members = rows(engine, "SELECT id, plan_member_id, zip, county, state, birth_date, product_line, risk_score, "
                           "preferred_language, pcp_npi FROM member WHERE plan_id = "
                           "(SELECT min(id) FROM organization WHERE kind = 'health_plan')")
    assert len(members) == MEMBERS
    assert len({m.plan_member_id for m in members}) == MEMBERS
    zips = zip_index()
    for m in members:
        assert m.state == "NY" and m.zip in zips and zips[m.zip].county == m.county
        assert m.risk_score is not None and float(m.risk_score) > 0
        assert m.pcp_npi is None or luhn.is_valid("80840" + m.pcp_npi)
    in_region = sum(m.county in WNY_COUNTIES for m in members) / MEMBERS
    assert 0.85 < in_region < 0.99  # mostly the eight counties, some elsewhere in the state
    assert len({m.preferred_language for m in members}) >= 4  # Spanish and a few others besides English

    ages = [(AS_OF - date.fromisoformat(str(m.birth_date))).days / 365.25 for m in members]
    assert 0.25 < sum(a < 18 for a in ages) / MEMBERS < 0.5  # a Medicaid plan covers many children
    seniors = [m for m, a in zip(members, ages, strict=True) if a >= 65]
    assert seniors and all(m.product_line in ("dual_special_needs", "medicare_advantage") for m in seniors)

    codes = {r[0] for r in rows(engine, "SELECT DISTINCT icd10_code FROM member_condition")}
    assert codes and all(icd.is_valid_item(c) and icd.is_leaf(c) for c in codes)
    without_span = scalar(
        engine, "SELECT count(*) FROM member WHERE id NOT IN (SELECT member_id FROM enrollment_span)"
    )
    assert without_span == 0
    assert result["state"]["member_id_range"][1] - result["state"]["member_id_range"][0] + 1 == MEMBERS


def test_one_login_per_role_that_signs_in_with_the_printed_password(demo):
    engine, result = demo
    users = rows(
        engine,
        "SELECT u.username, u.role, u.password_hash, o.kind, o.id AS org_id FROM user_account u "
        "JOIN organization o ON o.id = u.organization_id",
    )
    assert {u.role for u in users} == {r.value for r in Role}
    by_name = {u.username: u for u in users}
    for username, password in result["logins"].values():
        user = by_name[username]
        assert verify_password(user.password_hash, password)
        assert role_fits_org(user.role, user.kind)
    st = result["state"]
    cbo_orgs = {by_name[u].org_id for k, (u, _p) in result["logins"].items() if k.startswith("cbo_staff")}
    assert cbo_orgs & set(st["network_cbo_ids"]) and cbo_orgs & set(st["independent_cbo_ids"])


def test_the_code_lists_are_billable_icd10_cm_codes_and_valid_npis():
    """A typo here would spread to every member the demo builds."""
    from socialcare.members.demo import CONDITIONS, PCP_PRACTICES

    for code, *_ in CONDITIONS:
        assert icd.is_valid_item(code) and icd.is_leaf(code), code
    for _name, npi, *_ in PCP_PRACTICES:
        assert len(npi) == 10 and luhn.is_valid("80840" + npi), npi


def _checksums(url: str) -> dict[str, str]:
    """A digest of every table's rows, in primary-key order. Left out: creation timestamps (the clock's,
    not the seed's) and password hashes (argon2 salts them at random, on purpose)."""
    import_all_models()
    engine = sa.create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            for table in Base.metadata.sorted_tables:
                if table.name not in present:
                    continue
                cols = [
                    c for c in table.columns
                    if not (isinstance(c.type, sa.DateTime) and c.server_default is not None)
                    and c.name != "password_hash"
                ]
                stmt = sa.select(*cols).order_by(*table.primary_key.columns)
                digest = hashlib.sha256()
                for row in conn.execute(stmt):
                    digest.update(repr(tuple(row)).encode())
                out[table.name] = digest.hexdigest()
    finally:
        engine.dispose()
    return out


def test_same_seed_and_date_build_identical_data(tmp_path_factory):
    first, second, other = (_sqlite(tmp_path_factory, f"{n}.db") for n in ("a", "b", "c"))
    build_demo(first, seed=11, members=300, as_of=AS_OF, progress=False)
    build_demo(second, seed=11, members=300, as_of=AS_OF, progress=False)
    build_demo(other, seed=12, members=300, as_of=AS_OF, progress=False)
    a, b, c = _checksums(first), _checksums(second), _checksums(other)
    assert a == b
    assert a["member"] != c["member"]


@pytest.mark.skipif(not is_postgres(), reason="the suite runs on SQLite; .ci/run repeats it on PostgreSQL")
def test_demo_builds_on_postgresql_and_ids_keep_working():
    """On a sibling database (<test db>_demo), so the suite's own schema is untouched."""
    url = sa.engine.make_url(_test_url())
    demo_url = url.set(database=f"{url.database}_demo")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": demo_url.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{demo_url.database}"'))
    admin.dispose()
    rendered = demo_url.render_as_string(hide_password=False)
    result = build_demo(rendered, seed=7, members=400, as_of=AS_OF, progress=False)
    assert result["logins"]["plan_admin"][0] == "plan-admin"
    engine = sa.create_engine(rendered)
    try:
        with engine.begin() as conn:
            # --members sizes the main plan's roster; the second (Medicare Advantage) plan brings its own
            assert conn.execute(sa.text(
                "SELECT count(*) FROM member WHERE plan_id = "
                "(SELECT id FROM organization WHERE name = 'Lakeshore Health Plan')")).scalar() == 400
            # member ids were assigned by the loader: the sequence must have moved past them
            next_member_id = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('member', 'id'))")).scalar()
            assert next_member_id > conn.execute(sa.text("SELECT max(id) FROM member")).scalar()
    finally:
        engine.dispose()

"""Demo step 10: the partnership's organizations, their services and where they work.

The shape follows the seeds: one Medicaid managed care plan; a community care hub that, like the
Western New York Integrated Care Collaborative, holds one contract for an eight-county region and
subcontracts home-delivered meals to nine local CBOs (seed 002_9f9b125fbb7ccb6a.txt, "paying
CBOs"); and three independent CBOs the plan contracts with directly. Service codes are the HCPCS
codes of design/standards.md §5.1 (S5170 meals per meal, T1016 case management per 15 minutes,
A0080 volunteer transport per mile, H0043 supported housing per diem...). Names are fictional;
the zip codes, cities and counties are real.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert

from socialcare.demo.context import DemoContext
from socialcare.demo.geography import STATE, WNY_COUNTIES, zip_info
from socialcare.directory.models import HubNetworkMembership, Location, Organization, Service, ServiceArea
from socialcare.kit.bulk import bulk_insert
from socialcare.kit.codes import NeedDomain, OrgKind, npi_with_check_digit

ORDER = 10

PLAN_NAME = "Lakeshore Health Plan"
HUB_NAME = "Western New York Community Care Hub"

# Buffalo neighborhoods (East Side, West Side) where one network CBO delivers meals by zip code.
BUFFALO_EAST_WEST_ZIPS = ["14204", "14206", "14207", "14208", "14209", "14211", "14212", "14213", "14214", "14215"]

MEALS_ELIGIBILITY = (
    "Members discharged from a hospital or skilled nursing facility after at least one overnight stay: "
    "two meals a day for two weeks (seed 002, WNYICC)."
)


def _svc(name, domain, code, unit, capacity, languages=("en",), description="", counties=None, zips=None,
         eligibility=None, minimum_age=None):
    return dict(
        name=name, need_domain=domain.value, service_code=code, unit=unit, capacity_per_month=capacity,
        languages=list(languages), description=description, counties=counties, zips=zips,
        eligibility_description=eligibility, minimum_age=minimum_age,
    )


def _meals(capacity, languages=("en",), counties=None, zips=None):
    return _svc(
        "Home-delivered meals after discharge", NeedDomain.FOOD, "S5170", "meal", capacity, languages,
        "Fresh or frozen meals delivered to the member's home, two a day.", counties, zips,
        MEALS_ELIGIBILITY, 18,
    )


# (name, description, NUCC taxonomy, [(location name, street, zip)], counties, services, years in network)
NETWORK_CBOS = [
    (
        "Erie Home Meals Collaborative", "Home-delivered and medically tailored meals across Erie County.",
        "332U00000X", [("Main kitchen", "1580 Genesee St", "14211")], ["Erie"],
        [
            _meals(12000, ("en", "es", "ar")),
            _svc("Medically tailored meals", NeedDomain.FOOD, "S9977", "day", 1500, ("en", "es"),
                 "Meals designed by a dietitian for diabetes, heart failure or kidney disease.",
                 eligibility="A referring clinician's diagnosis of a diet-sensitive condition.", minimum_age=18),
        ], 6,
    ),
    (
        "Niagara Frontier Meals on Wheels", "Meals on wheels for homebound residents of Niagara County.",
        "332U00000X", [("Niagara Falls kitchen", "1001 11th St", "14301"), ("Lockport site", "50 Main St", "14094")],
        ["Niagara"], [_meals(4000)], 6,
    ),
    (
        "Chautauqua Senior Nutrition Network", "Congregate and home-delivered meals in Chautauqua County.",
        "332U00000X", [("Jamestown kitchen", "400 E 2nd St", "14701"), ("Dunkirk site", "320 Central Ave", "14048")],
        ["Chautauqua"], [_meals(3000, ("en", "es"))], 5,
    ),
    (
        "Cattaraugus Community Action", "Meals, heating help and family services in Cattaraugus County.",
        "251V00000X", [("Olean office", "201 N Union St", "14760")], ["Cattaraugus"],
        [
            _meals(2000),
            _svc("Utility bill assistance navigation", NeedDomain.UTILITIES, None, "episode", 60, ("en",),
                 "Help applying for HEAP and utility payment plans; shut-off prevention."),
        ], 5,
    ),
    (
        "Allegany Meals and Rides", "Meals and volunteer rides for rural Allegany County.",
        "251V00000X", [("Wellsville office", "84 Schuyler St", "14895")], ["Allegany"],
        [
            _meals(1500),
            _svc("Volunteer rides to medical appointments", NeedDomain.TRANSPORTATION, "A0080", "mile", 6000,
                 ("en",), "Volunteer drivers take members to appointments, pharmacies and grocery stores."),
        ], 4,
    ),
    (
        "Genesee-Orleans Aging Services", "Services for older adults and caregivers in Genesee and Orleans counties.",
        "251V00000X", [("Batavia office", "2 Bank St", "14020"), ("Albion site", "14016 State Route 31", "14411")],
        ["Genesee", "Orleans"],
        [
            _meals(2000),
            _svc("Caregiver respite", NeedDomain.CAREGIVER_SUPPORT, "S5151", "day", 40, ("en", "es"),
                 "A trained aide stays with the member so the family caregiver can rest.", minimum_age=18),
        ], 4,
    ),
    (
        "Wyoming County Community Meals", "Meals and friendly visiting in Wyoming County.",
        "251V00000X", [("Warsaw kitchen", "5362 Route 19", "14569")], ["Wyoming"],
        [
            _meals(1200),
            _svc("Friendly visiting and telephone reassurance", NeedDomain.SOCIAL_CONNECTION, None, "visit", 200,
                 ("en",), "Weekly visits or calls from a volunteer for members living alone."),
        ], 3,
    ),
    (
        "Buffalo East Side Community Kitchen", "A neighborhood kitchen and community health worker team.",
        "172V00000X", [("Community kitchen", "1490 Jefferson Ave", "14208")], ["Erie", "Niagara"],
        [
            _meals(3500, ("en", "es", "ar", "bn", "my"), zips=BUFFALO_EAST_WEST_ZIPS),
            _svc("Community health worker care management", NeedDomain.CARE_MANAGEMENT, "T1016", "15 minutes",
                 4000, ("en", "es", "ar", "bn", "my", "ne"),
                 "A community health worker meets the member, screens for social needs and coordinates help."),
            _svc("Hospital-to-home transition support", NeedDomain.TRANSITION_SUPPORT, "T2038", "episode", 80,
                 ("en", "es", "ar"), "Home visit within 72 hours of discharge; medications, follow-up, supplies.",
                 counties=["Erie"]),
        ], 3,
    ),
    (
        "Southern Tier Home Care Cooperative", "A worker-owned home care agency in the Southern Tier.",
        "251V00000X", [("Salamanca office", "25 Main St", "14779"), ("Jamestown office", "110 W 3rd St", "14701")],
        ["Chautauqua", "Cattaraugus", "Allegany"],
        [
            _meals(1000, counties=["Cattaraugus"]),
            _svc("Personal care aide at home", NeedDomain.HOME_CARE, "T1019", "15 minutes", 5000, ("en",),
                 "Help with bathing, dressing and meals at home after an illness or hospital stay.",
                 minimum_age=18),
        ], 2,
    ),
]

INDEPENDENT_CBOS = [
    (
        "Buffalo Housing Stability Coalition", "Housing navigation, tenancy support and medical respite beds.",
        "251B00000X", [("Main office", "237 Main St", "14203")], ["Erie", "Niagara"],
        [
            _svc("Housing navigation and tenancy support", NeedDomain.HOUSING, "H0043", "day", 900, ("en", "es"),
                 "Find and keep housing: applications, landlord mediation, move-in help.", minimum_age=18),
            _svc("Medical respite beds", NeedDomain.MEDICAL_RESPITE, "T2033", "day", 300, ("en", "es"),
                 "Short-term recuperative care for people without a home after a hospital stay.",
                 counties=["Erie"], minimum_age=18),
        ],
    ),
    (
        "Niagara Frontier Rides", "Non-emergency rides to care, by van and wheelchair van.",
        "343900000X", [("Dispatch center", "3155 Niagara Falls Blvd", "14120")], ["Niagara", "Erie", "Orleans"],
        [
            _svc("Non-emergency rides to care", NeedDomain.TRANSPORTATION, "T2003", "trip", 2500, ("en", "es"),
                 "Door-to-door rides to medical appointments, dialysis and pharmacies."),
        ],
    ),
    (
        "Western New York Legal and Financial Help Center", "Medical-legal partnership, benefits and jobs.",
        "251V00000X", [("Downtown office", "290 Main St", "14202"), ("Batavia clinic", "1 Main St", "14020")],
        ["Erie", "Niagara", "Genesee", "Orleans", "Wyoming"],
        [
            _svc("Medical-legal partnership consultation", NeedDomain.LEGAL, None, "episode", 120, ("en", "es"),
                 "A lawyer resolves eviction, benefits denials and unsafe housing conditions.", minimum_age=18),
            _svc("Benefits enrollment and financial coaching", NeedDomain.FINANCIAL, None, "session", 400,
                 ("en", "es", "ar"), "SNAP, HEAP, tax credits and a budget the member can keep."),
            _svc("Job readiness coaching", NeedDomain.EMPLOYMENT, None, "session", 150, ("en", "es"),
                 "Resumes, interview practice and job placement with local employers.", minimum_age=16),
        ],
    ),
]


def _npi(rng) -> str:
    """A 10-digit NPI whose check digit is valid."""
    return npi_with_check_digit(str(rng.randint(1, 2)) + "".join(str(rng.randint(0, 9)) for _ in range(8)))


def _ein(rng) -> str:
    return f"16-{rng.randint(1000000, 9999999)}"  # 16: an IRS prefix assigned to the Buffalo area


def _months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, 1)


def _org_row(rng, name, kind, description, taxonomy, street, zip_code, slug):
    z = zip_info(zip_code)
    return dict(
        kind=kind, name=name, description=description, npi=_npi(rng), tax_id=_ein(rng), taxonomy_code=taxonomy,
        address_1=street, city=z.city, state=STATE, postal_code=z.zip, county=z.county,
        phone=f"({z.area_code}) 555-01{rng.randint(0, 99):02d}", email=f"partners@{slug}.example.org",
        website=f"https://{slug}.example.org",
    )


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:30]


def build(ctx: DemoContext) -> None:
    s, rng = ctx.session, ctx.rng
    ctx.set_total(4)

    orgs = [
        _org_row(rng, PLAN_NAME, OrgKind.HEALTH_PLAN,
                 "A Medicaid managed care plan with Medicare Advantage and D-SNP products in Western New York.",
                 None, "1 Lakeshore Plaza", "14202", "lakeshorehealth"),
        _org_row(rng, HUB_NAME, OrgKind.HUB,
                 "A community care hub: one contract with the plan, a network of nine local CBOs across "
                 "eight counties, shared referral routing, billing and reporting.",
                 "251B00000X", "726 Exchange St", "14210", "wnycarehub"),
    ]
    cbos = [(c, True) for c in NETWORK_CBOS] + [(c, False) for c in INDEPENDENT_CBOS]
    for (name, description, taxonomy, locations, *_rest), _in_network in cbos:
        street, zip_code = locations[0][1], locations[0][2]
        orgs.append(_org_row(rng, name, OrgKind.CBO, description, taxonomy, street, zip_code, _slug(name)))
    org_ids = s.execute(insert(Organization).returning(Organization.id, sort_by_parameter_order=True), orgs).scalars().all()
    plan_id, hub_id, cbo_ids = org_ids[0], org_ids[1], org_ids[2:]
    network_ids = cbo_ids[: len(NETWORK_CBOS)]
    independent_ids = cbo_ids[len(NETWORK_CBOS):]
    ctx.advance(1)

    # Network memberships: the hub grew its network over the years (seed 002: nine meal partners).
    s.execute(
        insert(HubNetworkMembership),
        [
            dict(hub_id=hub_id, cbo_id=cbo_id, start_date=_months_before(ctx.today, 12 * c[6] + i), end_date=None)
            for i, (cbo_id, c) in enumerate(zip(network_ids, NETWORK_CBOS, strict=True))
        ],
    )

    # Locations: the plan's and hub's offices, and every CBO site.
    loc_rows = [
        _location(plan_id, "Lakeshore Health Plan headquarters", "1 Lakeshore Plaza", "14202"),
        _location(hub_id, "Hub operations center", "726 Exchange St", "14210"),
    ]
    for cbo_id, ((_n, _d, _t, locations, *_r), _net) in zip(cbo_ids, cbos, strict=True):
        loc_rows += [_location(cbo_id, lname, street, zip_code) for lname, street, zip_code in locations]
    s.execute(insert(Location), loc_rows)
    ctx.advance(1)

    # Services, then their areas (county rows, or zip rows for neighborhood services).
    service_rows, service_meta = [], []
    for cbo_id, ((_n, _d, _t, _l, counties, services, *_y), _net) in zip(cbo_ids, cbos, strict=True):
        for svc in services:
            row = {k: v for k, v in svc.items() if k not in ("counties", "zips")}
            row.update(organization_id=cbo_id, status="active")
            service_rows.append(row)
            service_meta.append((cbo_id, svc.get("counties") or counties, svc.get("zips")))
    service_ids = s.execute(insert(Service).returning(Service.id, sort_by_parameter_order=True), service_rows).scalars().all()
    ctx.advance(1)

    area_rows = []
    for cbo_id, ((_n, _d, _t, _l, counties, *_r), _net) in zip(cbo_ids, cbos, strict=True):
        area_rows += [(cbo_id, None, STATE, county, None) for county in counties]
    area_rows += [(org_id, None, STATE, county, None) for org_id in (plan_id, hub_id) for county in WNY_COUNTIES]
    for service_id, (cbo_id, counties, zips) in zip(service_ids, service_meta, strict=True):
        if zips:
            area_rows += [(cbo_id, service_id, STATE, zip_info(z).county, z) for z in zips]
        else:
            area_rows += [(cbo_id, service_id, STATE, county, None) for county in counties]
    bulk_insert(s, ServiceArea, ["organization_id", "service_id", "state", "county", "postal_code"], area_rows)
    ctx.advance(1)

    by_domain: dict[str, list[int]] = {}
    services = []
    for service_id, row, (cbo_id, counties, zips) in zip(service_ids, service_rows, service_meta, strict=True):
        by_domain.setdefault(row["need_domain"], []).append(service_id)
        services.append(
            dict(id=service_id, organization_id=cbo_id, name=row["name"], need_domain=row["need_domain"],
                 service_code=row["service_code"], unit=row["unit"], capacity_per_month=row["capacity_per_month"],
                 counties=list(counties), zips=list(zips or []), in_network=cbo_id in network_ids)
        )
    ctx.state.update(
        plan_id=plan_id,
        plan_name=PLAN_NAME,
        hub_id=hub_id,
        hub_name=HUB_NAME,
        network_cbo_ids=list(network_ids),
        independent_cbo_ids=list(independent_ids),
        cbo_ids=list(cbo_ids),
        org_names=dict(zip(org_ids, [o["name"] for o in orgs], strict=True)),
        counties=list(WNY_COUNTIES),
        services=services,
        service_ids_by_domain=by_domain,
    )


def _location(org_id: int, name: str, street: str, zip_code: str) -> dict:
    z = zip_info(zip_code)
    return dict(
        organization_id=org_id, name=name, location_type="physical", address_1=street, city=z.city, state=STATE,
        postal_code=z.zip, county=z.county, latitude=z.latitude, longitude=z.longitude,
    )


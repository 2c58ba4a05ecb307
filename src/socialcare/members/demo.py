"""Demo step 20: the plan's member roster, generated with NumPy and bulk-loaded.

``--members N`` members (20,000 by default, a million works) of a Medicaid managed care plan in
Western New York: many children, working-age adults, and a Medicare Advantage / D-SNP tail of
older and dual-eligible members. Distributions are plausible for the region's Medicaid population
(Buffalo's Black, Hispanic and refugee communities: Spanish, Arabic, Bengali, Burmese, Nepali,
Somali and Swahili speakers; the Seneca Nation in Cattaraugus County), not census-exact.
Addresses are fictional streets at real zip codes; phone numbers are in the fictional 555-01xx
range; PCP practices carry NPIs with a valid check digit; chronic conditions are billable
ICD-10-CM codes (tests/demo checks each with simple-icd-10-cm).

Nothing here loops over members in Python except to format strings: draws are vectorized and
rows go to the database in batches through ``socialcare.kit.bulk``.
"""

from __future__ import annotations

import numpy as np

from socialcare.demo.context import DemoContext
from socialcare.demo.geography import STATE, WNY_COUNTIES, ny_zips
from socialcare.kit.bulk import bulk_insert, next_id
from socialcare.kit.codes import ProductLine, npi_with_check_digit
from socialcare.members.models import EnrollmentSpan, Member, MemberCondition

ORDER = 20

# (youngest, oldest, share of members): a Medicaid plan has many children and a small 65+ tail.
AGE_BANDS = [(0, 5, 0.12), (6, 17, 0.24), (18, 34, 0.20), (35, 49, 0.15), (50, 64, 0.16), (65, 74, 0.08), (75, 94, 0.05)]
OUTSIDE_REGION_SHARE = 0.06  # members who moved elsewhere in the state and are still enrolled

# Chronic conditions: (ICD-10-CM, label, prevalence for children, adults 18-64, adults 65+).
CONDITIONS = [
    ("E11.9", "Type 2 diabetes", 0.003, 0.11, 0.27),
    ("I10", "Hypertension", 0.004, 0.22, 0.58),
    ("E78.5", "Hyperlipidemia", 0.002, 0.14, 0.42),
    ("J45.909", "Asthma", 0.09, 0.09, 0.07),
    ("J44.9", "COPD", 0.0, 0.05, 0.14),
    ("I50.9", "Heart failure", 0.0, 0.015, 0.09),
    ("N18.30", "Chronic kidney disease, stage 3", 0.0, 0.02, 0.12),
    ("I25.10", "Coronary artery disease", 0.0, 0.03, 0.15),
    ("E66.9", "Obesity", 0.08, 0.21, 0.17),
    ("F32.9", "Depression", 0.02, 0.13, 0.10),
    ("F41.1", "Generalized anxiety disorder", 0.03, 0.09, 0.05),
    ("F20.9", "Schizophrenia", 0.0, 0.012, 0.008),
    ("F31.9", "Bipolar disorder", 0.001, 0.025, 0.01),
    ("F11.20", "Opioid use disorder", 0.0, 0.025, 0.006),
    ("F10.20", "Alcohol use disorder", 0.0, 0.03, 0.015),
    ("F17.210", "Nicotine dependence, cigarettes", 0.003, 0.18, 0.10),
    ("F90.9", "ADHD", 0.07, 0.02, 0.0),
    ("F84.0", "Autism", 0.02, 0.004, 0.0),
    ("G40.909", "Epilepsy", 0.006, 0.008, 0.008),
    ("B20", "HIV disease", 0.0, 0.004, 0.002),
]

RACES = [
    "white", "black_or_african_american", "asian", "american_indian_or_alaska_native",
    "native_hawaiian_or_other_pacific_islander", "two_or_more", None,
]
RACE_P_HISPANIC = [0.42, 0.12, 0.0, 0.01, 0.0, 0.20, 0.25]
RACE_P_NOT_HISPANIC = [0.52, 0.34, 0.05, 0.015, 0.002, 0.033, 0.04]

# Preferred language (ISO 639-1) by group.
LANG_HISPANIC = (["es", "en"], [0.52, 0.48])
LANG_ASIAN = (["en", "bn", "my", "ne"], [0.45, 0.22, 0.20, 0.13])
LANG_OTHER = (["en", "ar", "so", "sw"], [0.955, 0.03, 0.008, 0.007])

FIRST_F = {
    "en": ["Mary", "Linda", "Jessica", "Ashley", "Brittany", "Amanda", "Sarah", "Emily", "Olivia", "Emma",
           "Ava", "Madison", "Keisha", "Tanya", "Destiny", "Aaliyah", "Jasmine", "Kayla", "Patricia", "Barbara",
           "Donna", "Karen", "Michelle", "Nicole", "Heather", "Shanice", "Imani", "Harper", "Chloe", "Grace"],
    "es": ["Maria", "Ana", "Carmen", "Rosa", "Luz", "Yolanda", "Gabriela", "Isabella", "Valeria", "Camila",
           "Sofia", "Lucia", "Marisol", "Daniela", "Adriana"],
    "ar": ["Fatima", "Amina", "Layla", "Mariam", "Noor", "Huda", "Yasmin", "Salma", "Aisha", "Rania"],
    "bn": ["Nasrin", "Farzana", "Sharmin", "Taslima", "Rokeya", "Shirin", "Sumaiya", "Tania"],
    "my": ["Aye", "Thida", "Hnin", "Mya", "Su", "Khin", "Zin", "Nwe"],
    "ne": ["Sita", "Gita", "Kamala", "Laxmi", "Sarita", "Bishnu", "Pabitra", "Devi"],
    "so": ["Hodan", "Faadumo", "Ayaan", "Hibaaq", "Sahra", "Ifrah", "Asha", "Neema", "Rehema", "Zawadi"],
}
FIRST_M = {
    "en": ["James", "John", "Robert", "Michael", "William", "David", "Joseph", "Christopher", "Daniel", "Matthew",
           "Anthony", "Tyrone", "DeShawn", "Marcus", "Jamal", "Terrell", "Andre", "Kevin", "Brian", "Jason",
           "Ryan", "Jacob", "Noah", "Liam", "Elijah", "Mason", "Logan", "Darnell", "Eric", "Thomas"],
    "es": ["Jose", "Luis", "Carlos", "Juan", "Miguel", "Angel", "Pedro", "Jorge", "Rafael", "Santiago",
           "Mateo", "Diego", "Hector", "Ramon", "Edwin"],
    "ar": ["Mohammed", "Ahmed", "Ali", "Omar", "Yusuf", "Khalid", "Hassan", "Ibrahim", "Mahmoud", "Saleh"],
    "bn": ["Rahim", "Karim", "Abdul", "Rafiq", "Shafiq", "Jamal", "Habib", "Nazrul"],
    "my": ["Aung", "Htet", "Kyaw", "Min", "Soe", "Thura", "Zaw", "Naing"],
    "ne": ["Ram", "Hari", "Krishna", "Bishal", "Dil", "Man", "Tek", "Bhim"],
    "so": ["Abdi", "Mohamed", "Hassan", "Abdullahi", "Yusuf", "Baraka", "Juma", "Salim", "Hamisi", "Omari"],
}
LAST = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
           "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
           "Walker", "Young", "Allen", "King", "Wright", "Kowalski", "Nowak", "Wisniewski", "Russo", "Esposito",
           "Murphy", "O'Brien", "Sullivan", "Schmidt", "Mueller", "Washington", "Jefferson", "Banks", "Coleman",
           "Redeye", "Jimerson", "Seneca", "Pierce", "Kennedy", "Murray", "Fischer", "Weber", "Greco"],
    "es": ["Rodriguez", "Rivera", "Santiago", "Torres", "Cruz", "Ortiz", "Morales", "Reyes", "Colon", "Diaz",
           "Ramos", "Vazquez", "Hernandez", "Perez", "Gonzalez", "Velez", "Medina", "Figueroa"],
    "ar": ["Al-Harbi", "Saleh", "Nasser", "Haddad", "Mansour", "Qasim", "Al-Yemeni", "Obaid", "Hussein", "Abdo"],
    "bn": ["Rahman", "Hossain", "Islam", "Ahmed", "Chowdhury", "Uddin", "Begum", "Miah"],
    "my": ["Htun", "Win", "Oo", "Myint", "Lwin", "Thein", "Naing", "Paw"],
    "ne": ["Gurung", "Rai", "Tamang", "Sharma", "Adhikari", "Thapa", "Magar", "Subedi"],
    "so": ["Abdi", "Warsame", "Farah", "Ali", "Mohamud", "Mwangi", "Nduwimana", "Habimana", "Uwimana", "Kamau"],
}
NAME_GROUP = {"en": "en", "es": "es", "ar": "ar", "bn": "bn", "my": "my", "ne": "ne", "so": "so", "sw": "so"}

STREETS = [
    "Main St", "Elmwood Ave", "Delaware Ave", "Grant St", "Niagara St", "Jefferson Ave", "Fillmore Ave",
    "Bailey Ave", "Broadway", "Genesee St", "Sycamore St", "Walden Ave", "Hertel Ave", "Amherst St",
    "Connecticut St", "Porter Ave", "Seneca St", "Abbott Rd", "South Park Ave", "Clinton St", "Kensington Ave",
    "Lake St", "Center St", "Church St", "Mill St", "Park Ave", "Pine St", "Maple Ave", "Oak St", "Washington St",
    "Chestnut St", "Prospect Ave", "Ridge Rd", "Transit Rd", "Union St", "Water St", "High St", "Elm St",
]



# (practice, NPI, counties it serves (none: members outside the region), sees children only)
PCP_PRACTICES = [
    ("Lakeshore Family Medicine", npi_with_check_digit("109381774"), ["Erie", "Niagara"], False),
    ("East Side Community Health Center", npi_with_check_digit("117463042"), ["Erie"], False),
    ("West Side Family Health", npi_with_check_digit("135642749"), ["Erie"], False),
    ("Buffalo Pediatric Associates", npi_with_check_digit("142705129"), ["Erie", "Niagara"], True),
    ("Niagara Falls Primary Care", npi_with_check_digit("151896423"), ["Niagara"], False),
    ("Chautauqua Community Health Center", npi_with_check_digit("160987235"), ["Chautauqua"], False),
    ("Southern Tier Pediatrics", npi_with_check_digit("171098346"), ["Chautauqua", "Cattaraugus", "Allegany"], True),
    ("Olean Family Practice", npi_with_check_digit("182109357"), ["Cattaraugus", "Allegany"], False),
    ("Seneca Nation Health System Clinic", npi_with_check_digit("193210468"), ["Cattaraugus"], False),
    ("Genesee Valley Primary Care", npi_with_check_digit("104321579"), ["Genesee", "Orleans", "Wyoming"], False),
    ("Finger Lakes Community Health", npi_with_check_digit("115432680"), ["Orleans", "Wyoming", "Genesee", "Allegany"], False),
    ("Empire Primary Care Network", npi_with_check_digit("126543791"), [], False),
]


def _choice(rng: np.random.Generator, values: list, p: list[float], size: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p / p.sum())]


def _dates(days_since_epoch: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days_since_epoch.astype("datetime64[D]"), unit="D")


def build(ctx: DemoContext) -> None:
    n, rng, s = ctx.members_count, ctx.np_rng, ctx.session
    plan_id = ctx.state["plan_id"]
    as_of = np.datetime64(ctx.today, "D").astype(np.int64)  # days since 1970-01-01

    # --- who: age, sex, ethnicity, race, language --------------------------------------------
    bands = rng.choice(len(AGE_BANDS), size=n, p=np.array([b[2] for b in AGE_BANDS]) / sum(b[2] for b in AGE_BANDS))
    lo = np.array([b[0] for b in AGE_BANDS])[bands]
    hi = np.array([b[1] for b in AGE_BANDS])[bands]
    age = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    birth = as_of - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    child, senior = age < 18, age >= 65
    age_group = np.where(child, 0, np.where(senior, 2, 1))

    sex = _choice(rng, ["female", "male", "unknown"], [0.535, 0.4645, 0.0005], n)
    hispanic = rng.random(n) < 0.13
    ethnicity = np.where(hispanic, "hispanic_or_latino", "not_hispanic_or_latino").astype(object)
    ethnicity[rng.random(n) < 0.03] = None  # declined to say
    race = np.empty(n, dtype=object)
    race[hispanic] = _choice(rng, RACES, RACE_P_HISPANIC, int(hispanic.sum()))
    race[~hispanic] = _choice(rng, RACES, RACE_P_NOT_HISPANIC, int((~hispanic).sum()))

    language = np.empty(n, dtype=object)
    asian = (race == "asian") & ~hispanic
    other = ~hispanic & ~asian
    for mask, (langs, p) in ((hispanic, LANG_HISPANIC), (asian, LANG_ASIAN), (other, LANG_OTHER)):
        language[mask] = _choice(rng, langs, p, int(mask.sum()))

    # --- names, from the member's language group ---------------------------------------------
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    group = np.vectorize(NAME_GROUP.get, otypes=[object])(language)
    # English-speaking Hispanic members mostly keep Spanish surnames
    group[hispanic & (language == "en") & (rng.random(n) < 0.8)] = "es"
    female = sex == "female"
    for g in LAST:
        in_group = group == g
        for names, mask in ((FIRST_F[g], in_group & female), (FIRST_M[g], in_group & ~female)):
            first[mask] = np.asarray(names, dtype=object)[rng.integers(0, len(names), int(mask.sum()))]
        last[in_group] = np.asarray(LAST[g], dtype=object)[rng.integers(0, len(LAST[g]), int(in_group.sum()))]

    # --- where: real zip codes, mostly in the eight counties ----------------------------------
    zips = ny_zips()
    county_of_zip = np.array([z.county for z in zips], dtype=object)
    in_region = np.isin(county_of_zip, list(WNY_COUNTIES))
    weight = np.zeros(len(zips))
    total_pop = sum(WNY_COUNTIES.values())
    for county, pop in WNY_COUNTIES.items():
        in_county = county_of_zip == county
        # Buffalo and Niagara Falls zips weigh more: Medicaid enrollment concentrates in the cities
        city_w = np.array([3.0 if z.city in ("Buffalo", "Niagara Falls") else 1.0 for z in zips])[in_county]
        weight[in_county] = (1 - OUTSIDE_REGION_SHARE) * pop / total_pop * city_w / city_w.sum()
    weight[~in_region] = OUTSIDE_REGION_SHARE / (~in_region).sum()
    zi = rng.choice(len(zips), size=n, p=weight / weight.sum())
    zip_code = np.array([z.zip for z in zips], dtype=object)[zi]
    city = np.array([z.city for z in zips], dtype=object)[zi]
    county = county_of_zip[zi]
    area = np.array([z.area_code for z in zips], dtype=object)[zi]
    house = rng.integers(1, 3000, n)
    street = np.asarray(STREETS, dtype=object)[rng.integers(0, len(STREETS), n)]
    apt = rng.integers(1, 40, n)
    has_apt = rng.random(n) < 0.35
    address = [f"{h} {st}, Apt {a}" if ha else f"{h} {st}" for h, st, a, ha in zip(
        house.tolist(), street.tolist(), apt.tolist(), has_apt.tolist(), strict=True)]
    line = rng.integers(0, 100, n)
    phone = [f"({ac}) 555-01{ln:02d}" for ac, ln in zip(area.tolist(), line.tolist(), strict=True)]
    no_phone = rng.random(n) < 0.07
    phone = [None if missing else p for p, missing in zip(phone, no_phone.tolist(), strict=True)]

    # --- coverage: product line follows age (duals and Medicare Advantage are mostly 65+) -------
    product = np.full(n, ProductLine.MEDICAID.value, dtype=object)
    product[senior] = _choice(rng, [ProductLine.DSNP.value, ProductLine.MEDICARE_ADVANTAGE.value], [0.6, 0.4],
                              int(senior.sum()))
    disabled_dual = (age >= 21) & ~senior & (rng.random(n) < 0.04)
    product[disabled_dual] = ProductLine.DSNP.value

    # --- PCP: a practice serving the member's county; children see pediatric practices ---------
    pcp_name = np.empty(n, dtype=object)
    pcp_npi = np.empty(n, dtype=object)
    for c in np.unique(county):
        in_c = county == c
        for kids in (True, False):
            mask = in_c & (child == kids)
            options = [p for p in PCP_PRACTICES if c in p[2] and (p[3] == kids or not p[3])]
            options = options or [p for p in PCP_PRACTICES if not p[2]]
            pick = rng.integers(0, len(options), int(mask.sum()))
            pcp_name[mask] = np.asarray([p[0] for p in options], dtype=object)[pick]
            pcp_npi[mask] = np.asarray([p[1] for p in options], dtype=object)[pick]
    no_pcp = rng.random(n) < 0.05
    pcp_name[no_pcp] = None
    pcp_npi[no_pcp] = None

    # --- chronic conditions (a shared frailty term makes them cluster) and risk ---------------
    frailty = rng.normal(0.0, 1.0, n)
    lift = np.exp(0.6 * frailty - 0.18)
    cond_member, cond_code = [], []
    n_conditions = np.zeros(n, dtype=np.int64)
    for k, (_code, _label, *prevalence) in enumerate(CONDITIONS):
        p = np.minimum(np.asarray(prevalence)[age_group] * lift, 0.95)
        has = rng.random(n) < p
        idx = np.nonzero(has)[0]
        cond_member.append(idx)
        cond_code.append(np.full(idx.size, k))
        n_conditions += has
    cond_member = np.concatenate(cond_member)
    cond_code = np.concatenate(cond_code)
    order = np.lexsort((cond_code, cond_member))
    cond_member, cond_code = cond_member[order], cond_code[order]

    age_factor = np.where(child, 0.45, np.where(senior, 1.35, 0.9))
    risk = rng.lognormal(mean=-0.15, sigma=0.5, size=n) * age_factor * (1 + 0.3 * n_conditions)
    risk = np.round(np.clip(risk, 0.05, 99.0), 3)

    # --- enrollment spans: a current span, some churned out, some came back after a gap --------
    earliest = np.maximum(birth, as_of - 6 * 365)
    start = earliest + (rng.random(n) * np.maximum(as_of - 30 - earliest, 0)).astype(np.int64)
    start = np.minimum(start, as_of)
    disenrolled = rng.random(n) < 0.04
    end = np.where(disenrolled, np.maximum(start, as_of - rng.integers(1, 180, n)), -1)  # -1: still enrolled
    returned = (rng.random(n) < 0.12) & (start - birth > 2 * 365)
    prior_end = start - rng.integers(30, 180, n)
    prior_start = np.maximum(prior_end - rng.integers(180, 1500, n), birth)
    returned &= prior_start < prior_end

    # --- write ----------------------------------------------------------------------------------
    first_id = next_id(s, Member)
    ids = np.arange(first_id, first_id + n)
    pmid_num = 200_000_000 + rng.permutation(n) * 7 + rng.integers(0, 7)
    plan_member_id = np.char.add("LH", pmid_num.astype(str)).astype(object)

    spans_member = np.concatenate([ids[returned], ids])
    spans_product = np.concatenate([np.full(int(returned.sum()), ProductLine.MEDICAID.value, dtype=object), product])
    spans_start = np.concatenate([prior_start[returned], start])
    spans_end = np.concatenate([prior_end[returned], end])
    order = np.lexsort((spans_start, spans_member))
    spans_member, spans_product = spans_member[order], spans_product[order]
    spans_start, spans_end = spans_start[order], spans_end[order]
    end_text = _dates(np.maximum(spans_end, 0)).astype(object)
    end_text[spans_end < 0] = None

    ctx.set_total(n + spans_member.size + cond_member.size)
    member_cols = {
        "id": ids, "plan_id": np.full(n, plan_id), "plan_member_id": plan_member_id, "first_name": first,
        "last_name": last, "birth_date": _dates(birth), "sex": sex, "race": race, "ethnicity": ethnicity,
        "preferred_language": language, "address_1": np.asarray(address, dtype=object), "city": city,
        "state": np.full(n, STATE, dtype=object), "zip": zip_code, "county": county,
        "phone": np.asarray(phone, dtype=object), "product_line": product, "pcp_name": pcp_name,
        "pcp_npi": pcp_npi, "risk_score": risk,  # rounded floats: REAL on SQLite, parsed as NUMERIC by PostgreSQL
    }
    bulk_insert(s, Member, list(member_cols), _rows(member_cols.values()), on_batch=ctx.advance)
    bulk_insert(
        s, EnrollmentSpan, ["member_id", "product_line", "start_date", "end_date"],
        _rows([spans_member, spans_product, _dates(spans_start), end_text]), on_batch=ctx.advance,
    )
    codes = np.asarray([c[0] for c in CONDITIONS], dtype=object)
    bulk_insert(
        s, MemberCondition, ["member_id", "icd10_code"], _rows([ids[cond_member], codes[cond_code]]),
        on_batch=ctx.advance,
    )
    ctx.state.update(
        member_id_range=(int(first_id), int(first_id + n - 1)),
        members_count=n,
        condition_codes=[c[0] for c in CONDITIONS],
    )


def _rows(columns, batch: int = 50_000):
    """Tuples of plain Python values, a batch at a time (a million rows never sit in memory as tuples)."""
    columns = list(columns)
    n = len(columns[0])
    for lo in range(0, n, batch):
        yield from zip(*(c[lo : lo + batch].tolist() for c in columns), strict=True)


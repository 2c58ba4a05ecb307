"""Real New York zip codes and counties for the demo, from the ``zipcodes`` package.

The demo partnership lives in the eight-county Western New York region the WNYICC hub covers
(seed 002_9f9b125fbb7ccb6a.txt: "one contract to reach all of their beneficiaries throughout an
eight-county region"). Counties are stored without the word "County" (``Erie``), as members and
service areas spell them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import zipcodes

STATE = "NY"

# 2020 census populations: members are spread across counties in proportion.
WNY_COUNTIES: dict[str, int] = {
    "Erie": 954_236,
    "Niagara": 212_666,
    "Chautauqua": 127_657,
    "Cattaraugus": 77_042,
    "Genesee": 58_388,
    "Allegany": 46_456,
    "Orleans": 40_343,
    "Wyoming": 40_531,
}


# Area codes by county for phone numbers (the zipcodes package lists overlay codes first).
AREA_CODES = {
    "Erie": "716", "Niagara": "716", "Chautauqua": "716", "Cattaraugus": "716",
    "Allegany": "585", "Genesee": "585", "Orleans": "585", "Wyoming": "585",
}


@dataclass(frozen=True)
class Zip:
    zip: str
    city: str
    county: str
    latitude: float
    longitude: float
    area_code: str


def _county(name: str) -> str:
    return name.removesuffix(" County").strip()


@lru_cache
def ny_zips() -> tuple[Zip, ...]:
    """Active, standard (street-delivery) New York zip codes, sorted by zip."""
    out = []
    for r in zipcodes.filter_by(state=STATE):
        if r["zip_code_type"] != "STANDARD" or not r["active"] or not r.get("county"):
            continue
        out.append(
            Zip(
                zip=r["zip_code"],
                city=r["city"].title(),
                county=_county(r["county"]),
                latitude=float(r["lat"]),
                longitude=float(r["long"]),
                area_code=AREA_CODES.get(_county(r["county"])) or (r.get("area_codes") or ["518"])[0],
            )
        )
    return tuple(sorted(out, key=lambda z: z.zip))


@lru_cache
def zip_index() -> dict[str, Zip]:
    return {z.zip: z for z in ny_zips()}


def zips_in(county: str) -> list[Zip]:
    return [z for z in ny_zips() if z.county == county]


def zip_info(code: str) -> Zip:
    try:
        return zip_index()[code]
    except KeyError:
        raise KeyError(f"{code} is not an active standard New York zip code") from None

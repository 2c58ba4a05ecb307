"""Synthetic eligibility, claims and program roster (Parquet) with a planted intervention effect.

What it models, so the analytics have something real to find:
- members with a persistent latent risk (log-normal, so costs are skewed) and ~3 % high utilizers
  (risk x 4); the plan's risk score is that latent risk measured with noise;
- monthly claim lines per member by service (office, lab, pharmacy, outpatient hospital, emergency
  room, inpatient stay), Poisson counts proportional to risk and to a medical trend, log-normal
  line amounts;
- attribution as in the UHC / Camden Coalition arrangement (seed 002): members living in the
  program's zip codes AND attributed to one of seven partner practices;
- program participants chosen among attributed members, more often among higher-risk members
  (the plan's outreach list), enrolled at the start of the performance period;
- the planted effect: in the performance period, a share ``effect`` of participants' emergency
  room and inpatient lines is averted (dropped). The manifest records the realized effect in
  dollars per participant-month, which the difference-in-differences must recover.

Everything is vectorized NumPy/pyarrow and written in member chunks (one Parquet part per chunk),
so 100 million lines are written without holding them in memory. Same seed, same files.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PROGRAM_ZIPS = ("08102", "08103", "08104", "08105", "08110")
OTHER_ZIPS = ("08002", "08003", "08012", "08021", "08030", "08034", "08043", "08052", "08060", "08081")
PARTNER_PRACTICES = tuple(f"P{n:03d}" for n in range(1, 8))  # the seven practices
OTHER_PRACTICES = tuple(f"P{n:03d}" for n in range(8, 21))

# service lines: (place of service, claim type, lines per member-month at risk 1, mean paid $,
# amount dispersion (log-normal sigma), diagnosis codes)
SERVICES = (
    ("11", "professional", 1.60, 120.0, 0.7, ("I10", "E11.9", "J45.909", "Z00.00", "M54.5")),
    ("81", "professional", 0.80, 35.0, 0.5, ("E78.5", "E11.9", "Z13.1")),
    ("01", "pharmacy", 1.20, 85.0, 1.0, ("I10", "E11.9", "F32.9", "J44.9")),
    ("22", "institutional", 0.25, 650.0, 0.9, ("R07.9", "M25.561", "K21.9")),
    ("23", "institutional", 0.06, 1400.0, 0.8, ("R07.9", "J44.1", "R10.9", "S09.90XA")),
    ("21", "institutional", 0.012, 14000.0, 0.8, ("I50.9", "J44.1", "A41.9", "N17.9")),
)
AVERTABLE = ("23", "21")  # the program reduces emergency room visits and inpatient stays
SDOH_DX = "Z59.41"  # food insecurity, recorded as dx2 on some participants' lines
_LINES_AT_RISK_1 = sum(s[2] for s in SERVICES)

CLAIMS_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("line_number", pa.int32()),
        ("member_id", pa.string()),
        ("service_from", pa.date32()),
        ("service_to", pa.date32()),
        ("place_of_service", pa.string()),
        ("claim_type", pa.string()),
        ("allowed_amount", pa.decimal128(18, 2)),
        ("paid_amount", pa.decimal128(18, 2)),
        ("dx1", pa.string()),
        ("dx2", pa.string()),
    ]
)


@dataclass(frozen=True)
class SynthSpec:
    members: int
    months: int = 24
    start: date = date(2024, 1, 1)
    seed: int = 7
    effect: float = 0.30  # share of participants' ER and inpatient lines averted in the performance period
    participant_share: float = 0.30  # of attributed members
    trend: float = 0.05  # annual medical trend (utilization)
    lines_per_member_month: float = 5.0  # target average, all members
    chunk_members: int = 50_000

    @property
    def baseline_months(self) -> int:
        return self.months // 2

    def month_start(self, k: int) -> date:
        y, m = divmod(self.start.month - 1 + k, 12)
        return date(self.start.year + y, m + 1, 1)


def members_for_lines(lines: int, months: int = 24, lines_per_member_month: float = 5.0) -> int:
    """How many members give about ``lines`` claim lines (enrollment churn included)."""
    rng = np.random.default_rng(0)
    n = 200_000
    s = np.where(rng.random(n) < 0.85, 0, rng.integers(0, months, n))
    e = np.minimum(np.where(rng.random(n) < 0.85, months, s + 1 + rng.integers(0, months, n)), months)
    return max(1, round(lines / ((e - s).mean() * lines_per_member_month)))


def _decimal_array(cents: np.ndarray) -> pa.Array:
    """int64 cents -> decimal128(18,2) without going through floats: the unscaled decimal value
    of a decimal128(19,0) is the integer, so its buffers reinterpreted with scale 2 are cents."""
    d0 = pa.array(cents, pa.int64()).cast(pa.decimal128(19, 0))
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(d0), d0.buffers())


def _dict_strings(codes: np.ndarray, vocab: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(vocab, pa.string())).cast(
        pa.string()
    )


def _member_ids(nums: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise("M", pc.utf8_lpad(pa.array(nums).cast(pa.string()), 8, "0"), "")


def generate(spec: SynthSpec, out: str | Path) -> dict:
    """Write ``out/eligibility/``, ``out/claims/``, ``out/program.parquet`` and ``out/manifest.json``;
    return the manifest (with the planted effect)."""
    out = Path(out)
    for sub in ("eligibility", "claims"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).glob("part-*.parquet"):
            old.unlink()
    rng_root = np.random.SeedSequence(spec.seed)
    month_starts = np.array([spec.month_start(k) for k in range(spec.months + 1)], dtype="datetime64[D]")
    month_days = np.diff(month_starts).astype(np.int64)
    month_epoch = month_starts[:-1].astype(np.int64)  # days since 1970-01-01
    trend = (1 + spec.trend) ** (np.arange(spec.months) / 12.0)
    # scale rates so the population averages the requested lines per member-month
    mean_risk = math.exp(0.8**2 / 2) * (0.97 + 0.03 * 4)
    scale = spec.lines_per_member_month / (_LINES_AT_RISK_1 * mean_risk * trend.mean())
    post = spec.baseline_months
    program_day = month_starts[post]

    totals = dict(
        lines=0,
        member_months=0,
        participants=0,
        participant_post_months=0,
        averted_paid_cents=0,
        averted_lines=0,
    )
    program_parts: list[pa.Table] = []
    chunk_seeds = rng_root.spawn(math.ceil(spec.members / spec.chunk_members))
    for ci, first in enumerate(range(0, spec.members, spec.chunk_members)):
        rng = np.random.default_rng(chunk_seeds[ci])
        n = min(spec.chunk_members, spec.members - first)
        nums = np.arange(first + 1, first + n + 1)
        member_ids = _member_ids(nums)
        z = rng.standard_normal(n)
        high = rng.random(n) < 0.03
        risk = np.exp(0.8 * z) * np.where(high, 4.0, 1.0)
        risk_score = np.round(risk * np.exp(0.1 * rng.standard_normal(n)), 3)
        in_zip = rng.random(n) < 0.45
        zips = np.where(
            in_zip,
            rng.integers(0, len(PROGRAM_ZIPS), n),
            len(PROGRAM_ZIPS) + rng.integers(0, len(OTHER_ZIPS), n),
        )
        partner = rng.random(n) < 0.5
        practices = np.where(partner, rng.integers(0, 7, n), 7 + rng.integers(0, len(OTHER_PRACTICES), n))
        attributed = in_zip & partner
        # outreach favours higher risk: logistic in z, scaled so the share among attributed is ~ requested
        p = 1 / (1 + np.exp(-(z - 0.3)))
        p = np.clip(p * spec.participant_share / 0.43, 0, 1)
        participant = attributed & (rng.random(n) < p)
        age = rng.integers(1, 90, n)
        dob = np.datetime64(spec.start, "D") - (age * 365.25 + rng.integers(0, 365, n)).astype(
            "timedelta64[D]"
        )
        sex = rng.integers(0, 2, n)
        # enrollment: most members stay the whole time, some join late or leave early
        s = np.where(rng.random(n) < 0.85, 0, rng.integers(0, spec.months, n))
        e = np.where(rng.random(n) < 0.85, spec.months, s + 1 + rng.integers(0, spec.months, n))
        e = np.minimum(e, spec.months)
        participant &= (s < post) & (e > post)  # enrolled in both periods when the program starts
        span = e - s
        mm_member = np.repeat(np.arange(n), span)
        mm_month = (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)) + np.repeat(s, span)
        n_mm = len(mm_member)

        elig = pa.table(
            {
                "member_id": member_ids.take(pa.array(mm_member)),
                "month": pa.array(month_epoch[mm_month].astype("int32"), pa.int32()).cast(pa.date32()),
                "zip_code": _dict_strings(zips[mm_member], list(PROGRAM_ZIPS + OTHER_ZIPS)),
                "practice_id": _dict_strings(practices[mm_member], list(PARTNER_PRACTICES + OTHER_PRACTICES)),
                "date_of_birth": pa.array(dob[mm_member].astype("int64").astype("int32"), pa.int32()).cast(
                    pa.date32()
                ),
                "sex": _dict_strings(sex[mm_member], ["F", "M"]),
                "risk_score": pa.array(risk_score[mm_member], pa.float64()),
            }
        )
        pq.write_table(elig, out / "eligibility" / f"part-{ci:05d}.parquet")

        treated_post = participant[mm_member] & (mm_month >= post)
        lam_base = risk[mm_member] * trend[mm_month] * scale
        pieces = []
        for si, (pos, _ctype, rate, mean, sigma, dxs) in enumerate(SERVICES):
            counts = rng.poisson(lam_base * rate)
            idx = np.repeat(np.arange(n_mm), counts)
            k = len(idx)
            mu = math.log(mean) - sigma**2 / 2
            allowed = (
                np.round(np.exp(mu + sigma * rng.standard_normal(k)) * 100 * 1.15).astype(np.int64) + 100
            )
            paid = np.round(allowed * rng.uniform(0.78, 0.92, k)).astype(np.int64)
            paid[rng.random(k) < 0.03] = 0  # denied lines
            keep = np.ones(k, dtype=bool)
            if pos in AVERTABLE:
                averted = treated_post[idx] & (rng.random(k) < spec.effect)
                totals["averted_paid_cents"] += int(paid[averted].sum())
                totals["averted_lines"] += int(averted.sum())
                keep = ~averted
            idx, allowed, paid = idx[keep], allowed[keep], paid[keep]
            k = len(idx)
            los = rng.geometric(0.25, k) - 1 if pos == "21" else np.zeros(k, dtype=np.int64)
            day = month_epoch[mm_month[idx]] + (rng.random(k) * month_days[mm_month[idx]]).astype(np.int64)
            dx2 = np.where(participant[mm_member[idx]] & (rng.random(k) < 0.2), 1, 0)
            pieces.append((si, idx, day, los, allowed, paid, rng.integers(0, len(dxs), k), dx2))

        si_all = np.concatenate([np.full(len(pc_[1]), pc_[0], dtype=np.int8) for pc_ in pieces])
        idx = np.concatenate([pc_[1] for pc_ in pieces])
        order = np.lexsort((si_all, idx))  # lines of a member-month and service stay together
        si_all, idx = si_all[order], idx[order]
        day = np.concatenate([pc_[2] for pc_ in pieces])[order]
        los = np.concatenate([pc_[3] for pc_ in pieces])[order]
        allowed = np.concatenate([pc_[4] for pc_ in pieces])[order]
        paid = np.concatenate([pc_[5] for pc_ in pieces])[order]
        dx_pick = np.concatenate([pc_[6] for pc_ in pieces])[order]
        dx2 = np.concatenate([pc_[7] for pc_ in pieces])[order]
        k = len(idx)
        # one claim per member-month and service, except one claim per inpatient stay
        group_start = np.ones(k, dtype=bool)
        group_start[1:] = (idx[1:] != idx[:-1]) | (si_all[1:] != si_all[:-1]) | (si_all[1:] == 5)
        claim_no = np.cumsum(group_start) - 1
        starts = np.flatnonzero(group_start)
        line_number = np.arange(k) - np.repeat(starts, np.diff(np.append(starts, k))) + 1
        claim_ids = pc.binary_join_element_wise(
            f"C{ci:05d}", pc.utf8_lpad(pa.array(claim_no).cast(pa.string()), 9, "0"), ""
        )
        dx_vocab: list[str] = []
        offsets = []
        for svc in SERVICES:
            offsets.append(len(dx_vocab))
            dx_vocab.extend(svc[5])
        pos_vocab = [svc[0] for svc in SERVICES]
        type_vocab = [svc[1] for svc in SERVICES]
        claims = pa.table(
            {
                "claim_id": claim_ids,
                "line_number": pa.array(line_number, pa.int32()),
                "member_id": member_ids.take(pa.array(mm_member[idx])),
                "service_from": pa.array(day.astype("int32"), pa.int32()).cast(pa.date32()),
                "service_to": pa.array((day + los).astype("int32"), pa.int32()).cast(pa.date32()),
                "place_of_service": _dict_strings(si_all, pos_vocab),
                "claim_type": _dict_strings(si_all, type_vocab),
                "allowed_amount": _decimal_array(allowed),
                "paid_amount": _decimal_array(paid),
                "dx1": _dict_strings(np.array(offsets)[si_all] + dx_pick, dx_vocab),
                "dx2": pa.DictionaryArray.from_arrays(
                    pa.array(dx2, pa.int32()), pa.array([None, SDOH_DX], pa.string())
                ).cast(pa.string()),
            },
            schema=CLAIMS_SCHEMA,
        )
        pq.write_table(claims, out / "claims" / f"part-{ci:05d}.parquet", row_group_size=1_000_000)

        pidx = np.flatnonzero(participant)
        program_parts.append(
            pa.table(
                {
                    "member_id": member_ids.take(pa.array(pidx)),
                    "enrolled_on": pa.array(
                        np.full(len(pidx), program_day.astype("int64"), dtype=np.int32), pa.int32()
                    ).cast(pa.date32()),
                }
            )
        )
        totals["lines"] += k
        totals["member_months"] += n_mm
        totals["participants"] += len(pidx)
        totals["participant_post_months"] += int(treated_post.sum())

    pq.write_table(pa.concat_tables(program_parts), out / "program.parquet")
    averted = Decimal(totals["averted_paid_cents"]) / 100
    ppm = totals["participant_post_months"]
    manifest = {
        "spec": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(spec).items()},
        "baseline": [spec.month_start(0).isoformat(), spec.month_start(post - 1).isoformat()],
        "performance": [spec.month_start(post).isoformat(), spec.month_start(spec.months - 1).isoformat()],
        "attribution": {"zip_codes": list(PROGRAM_ZIPS), "practice_ids": list(PARTNER_PRACTICES)},
        "lines": totals["lines"],
        "member_months": totals["member_months"],
        "participants": totals["participants"],
        "participant_performance_member_months": ppm,
        "averted_lines": totals["averted_lines"],
        "averted_paid": str(averted),
        # the planted change in participants' PMPM (negative = savings), realized in this data
        "planted_effect_pmpm": str((-averted / ppm).quantize(Decimal("0.01")) if ppm else Decimal("0.00")),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest

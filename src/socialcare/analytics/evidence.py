"""The evidence library: interventions and their published effects, versioned data.

The packaged default is ``evidence/interventions.yaml`` (sources: payments-and-value.md section 6
and the public pages each entry names). A plan edits a copy and passes its path; both are
validated the same way, and every problem is reported with the file and the field.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialcare.core.errors import InvalidInput, NotFound, Problem

Tag = Literal["V", "S", "M", "D", "A"]
TAG_MEANING = {
    "V": "seen in a public source",
    "S": "stated in seed 002",
    "M": "from memory of the paper: check before relying on it",
    "D": "derived by arithmetic from published figures",
    "A": "assumption",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, v):
        # YAML gives floats for 0.29; keep the decimal digits as written
        return Decimal(str(v)) if isinstance(v, float) else v


class Category(_Model):
    label: str
    unit: str


class Baseline(_Model):
    per_1000_member_months: Decimal = Field(ge=0)
    unit_cost: Decimal = Field(ge=0)
    tag: Tag = "A"
    note: str | None = None


class Effect(_Model):
    category: str
    kind: Literal["relative", "pmpm"] = "relative"
    estimate: Decimal
    ci_low: Decimal | None = None
    ci_high: Decimal | None = None
    tag: Tag
    note: str | None = None

    @model_validator(mode="after")
    def _ci(self):
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.ci_low is not None and not (self.ci_low <= self.estimate <= self.ci_high):
            raise ValueError(f"estimate {self.estimate} outside its interval [{self.ci_low}, {self.ci_high}]")
        if self.kind == "relative" and not (Decimal(-1) < self.estimate < Decimal(1)):
            raise ValueError("a relative reduction lies between -1 and 1 (0.29 = 29 % fewer events)")
        return self

    @property
    def reported_ci(self) -> bool:
        return self.ci_low is not None

    @property
    def interval_includes_zero(self) -> bool:
        """No evidence of an effect: the ROI calculator credits it with nothing by default."""
        return self.ci_low is not None and self.ci_low <= 0 <= self.ci_high


class Cost(_Model):
    amount: Decimal = Field(ge=0)
    per: Literal["participant", "participant_month", "participant_week"]
    tag: Tag
    note: str | None = None


class Published(_Model):
    summary: str
    tag: Tag
    roi_convention: Literal["net", "benefit_cost_ratio"] | None = None


class Intervention(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    domain: str
    population: str
    design: str
    citation: str
    source_url: str | None = None
    effects: tuple[Effect, ...] = ()
    typical_cost: Cost | None = None
    published: Published | None = None
    note: str | None = None


class Library(_Model):
    version: str
    updated: str | None = None
    categories: dict[str, Category]
    default_baselines: dict[str, Baseline] = {}
    interventions: tuple[Intervention, ...]

    @model_validator(mode="after")
    def _references(self):
        seen: set[str] = set()
        for i in self.interventions:
            if i.id in seen:
                raise ValueError(f"intervention id {i.id!r} appears twice")
            seen.add(i.id)
            for e in i.effects:
                if e.category not in self.categories:
                    raise ValueError(f"{i.id}: unknown category {e.category!r} (declare it under categories)")
        for k in self.default_baselines:
            if k not in self.categories:
                raise ValueError(f"default_baselines: unknown category {k!r}")
        return self

    def get(self, intervention_id: str) -> Intervention:
        for i in self.interventions:
            if i.id == intervention_id:
                return i
        raise NotFound(f"no intervention {intervention_id!r} in evidence library {self.version}")


DEFAULT_PATH = "evidence/interventions.yaml"


def parse(text: str, source: str) -> Library:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput("the evidence file is not valid YAML", [Problem(str(exc), file=source)]) from exc
    try:
        return Library.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(err["msg"], field=".".join(str(p) for p in err["loc"]) or None, file=source)
            for err in exc.errors()
        ]
        raise InvalidInput("the evidence library was rejected", problems) from exc


@lru_cache
def _default() -> Library:
    text = resources.files("socialcare.analytics").joinpath(DEFAULT_PATH).read_text(encoding="utf-8")
    return parse(text, "socialcare/analytics/" + DEFAULT_PATH)


def load(path: str | Path | None = None) -> Library:
    """The packaged library, or the plan's own edited copy at ``path``."""
    if path is None:
        return _default()
    p = Path(path)
    if not p.is_file():
        raise InvalidInput("evidence file not found", [Problem("no such file", file=str(p))])
    return parse(p.read_text(encoding="utf-8"), str(p))

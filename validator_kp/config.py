"""Typed view of a ruleset's ``[kp]`` section.

The section is checked by the ruleset schema (validator_kp/schema.py) when the
ruleset is loaded — unknown keys, wrong types, bad dates, unknown products or regions are
refused with the key's path and line — so this module only converts validated data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from validator.ruleset.model import RulesetError, problem_report
from validator.ruleset.schema import Walk, to_date

from .schema import FUNDING, KP, POS_UNKNOWN_TIER, PRODUCTS, REGIONS

# The vocabulary the logic (and the roster format) is written against: PRODUCTS, REGIONS,
# FUNDINGS and POS_UNKNOWN_TIER (a POS plan whose tier could not be determined).
FUNDINGS = FUNDING
__all__ = ["FUNDINGS", "POS_UNKNOWN_TIER", "PRODUCTS", "REGIONS", "Emergency", "KPConfig",
           "Product", "Region", "Route", "from_ruleset", "parse"]


@dataclass(frozen=True)
class Route:
    payer_name: str
    payer_id: str
    address: str
    city: str
    state: str
    zip: str
    appeals: str | None

    @property
    def mailing_address(self) -> str:
        return f"{self.address}, {self.city}, {self.state} {self.zip}"

    def describe(self) -> str:
        """``<name>, <address>, payer ID <id>`` for messages."""
        return f"{self.payer_name}, {self.mailing_address}, payer ID {self.payer_id}"


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    effective: dt.date
    emergency_only: bool
    upfront_cost_share: bool
    appeals: str | None


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    keywords: tuple[str, ...]
    excluded_insured_products: tuple[str, ...]
    appeals: str | None


@dataclass(frozen=True)
class Emergency:
    places_of_service: tuple[str, ...]
    procedures: tuple[str, ...]
    admission_types: tuple[str, ...]
    revenue_codes: tuple[str, ...]


@dataclass(frozen=True)
class KPConfig:
    phone: str
    kp_states: tuple[str, ...]
    payer_ids: tuple[str, ...]
    patterns: tuple[str, ...]
    self_funded: tuple[str, ...]
    routes: dict[str, Route]  # by funding
    products: dict[str, Product]
    plan_keywords: tuple[tuple[str, tuple[str, ...]], ...]  # (product, keywords), in order
    claim_filing: dict[str, str]
    regions: dict[str, Region]  # in file order (the order keywords are tried)
    emergency: Emergency


def _words(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip().upper() for v in values)


def _route(t: dict[str, Any]) -> Route:
    return Route(t["payer_name"].strip(), t["payer_id"].strip(), t["address"].strip(),
                 t["city"].strip(), t["state"].strip(), t["zip"].strip(), t.get("appeals"))


def parse(section: Any, where: str = "<ruleset>") -> KPConfig:
    """The ``[kp]`` section as a :class:`KPConfig`; raises RulesetError naming every bad
    key (the checks are the schema's, the same ``ruleset lint`` runs)."""
    problems = list(KP.check(section, ("kp",), Walk()))
    if problems:
        raise RulesetError(problem_report(where, [p.at(where, None) for p in problems]))
    ident, em = section["identify"], section["emergency"]
    return KPConfig(
        phone=section["phone"].strip(),
        kp_states=_words(section["kp_states"]),
        payer_ids=tuple(v.strip() for v in ident["payer_ids"]),
        patterns=_words(ident["patterns"]),
        self_funded=_words(ident["self_funded"]),
        routes={f: _route(section["routes"][f]) for f in FUNDINGS},
        products={code: Product(code, t["name"].strip(), to_date(t["effective"]),
                                t["emergency_only"], t["upfront_cost_share"], t.get("appeals"))
                  for code, t in ((c, section["products"][c]) for c in PRODUCTS)},
        plan_keywords=tuple((t["product"], _words(t["keywords"]))
                            for t in section["plan_keywords"]),
        claim_filing={code.upper(): product for code, product in section["claim_filing"].items()},
        # file order = the order region keywords are tried
        regions={code: Region(code, t["name"].strip(), _words(t["keywords"]),
                              tuple(t["excluded_insured_products"]), t.get("appeals"))
                 for code, t in section["regions"].items()},
        emergency=Emergency(tuple(v.strip() for v in em["places_of_service"]),
                            _words(em["procedures"]),
                            tuple(v.strip() for v in em["admission_types"]),
                            tuple(v.strip().zfill(4) for v in em["revenue_codes"])),
    )


def from_ruleset(ruleset) -> KPConfig | None:
    """The ruleset's KP configuration, or None when it has no ``[kp]`` section."""
    section = ruleset.data.get("kp")
    if section is None:
        return None
    return parse(section, ruleset.path or ruleset.name)

"""Typed, validated view of a ruleset's ``[kp]`` section.

Every key is checked when the ruleset is loaded: unknown keys, wrong types, bad dates and
unknown products or regions raise :class:`~validator.ruleset.RulesetError` with the key's
dotted path, so a broken ruleset is refused before any file is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..ruleset import RulesetError, section_validator

# The vocabulary the logic (and the roster format) is written against.
PRODUCTS = ("HMO", "EPO", "POS2", "POS3", "PPO")
POS_UNKNOWN_TIER = "POS"  # a POS plan whose tier could not be determined
REGIONS = ("NCAL", "SCAL", "CO", "GA", "HI", "MAS", "NW", "WA")
FUNDINGS = ("insured", "self-funded")


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


class _Table:
    """A TOML table being read: typed getters that name the key path in errors."""

    def __init__(self, data: Any, path: str, where: str) -> None:
        if not isinstance(data, dict):
            raise RulesetError(f"{where}: {path} must be a table, not {_kind(data)}")
        self.data, self.path, self.where = data, path, where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def fail(self, name: str, problem: str) -> RulesetError:
        return RulesetError(f"{self.where}: {self.key(name)} {problem}")

    def raw(self, name: str, required: bool = True) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "is missing")
            return None
        return self.data[name]

    def string(self, name: str, required: bool = True) -> str | None:
        v = self.raw(name, required)
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            raise self.fail(name, f"must be a non-empty string, not {_kind(v)}")
        return v.strip()

    def boolean(self, name: str) -> bool:
        v = self.raw(name)
        if not isinstance(v, bool):
            raise self.fail(name, f"must be true or false, not {_kind(v)}")
        return v

    def strings(self, name: str, allowed: tuple[str, ...] | None = None,
                what: str = "value", non_empty: bool = True) -> tuple[str, ...]:
        v = self.raw(name)
        if not isinstance(v, list) or not all(isinstance(s, str) and s.strip() for s in v):
            raise self.fail(name, f"must be a list of non-empty strings, not {_kind(v)}")
        if non_empty and not v:
            raise self.fail(name, "must not be empty")
        out = tuple(s.strip() for s in v)
        if allowed is not None:
            for s in out:
                if s not in allowed:
                    raise self.fail(name, f"has unknown {what} {s!r} (known: {', '.join(allowed)})")
        return out

    def date(self, name: str) -> dt.date:
        v = self.raw(name)
        if isinstance(v, dt.datetime):
            raise self.fail(name, f"must be a date (YYYY-MM-DD), not a date-time {v.isoformat()}")
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip())
            except ValueError:
                raise self.fail(name, f"is not a valid date (YYYY-MM-DD): {v!r}") from None
        raise self.fail(name, f"must be a date (YYYY-MM-DD), not {_kind(v)}")

    def table(self, name: str) -> _Table:
        return _Table(self.raw(name), self.key(name), self.where)

    def done(self) -> None:
        """Refuse keys nobody read (typos, keys from another version)."""
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise RulesetError(f"{self.where}: unknown key {self.key(extra[0])}"
                               + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return f"string {v!r}"
    return f"{type(v).__name__} {v!r}"


def _route(t: _Table) -> Route:
    r = Route(payer_name=t.string("payer_name"), payer_id=t.string("payer_id"),
              address=t.string("address"), city=t.string("city"), state=t.string("state"),
              zip=t.string("zip"), appeals=t.string("appeals", required=False))
    t.done()
    return r


def parse(section: Any, where: str = "<ruleset>") -> KPConfig:
    """The ``[kp]`` section as a :class:`KPConfig`; raises RulesetError naming the key."""
    kp = _Table(section, "kp", where)
    phone = kp.string("phone")
    states = tuple(s.upper() for s in kp.strings("kp_states"))
    for s in states:
        if len(s) != 2 or not s.isalpha():
            raise kp.fail("kp_states", f"has {s!r}, not a two-letter state code")

    ident = kp.table("identify")
    payer_ids = ident.strings("payer_ids", non_empty=False)
    patterns = tuple(p.upper() for p in ident.strings("patterns"))
    self_funded = tuple(p.upper() for p in ident.strings("self_funded", non_empty=False))
    ident.done()

    routes_t = kp.table("routes")
    routes = {f: _route(routes_t.table(f)) for f in FUNDINGS}
    routes_t.done()

    prod_t = kp.table("products")
    products: dict[str, Product] = {}
    for code in prod_t.data:
        if code not in PRODUCTS:
            raise RulesetError(f"{where}: unknown product {prod_t.key(code)} "
                               f"(known: {', '.join(PRODUCTS)})")
    for code in PRODUCTS:
        t = prod_t.table(code)
        products[code] = Product(code, t.string("name"), t.date("effective"),
                                 t.boolean("emergency_only"), t.boolean("upfront_cost_share"),
                                 t.string("appeals", required=False))
        t.done()
    prod_t.done()

    with_pos = (*PRODUCTS, POS_UNKNOWN_TIER)
    kw_list = kp.raw("plan_keywords")
    if not isinstance(kw_list, list) or not kw_list:
        raise kp.fail("plan_keywords", "must be a non-empty array of tables ([[kp.plan_keywords]])")
    plan_keywords = []
    for i, item in enumerate(kw_list):
        t = _Table(item, f"kp.plan_keywords[{i}]", where)
        product = t.string("product")
        if product not in with_pos:
            raise t.fail("product", f"is unknown product {product!r} (known: {', '.join(with_pos)})")
        plan_keywords.append((product, tuple(k.upper() for k in t.strings("keywords"))))
        t.done()

    cf = kp.table("claim_filing")
    claim_filing = {}
    for code in list(cf.data):
        value = cf.string(code)
        if value not in with_pos:
            raise cf.fail(code, f"is unknown product {value!r} (known: {', '.join(with_pos)})")
        claim_filing[code.upper()] = value
    cf.done()

    reg_t = kp.table("regions")
    for code in reg_t.data:
        if code not in REGIONS:
            raise RulesetError(f"{where}: unknown region {reg_t.key(code)} "
                               f"(known: {', '.join(REGIONS)})")
    regions: dict[str, Region] = {}
    for code in reg_t.data:  # file order = the order region keywords are tried
        t = reg_t.table(code)
        regions[code] = Region(code, t.string("name"),
                               tuple(k.upper() for k in t.strings("keywords")),
                               t.strings("excluded_insured_products", PRODUCTS, "product",
                                         non_empty=False),
                               t.string("appeals", required=False))
        t.done()
    missing = [r for r in REGIONS if r not in regions]
    if missing:
        raise RulesetError(f"{where}: {reg_t.key(missing[0])} is missing")
    reg_t.done()

    em = kp.table("emergency")
    emergency = Emergency(em.strings("places_of_service", non_empty=False),
                          tuple(p.upper() for p in em.strings("procedures", non_empty=False)),
                          em.strings("admission_types", non_empty=False),
                          tuple(r.zfill(4) for r in em.strings("revenue_codes", non_empty=False)))
    em.done()
    kp.done()
    return KPConfig(phone, states, payer_ids, patterns, self_funded, routes, products,
                    tuple(plan_keywords), claim_filing, regions, emergency)


@section_validator("kp")
def _validate(section: Any, where: str) -> None:
    parse(section, where)


def from_ruleset(ruleset) -> KPConfig | None:
    """The ruleset's KP configuration, or None when it has no ``[kp]`` section."""
    section = ruleset.data.get("kp")
    if section is None:
        return None
    return parse(section, ruleset.path or ruleset.name)

"""Schema of the ``[kp]`` section (the KP/Cigna rules' data, ``rulesets/kp-cigna.toml``)."""

from __future__ import annotations

from validator.ruleset.schema import (
    US_STATES,
    Bool,
    Date,
    Enum,
    Field,
    Keyword,
    ListOf,
    MapOf,
    Str,
    Table,
)

# The vocabulary the KP logic, the ruleset data and the roster format are written in.
PRODUCTS = ("HMO", "EPO", "POS2", "POS3", "PPO")
REGIONS = ("NCAL", "SCAL", "CO", "GA", "HI", "MAS", "NW", "WA")
FUNDING = ("insured", "self-funded")


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


POS_UNKNOWN_TIER = "POS"  # identification may find a POS plan whose tier is unknown
PRODUCT = Enum("product", PRODUCTS)
PRODUCT_OR_POS = Enum("product", (*PRODUCTS, POS_UNKNOWN_TIER))
# Literal words, matched whole and case-insensitively (not regular expressions).
WORD = Keyword()
WORDS = ListOf(WORD, normalize=_upper, min_items=1)
SOME_WORDS = ListOf(WORD, normalize=_upper)

ROUTE = Table({
    "payer_name": Field(Str(), required=True),
    "payer_id": Field(Str(r"[A-Za-z0-9]{2,80}", "a payer ID (letters and digits)"), required=True),
    "address": Field(Str(), required=True),
    "city": Field(Str(), required=True),
    "state": Field(Enum("state", tuple(US_STATES)), required=True),
    "zip": Field(Str(r"\d{5}(-?\d{4})?", "a ZIP code (12345 or 12345-6789)"), required=True),
    "appeals": Field(Str()),
})

PRODUCT_INFO = Table({
    "name": Field(Str(), required=True),
    "effective": Field(Date(), required=True, doc="first service date covered"),
    "emergency_only": Field(Bool(), required=True),
    "upfront_cost_share": Field(Bool(), required=True),
    "appeals": Field(Str()),
})

REGION_INFO = Table({
    "name": Field(Str(), required=True),
    "keywords": Field(WORDS, required=True),
    "excluded_insured_products": Field(ListOf(PRODUCT), required=True),
    "appeals": Field(Str()),
})

KP = Table({
    "phone": Field(Str(r"\+?[0-9][0-9 ().-]{6,}", "a phone number like 888.831.0761"),
                   required=True),
    "kp_states": Field(ListOf(Enum("state", tuple(US_STATES))), required=True),
    "identify": Field(Table({
        "payer_ids": Field(ListOf(Str(r"[A-Za-z0-9]{2,80}", "a payer ID")), required=True),
        "patterns": Field(WORDS, required=True,
                          doc="KP names in NM103/SBR04 (whole words, case-insensitive)"),
        "self_funded": Field(SOME_WORDS, required=True),
    }), required=True),
    "routes": Field(Table({f: Field(ROUTE, required=True) for f in FUNDING}), required=True),
    # Every product needs its facts (a table with other keys is a misspelt product).
    "products": Field(Table({p: Field(PRODUCT_INFO, required=True) for p in PRODUCTS},
                                  key_name="product"),
                      required=True),
    "plan_keywords": Field(ListOf(Table({
        "product": Field(PRODUCT_OR_POS, required=True),
        "keywords": Field(WORDS, required=True),
    }), min_items=1), required=True, doc="[[kp.plan_keywords]] tables, first match wins"),
    "claim_filing": Field(MapOf(Str(r"[A-Z0-9]{1,2}", "a claim filing code"), PRODUCT_OR_POS),
                          required=True),
    # Every region; their order is the order region keywords are tried.
    "regions": Field(Table({r: Field(REGION_INFO, required=True) for r in REGIONS},
                                 key_name="region"),
                     required=True),
    "emergency": Field(Table({
        "places_of_service": Field(ListOf(Str(r"\d{2}", "a 2-digit place of service")),
                                   required=True),
        "procedures": Field(ListOf(Str(r"[A-Z0-9]{5}", "a 5-character procedure code"),
                                   normalize=_upper), required=True),
        "admission_types": Field(ListOf(Str(r"\d", "a 1-digit admission type")), required=True),
        "revenue_codes": Field(ListOf(Str(r"\d{3,4}", "a 4-digit revenue code"),
                                      normalize=lambda v: str(v).zfill(4)), required=True),
    }), required=True),
})

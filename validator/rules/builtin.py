"""The ``core`` plugin: the generic X12/HIPAA rules (WEDI SNIP 1-5) that every run has.

Modules are listed in registry order (the order rules run and findings tie-break in).
"""

from __future__ import annotations

from pathlib import Path

from ..ruleset.schema import US_STATES, Enum, Field, ListOf, MapOf, Str, Table
from .plugin import Plugin, Section

MODULES = (
    "validator.rules.envelope",
    "validator.rules.file_level",
    "validator.rules.generic.addresses",
    "validator.rules.generic.balancing",
    "validator.rules.generic.codes",
    "validator.rules.generic.codesets",
    "validator.rules.generic.dates",
    "validator.rules.generic.diagnoses",
    "validator.rules.generic.duplicates",
    "validator.rules.generic.npi",
    "validator.rules.generic.payers",
    "validator.rules.generic.providers",
    "validator.rules.generic.structure",
    "validator.rules.ig.rules",
    "validator.rules.internal",
)

# The shipped rulesets: the repository's rulesets/ (validator/rulesets links to it, so that
# a wheel carries them as package data and an installed copy finds them too).
SHIPPED_DIR = (Path(__file__).resolve().parent.parent / "rulesets").resolve()


# ``[codes]``: facts the generic code-set rules read. ``zip_states``: ZIP codes that straddle a
# state line, with the states accepted besides the one the USPS data gives (CODE519/CODE520).
CODES = Table({
    "zip_states": Field(
        MapOf(Str(r"\d{5}", "a 5-digit ZIP code"),
              ListOf(Enum("state", US_STATES), min_items=1)),
        doc='ZIP code = states also accepted, e.g. { "42223" = ["TN"] }'),
})


def plugin() -> Plugin:
    return Plugin("core", modules=MODULES, rulesets=(SHIPPED_DIR,),
                  sections=(Section("codes", CODES, doc="the generic code-set rules' data"),))

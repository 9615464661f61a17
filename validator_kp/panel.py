"""How the HTML report shows the ``kp`` object on a claim card."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from validator.rules.plugin import Panel
from validator.ruleset.model import Ruleset

# Fields in display order, with their labels (``member`` is the panel's flag).
LABELS = {
    "source": "Identified by", "product": "Product", "region": "Region", "funding": "Funding",
    "service_state": "Care given in", "in_kp_state": "Inside a KP state",
    "routed": "Route applies", "expected_payer_id": "Expected payer ID",
    "expected_payer_name": "Expected payer", "expected_payer_address": "Mail claims to",
    "appeals": "Appeals / disputes", "phone": "Eligibility & benefits",
}
SOURCES = {"roster": "member roster", "payer_id": "payer ID", "payer_name": "payer name",
           "plan_name": "plan name (SBR04)"}


def _display(kp: pl.Expr) -> Mapping[str, pl.Expr]:
    """Fields rewritten for people: how the member was identified, whether the route applies."""
    f = kp.struct.field
    routed = (
        pl.when(f("routed") & (f("funding") == "self-funded"))
        .then(pl.lit("yes: self-funded plan, claims to KPIC"))
        .when(f("routed")).then(pl.lit("yes: Cigna PPO network"))
        .when(f("routed").not_() & f("in_kp_state"))
        .then(pl.lit("no: care inside a Kaiser Permanente state is billed to Kaiser "
                     "Permanente, not Cigna"))
        .when(f("routed").not_())
        .then(pl.lit("no: the member's region is excluded from the Cigna route; verify where "
                     "to send the claim"))
    )
    return {"source": f("source").replace(SOURCES), "routed": routed}


def _extras(ruleset: Ruleset) -> Mapping[str, str]:
    """The eligibility phone of the ruleset, for claims whose ``kp`` object lacks it."""
    phone = ruleset.section("kp").get("phone")
    return {"phone": phone} if isinstance(phone, str) else {}


PANEL = Panel(column="kp", title="Kaiser Permanente member", labels=LABELS, flag="member",
              absent=("Kaiser Permanente", "not a KP member"), display=_display,
              extras=_extras)

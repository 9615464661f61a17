"""The Kaiser Permanente / Cigna PPO network plugin: identification, roster and KP1xx rules.

``config`` gives a typed view of the ruleset's ``[kp]`` section (``schema``), ``roster``
reads the ``--members`` file, ``identify`` derives each claim's KP facts as one polars
table, ``rules`` holds the KP1xx checks and the ``kp`` annotator, ``panel`` shows the ``kp``
object on the HTML report's claim cards. The engine knows none of this: the plugin is
found through the ``claims_validator.plugins`` entry point (pyproject.toml).
"""

from __future__ import annotations

from validator.rules.plugin import Option, Plugin, Section

from .panel import PANEL
from .schema import KP


def plugin() -> Plugin:
    return Plugin(
        "kp",
        modules=("validator_kp.rules",),
        sections=(Section("kp", KP, doc="the KP/Cigna rules' data"),),
        options=(Option("members", "--members", metavar="FILE", case_key="roster",
                        help="Member roster (CSV or Parquet: member_id, product, region, "
                             "funding)."),),
        panels=(PANEL,),
        default_ruleset="kp-cigna",
    )

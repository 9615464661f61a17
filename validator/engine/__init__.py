"""The engine: inputs -> read (segments, claim tables) -> rules -> findings -> result.

``inputs`` collects files, ``read`` builds the batch tables, ``run`` plans and runs the
rules, ``units`` checks large batches a unit at a time (runs of files, pieces of large
files), ``distributed`` runs the units on a Dask cluster, ``check`` ties them together and
``result`` is what the outputs render. The engine knows no payer: rules, annotators and
their data come from the registry (validator.rules.registry).
"""

from .check import check
from .inputs import DEFAULT_EXCLUDES, collect_inputs
from .read import read_batch
from .result import Result
from .run import Plan, Selection, run_rules

__all__ = ["DEFAULT_EXCLUDES", "Plan", "Result", "Selection", "check", "collect_inputs",
           "read_batch", "run_rules"]

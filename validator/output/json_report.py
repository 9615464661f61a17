"""The JSON report (schema_version 1): the machine-readable contract documented in README."""

from __future__ import annotations

import json

from .. import __version__
from ..engine import Result
from .tables import SCHEMA_VERSION, claims_view, files_view, findings_view, summary


def _array(df) -> str:
    """Row-oriented JSON array written by polars (fast for 100k+ rows)."""
    return df.write_json() if df.height else "[]"


def render(result: Result) -> str:
    """The whole JSON document as a string (nulls as ``null``, dates as YYYY-MM-DD)."""
    files = files_view(result).drop("file_id")
    claims = claims_view(result).drop("claim_key", "file_id")
    found = findings_view(result).drop("claim_key", "file_id")
    head = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "claims-validator", "version": __version__},
        "ruleset": {"name": result.ruleset.name, "version": result.ruleset.version},
        "summary": summary(result),
    }
    # Assemble around polars' arrays instead of building 100k Python dicts.
    return (json.dumps(head)[:-1] + ', "files": ' + _array(files) + ', "claims": '
            + _array(claims) + ', "findings": ' + _array(found) + "}\n")

"""Known differences between the native implementation-guide engine and pyx12 (the oracle).

``tests/test_ig_differential.py`` and ``tests/ig_parity.py`` compare the findings of
``--ig-engine native`` with those of ``--ig-engine pyx12`` as multisets of keys
``(file, segment_index, element, ig_code)`` (IK304-3 keyed by transaction set and the ID of
the missing segment or loop instead of a position). Every finding on one side only must be
covered by an entry of ``KNOWN_DIFFERENCES``; anything else fails the tests.

An entry covers a finding when
- ``ig_code`` equals the finding's code (``ig_code``, or the rule code for IG210/IG211/IG299
  findings, which have none), or is ``"*"``;
- ``side`` is the finding's side: ``"missed"`` (pyx12 reports it, native does not),
  ``"extra"`` (native only) or ``"both"``;
- ``match`` accepts it: a mapping ``field -> regular expression`` (``re.search`` on the
  field's text, a missing value being the empty string; every field must match) or a
  callable ``finding -> bool``. A finding is a dict with ``file``, ``path`` (the file
  validated), ``kind`` (mutation kind, or ``corpus`` / ``generated`` / ``regression``),
  ``mutation`` (the mutant's name), ``st`` (segment index of its transaction set's ST),
  ``segment_index`` (1-based, ISA = 1), ``segment_id``, ``element``, ``ig_code``, ``rule``,
  ``message``, ``expected``, ``loop``, ``found``, ``engine`` and ``pyx12_failed`` (pyx12
  reported IG299, i.e. could not validate, this transaction set).

``reason`` says why the difference is accepted (a pyx12 bug the native engine does not
copy, a deliberate reading of the guide, ...). :func:`markdown` renders the table for the
README. Keep entries narrow: an entry that covers more than the case it documents hides
regressions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class KnownDifference:
    ig_code: str
    side: str  # "missed" | "extra" | "both"
    reason: str
    match: Mapping[str, str] | Callable[[dict], bool] = field(default_factory=dict)
    # how the entry is shown in the README table (defaults to the match patterns)
    covers: str = ""


@functools.lru_cache(maxsize=64)
def _segment_ids(path: str) -> list[str]:
    from ig_mutate import split_ids

    return split_ids(Path(path).read_text(encoding="utf-8", errors="replace"))


def _lx_before_first_clm(f: dict) -> bool:
    """IK304-LX in a transaction set where an LX comes before the set's first CLM"""
    try:
        ids = _segment_ids(f["path"])
    except (KeyError, OSError, ValueError):
        return False
    i = min(max((f.get("st") or 1) - 1, 0), len(ids) - 1)  # segment_index is 1-based
    while i > 0 and ids[i] != "ST":
        i -= 1
    for sid in ids[i + 1:]:
        if sid in ("CLM", "SE"):
            return False
        if sid == "LX":
            return True
    return False


def _in_set_pyx12_failed_on(f: dict) -> bool:
    """any finding in a transaction set pyx12 could not validate (it reported IG299 there)"""
    return bool(f.get("pyx12_failed"))


KNOWN_DIFFERENCES: list[KnownDifference] = [
    KnownDifference(
        "IG299", "missed",
        reason="pyx12 4.0 crashes on some malformed segments: a composite with more components "
               "than the guide defines (IndexError in segment_if.is_valid_errors) and a DTP03 "
               "range with more than one '-' (ValueError). The native engine validates the "
               "transaction set instead of giving up on it.",
        match={"message": r"IndexError: list index out of range|ValueError: too many values to unpack"},
        covers="IG299 with pyx12's IndexError / ValueError",
    ),
    KnownDifference(
        "*", "extra",
        reason="pyx12 reported nothing but IG299 for that transaction set (see above), so the "
               "native engine's findings there have no pyx12 counterpart.",
        match=_in_set_pyx12_failed_on,
    ),
    KnownDifference(
        "IK304-LX", "both",
        reason="pyx12 resets its LX counter only at a CLM, not at ST: an LX before the first CLM "
               "of a transaction set is counted on from the previous transaction set of the "
               "same pyx12 run, so its finding depends on how the batch was cut into pyx12 "
               "runs (--jobs). The native engine restarts the count with each transaction set.",
        match=_lx_before_first_clm,
    ),
]


def describe(entry: KnownDifference) -> str:
    if entry.covers:
        return entry.covers
    if callable(entry.match):
        return (entry.match.__doc__ or entry.match.__name__).strip()
    return ", ".join(f"{k} ~ `{v}`" for k, v in entry.match.items()) or "all"


def markdown(entries: list[KnownDifference] | None = None) -> str:
    """The table of known differences as Markdown (for the README)."""
    entries = KNOWN_DIFFERENCES if entries is None else entries
    side = {"missed": "pyx12 only", "extra": "native only", "both": "either"}
    rows = ["| IK code | reported by | findings covered | reason |", "|---|---|---|---|"]
    rows += [f"| {e.ig_code} | {side.get(e.side, e.side)} | {describe(e)} | {e.reason} |"
             for e in entries]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())

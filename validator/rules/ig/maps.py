"""Which pyx12 map validates which 837 implementation guide.

Read from pyx12's own map index (``maps.xml``), so a pyx12 release that adds a map (e.g.
an 837D 5010 map) is picked up without a code change. Errata and base versions
(``005010X222A2``, ``005010X222``) are validated against the map of the same guide
(``005010X222A1``), with a note.
"""

from __future__ import annotations

import functools
import re

_GUIDE = re.compile(r"^(\d{6})(X\d{3})")


@functools.cache
def pyx12_maps() -> dict[str, str]:
    """``{version prefix + guide: vriic}`` for every 5010 837 map pyx12 ships (fic HC)."""
    import pyx12.map_index

    out: dict[str, str] = {}
    for m in pyx12.map_index.map_index().maps:
        vriic = m["vriic"] or ""
        hit = _GUIDE.match(vriic)
        if m["fic"] == "HC" and m["icvn"] == "00501" and hit:
            # Keep the first (highest-priority) map per guide, as pyx12's lookup does.
            out.setdefault(hit.group(1) + hit.group(2), vriic)
    return out


def map_for(version: str | None) -> str | None:
    """The pyx12 map version (GS08 value) used for a transaction's ``version``, or None."""
    hit = _GUIDE.match(version or "")
    return pyx12_maps().get(hit.group(1) + hit.group(2)) if hit else None

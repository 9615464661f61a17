"""Finding severities: defined once, ranked for ``--fail-on`` and claim status."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return RANK[self.value]


SEVERITIES: tuple[str, ...] = ("error", "warning", "info")  # most severe first, as documented
RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
# ``--fail-on`` -> the lowest rank that counts (``never``: none does).
FAIL_ON: dict[str, int] = {"error": RANK["error"], "warning": RANK["warning"], "never": 99}

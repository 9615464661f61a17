"""Code lists shipped as data files (one code per line, ``#`` comments)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


@cache
def load_list(name: str) -> list[str]:
    """Codes from ``validator/data/<name>``: first whitespace-separated token of each line."""
    out: list[str] = []
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line.split()[0])
    return out

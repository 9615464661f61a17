"""Claims that earlier runs passed (``check --state``), for DUP401/DUP402 to compare today's
claims with.

A claim is remembered by two keys, each a salted hash (BLAKE2b keyed with the store's own
random salt, 8 bytes): the DUP401 key (claim ID, billing NPI, payer ID) and the DUP402 key
(billing NPI, payer, member ID, patient name and birth date, dates, place or bill type,
service codes, charge). No member ID, name or birth date is kept in clear; the claim ID
(the provider's own control number) and the file's path are, to name the earlier claim.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

# One row per claim an earlier run passed.
KEY_SCHEMA: dict[str, pl.DataType] = {
    "id_key": pl.UInt64(),  # DUP401 key (null: no claim ID)
    "dup_key": pl.UInt64(),  # DUP402 key (null: a replacement or void claim, CLM05-3 = 7/8)
    "claim_id": pl.String(),
    # the file's real path when the run read it (or where it was moved); categorical: a
    # path repeats for every claim of its file
    "path": pl.Categorical(),
    "sent": pl.Date(),  # the run's date (UTC)
}


def empty_keys() -> pl.DataFrame:
    return pl.DataFrame(schema=KEY_SCHEMA)


@dataclass(frozen=True, eq=False)  # (compared by identity: a table has no truth value)
class EarlierClaims:
    """The keys of the claims earlier runs passed (:data:`KEY_SCHEMA`), and the salt that
    today's claims are hashed with to be compared with them."""

    salt: bytes
    keys: pl.DataFrame

    def __post_init__(self) -> None:
        if len(self.salt) < 16:
            raise ValueError("the key salt must be at least 16 bytes")


def key_text(*cols: str | pl.Expr) -> pl.Expr:
    """The fields of a key as one string (a null field differs from an empty one)."""
    parts = [(pl.col(c) if isinstance(c, str) else c).cast(pl.String).fill_null("\x00")
             for c in cols]
    return pl.concat_str(parts, separator="\x1f")


def digest(values: pl.Series, salt: bytes) -> pl.Series:
    """Each string as a keyed BLAKE2b hash of 8 bytes (an unsigned integer); null stays
    null. Stable across versions and platforms, unlike polars' ``hash``."""
    def one(v: bytes | None) -> bytes | None:
        return None if v is None else hashlib.blake2b(v, key=salt, digest_size=8).digest()

    raw = pl.Series(values.name, [one(v) for v in values.cast(pl.Binary).to_list()],
                    dtype=pl.Binary)
    return raw.bin.reinterpret(dtype=pl.UInt64, endianness="big")

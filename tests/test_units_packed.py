"""A unit's tables are kept packed until the merge (validator.engine.units.Packed): the
round trip gives the same table back, whatever its column types, in buffers of its own."""

from __future__ import annotations

import datetime as dt

import polars as pl

from validator.engine.units import Packed, pack, unpack


def test_round_trip_keeps_every_type():
    df = pl.DataFrame({
        "claim_key": pl.Series([1, 2, 3], dtype=pl.UInt32),
        "claim_id": ["A" * 40, None, "short"],
        "d": [dt.date(2025, 1, 2), None, dt.date(2024, 2, 29)],
        "b": [True, None, False],
        "kp": [{"member": True, "region": "NCAL"}, None, {"member": False, "region": None}],
        "n": pl.Series([None, None, None], dtype=pl.String),
    })
    got = Packed(df).frame()
    assert got.schema == df.schema and got.equals(df)
    assert unpack(pack(df)).equals(df) and unpack(None) is None
    empty = df.clear()
    assert pack(empty) is empty  # nothing to pack


def test_a_slice_of_a_large_table_keeps_only_its_rows():
    big = pl.DataFrame({"s": [f"{'x' * 30}{i}" for i in range(200_000)]})
    part = big.gather_every(1000)  # string views into big's buffers
    packed = Packed(part)
    assert len(packed.data) < 100_000  # the 200 rows, not big's buffers
    assert packed.frame().equals(part)

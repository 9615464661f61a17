"""``split``: after a check, write each input's claims to ``OUT/ready/NAME`` (no finding at
or above ``--fail-on``) and ``OUT/held/NAME`` (the others), with a manifest of where each
claim went and why.

Control numbers: the ready output keeps the input's ISA13/GS06/ST02; the held output gets a
new ISA13 per interchange (GS06 = that number, +1 for each further group), so the two never
share one. By default the number is derived from the file's content (the same input gives
the same number), moved on past any ISA13 of the run's inputs and any number already given;
``held_control`` gives the first number instead (then +1 per held interchange, in input
order, skipping the inputs' numbers). See :mod:`validator.tools.split_x12` for how a file
is cut.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..engine.read import read_segments
from ..engine.result import Result
from ..errors import UsageError
from ..output.atomic import atomic_write
from ..severity import FAIL_ON, RANK
from ..x12.load import ELEM, LoadError
from ..x12.spans import locate
from .outputs import below_roots, refuse_inputs
from .split_x12 import DESTINATIONS, HELD, READY, ROW_COLUMNS, layout, plan_file, render

log = logging.getLogger("claims_validator")

MANIFEST = "split-manifest"
UNREADABLE = "unreadable"
MANIFEST_COLUMNS = ("input", "claim_id", "segment_index", "destination", "output",
                    "output_segment_index", "isa13", "rules", "note")
_MAX_CONTROL = 999_999_999


# -- output names ----------------------------------------------------------------------------

def output_names(paths: Sequence[Path], roots: Sequence[str]) -> dict[Path, Path]:
    """The name (relative path) under ``ready/`` and ``held/`` of each input: its path below
    the folder argument it was found in, else its file name; a ``.gz`` suffix is dropped
    (outputs are plain text). Inputs that would share a name (``a/x.edi`` and ``b/x.edi``
    named one by one) keep as many of their parent folders as tell them apart, and a
    ``-2``, ``-3``… suffix when even their full paths agree."""
    names = {p: _plain(n) for p, n in below_roots(paths, roots).items()}
    taken: dict[str, list[Path]] = {}
    for p, name in names.items():
        taken.setdefault(str(name).casefold(), []).append(p)  # apart on any file system
    for same in (g for g in taken.values() if len(g) > 1):
        fulls = {p: Path(os.path.abspath(p)) for p in same}
        for k in range(len(names[same[0]].parts) + 1, 1 + max(len(f.parts) for f in fulls.values())):
            tails = {p: _plain(Path(*f.parts[-k:])) for p, f in fulls.items()}
            if len({str(t).casefold() for t in tails.values()}) == len(same):
                names.update(tails)
                break
        else:
            for n, p in enumerate(same[1:], 2):
                names[p] = names[p].with_name(f"{names[p].stem}-{n}{names[p].suffix}")
    used = [str(n).casefold() for n in names.values()]
    if len(set(used)) != len(used):  # a -2 name that another input already had
        for n, p in enumerate(paths, 1):
            names[p] = names[p].with_name(f"{n:04d}-{names[p].name}")
    return names


def _plain(name: Path) -> Path:
    parts = [x for x in name.parts if x not in ("/", "..")] or ["input"]
    name = Path(*parts)
    return name.with_suffix("") if name.suffix.lower() == ".gz" and name.stem else name


def existing_outputs(out: Path, names: dict[Path, Path]) -> list[Path]:
    """Outputs of an earlier split that this one would write over. An output that would be
    one of the inputs themselves is a usage error (even with ``--force``)."""
    refuse_inputs((out / d / n for n in names.values() for d in DESTINATIONS), names)
    cands = [out / f"{MANIFEST}.csv", out / f"{MANIFEST}.json"]
    cands += [out / d / n for n in names.values() for d in DESTINATIONS]
    return [p for p in cands if p.exists() or p.is_symlink()]


# -- what is held ----------------------------------------------------------------------------

@dataclass
class Held:
    """What the findings hold, by file: claims (CLM seg_index), sets (ST seg_index),
    whole files, and the rule codes that hold each claim."""

    claims: dict[int, set[int]] = field(default_factory=dict)
    sets: dict[int, set[int]] = field(default_factory=dict)
    files: set[int] = field(default_factory=set)
    rules: dict[tuple[int, int], str] = field(default_factory=dict)  # (file, CLM) -> codes


def held_by(result: Result, threshold: int) -> Held:
    """Which claims, sets and files the findings at or above ``threshold`` hold: a claim
    by its own findings and those of its set and file (as the check's claim status)."""
    f = result.finding_keys(["file_id", "rule", "claim_key", "st_key", "severity"]).filter(
        pl.col("severity").replace_strict(RANK, default=-1, return_dtype=pl.Int8) >= threshold)
    out = Held()
    txns = result.batch.transactions.select("st_key", "st_index", "file_id")
    own = f.filter(pl.col("claim_key").is_not_null()).group_by("claim_key").agg(_own=pl.col("rule"))
    sets = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_not_null()).group_by(
        "st_key").agg(_set=pl.col("rule"))
    whole = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_null()
                     & pl.col("file_id").is_not_null()).group_by("file_id").agg(_file=pl.col("rule"))
    out.files = set(whole["file_id"].to_list())
    for fid, ix in sets.join(txns, on="st_key").select("file_id", "st_index").iter_rows():
        out.sets.setdefault(fid, set()).add(ix)
    empty = pl.lit([], pl.List(pl.String))
    claims = (result.claim_frame(["claim_key", "st_key", "file_id", "segment_index"])
              .join(own, on="claim_key", how="left").join(sets, on="st_key", how="left")
              .join(whole, on="file_id", how="left")
              .select("file_id", "segment_index", rules=pl.concat_list(
                  pl.col("_own").fill_null(empty), pl.col("_set").fill_null(empty),
                  pl.col("_file").fill_null(empty)).list.unique().list.sort().list.join(" "))
              .filter(pl.col("rules") != ""))
    for fid, ix, rules in claims.iter_rows():
        out.claims.setdefault(fid, set()).add(ix)
        out.rules[fid, ix] = rules
    return out


# -- the split -------------------------------------------------------------------------------

@dataclass
class SplitSummary:
    files: int = 0
    unreadable: int = 0
    claims: int = 0
    ready: int = 0
    held: int = 0
    written: dict[str, list[Path]] = field(default_factory=lambda: {d: [] for d in DESTINATIONS})
    held_content: bool = False  # content without claims went to held
    manifest: list[Path] = field(default_factory=list)

    @property
    def anything_held(self) -> bool:
        return bool(self.held or self.unreadable or self.held_content)


class ControlNumbers:
    """New ISA13s for held interchanges: never one of the run's inputs' nor one given
    before (see the module's docstring)."""

    def __init__(self, used: set[int], first: int | None) -> None:
        self.used = set(used)
        self.next = first

    def take(self, seed: bytes) -> str:
        if self.next is None:
            n = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") % _MAX_CONTROL + 1
        else:
            n = self.next
        while n in self.used:
            n = n % _MAX_CONTROL + 1
        if self.next is not None:
            if n < self.next:  # wrapped past 999999999
                raise UsageError("--held-control-number: no free interchange control number "
                                 "left below 1000000000")
            self.next = n + 1
        self.used.add(n)
        return f"{n:09d}"


def input_control_numbers(result: Result) -> set[int]:
    isa13 = result.batch.transactions.get_column("isa13").drop_nulls().unique()
    return {int(v) for v in isa13.to_list() if v.isdigit()}


def split(result: Result, out: Path, fail_on: str, roots: Sequence[str],
          held_control: int | None = None, force: bool = False) -> SplitSummary:
    """Write the ready and held outputs of every input of ``result`` and the manifest."""
    threshold = FAIL_ON[fail_on]
    files = result.batch.files
    paths = [Path(p) for p in files["path"].to_list()]
    names = output_names(paths, roots)
    if (clash := existing_outputs(out, names)) and not force:
        raise UsageError(f"{clash[0]} exists (an earlier split?); choose another --out folder or "
                         "add --force to replace the outputs")
    if held_control is not None and held_control + int(files["interchanges"].sum()) - 1 > _MAX_CONTROL:
        raise UsageError(f"--held-control-number {held_control}: too high for the "
                         f"{int(files['interchanges'].sum()):,} interchanges of the inputs "
                         f"(ISA13 stops at {_MAX_CONTROL})")
    held = held_by(result, threshold)
    numbers = ControlNumbers(input_control_numbers(result), held_control)
    by_file = _segments_by_file(result)
    claim_ids = dict(((f, ix), cid) for f, ix, cid in result.claim_frame(
        ["file_id", "segment_index", "claim_id"]).iter_rows())
    rows: list[dict] = []
    summary = SplitSummary(files=files.height)
    for fid, path, status, error in files.select("file_id", "path", "status", "error").iter_rows():
        name = names[Path(path)]
        if status != "parsed":
            summary.unreadable += 1
            rows.append(_row(path, None, None, UNREADABLE, None, note=error or status))
            continue
        _split_file(result, fid, Path(path), name, out, by_file.get(fid), held, numbers,
                    claim_ids, rows, summary, force)
    summary.manifest = write_manifest(out, rows, fail_on, summary)
    return summary


def _segments_by_file(result: Result) -> dict[int, pl.DataFrame]:
    segs = result.batch.segments
    if not segs.height or not set(ROW_COLUMNS) <= set(segs.columns):
        return {}  # a run read in units keeps only envelope rows: each file is read again
    parts = segs.select(*ROW_COLUMNS, "raw", fid=pl.col("file_id")).partition_by(
        "fid", as_dict=True, include_key=False)
    return {k[0]: v for k, v in parts.items()}


def _file_rows(path: Path, segs: pl.DataFrame | None) -> pl.DataFrame:
    if segs is None:
        batch = read_segments([path])
        if batch.files["status"][0] != "parsed":
            raise UsageError(f"{path} could no longer be read ({batch.files['error'][0]})")
        segs = batch.segments.select(*ROW_COLUMNS, "raw")
    return segs


def _split_file(result: Result, fid: int, path: Path, name: Path, out: Path,
                segs: pl.DataFrame | None, held: Held, numbers: ControlNumbers,
                claim_ids: dict[tuple[int, int], str | None], rows: list[dict],
                summary: SplitSummary, force: bool) -> None:
    try:
        spans = locate(path)
    except (LoadError, OSError) as exc:
        raise UsageError(f"{path} could no longer be read: {exc}") from None
    segs = _file_rows(path, segs)
    if len(spans) != segs.height:
        raise UsageError(f"{path} changed while it was being split: check it again")
    hls = segs.filter(pl.col("seg_id") == "HL").select(
        "seg_index", el=pl.col("raw").str.split(ELEM))
    hl_ids = {ix: (_get(el, 1), _get(el, 2)) for ix, el in hls.iter_rows()}
    plan = plan_file(segs.select(ROW_COLUMNS).iter_rows(), hl_ids, held.claims.get(fid, set()),
                     held.sets.get(fid, set()), fid in held.files)
    summary.claims += len(plan.claims)
    around = layout(spans)
    for dest in DESTINATIONS:
        target = out / dest / name
        if dest not in plan.destinations():
            if force and (target.exists() or target.is_symlink()):
                target.unlink()  # an earlier split's output for this input: stale now
            continue
        digest = hashlib.sha256(spans.data).digest() if dest == HELD else b""
        control = {ix: numbers.take(digest + ix.to_bytes(8, "big"))
                   for ix in plan.interchanges(dest)} if dest == HELD else {}
        cut = render(plan, spans, dest, control, around)
        atomic_write(target, cut.data)
        summary.written[dest].append(target)
        isa_of = sorted(cut.isa13)  # the ISA each claim stands under: the last before it
        for clm in (c for c in plan.claims if dest in c.dests):
            at = bisect.bisect_left(isa_of, clm.first)
            rows.append(_row(str(path), claim_ids.get((fid, clm.first)), clm.first, dest,
                             target, cut.claims[clm.first],
                             cut.isa13[isa_of[at - 1]] if at else None,
                             held.rules.get((fid, clm.first))))
            summary.ready += dest == READY
            summary.held += dest == HELD
        loose = [n for n in plan.loose if dest in n.dests]
        if loose:  # content without claims (a set or HL with none): listed once per output
            summary.held_content |= dest == HELD
            rows.append(_row(str(path), None, loose[0].first, dest, target, note=(
                f"{len(loose)} part(s) without claims (sets, HL loops, envelopes)")))


def _get(el: list[str], i: int) -> str:
    return el[i] if len(el) > i else ""


def _row(path: str, claim_id: str | None, ix: int | None, dest: str, output: Path | None,
         out_ix: int | None = None, isa13: str | None = None, rules: str | None = None,
         note: str | None = None) -> dict:
    return dict(zip(MANIFEST_COLUMNS, (path, claim_id, ix, dest, None if output is None else
                                       str(output), out_ix, isa13, rules, note), strict=True))


def write_manifest(out: Path, rows: list[dict], fail_on: str, summary: SplitSummary) -> list[Path]:
    """``split-manifest.csv`` (one row per claim, plus unreadable inputs and content without
    claims) and ``split-manifest.json`` (the same rows with the run's totals)."""
    schema = {c: pl.Int64 if c.endswith("segment_index") else pl.String for c in MANIFEST_COLUMNS}
    df = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    csv, js = out / f"{MANIFEST}.csv", out / f"{MANIFEST}.json"
    atomic_write(csv, df.write_csv())
    doc = {
        "version": 1,
        "fail_on": fail_on,
        "totals": {"files": summary.files, "unreadable": summary.unreadable,
                   "claims": summary.claims, "ready": summary.ready, "held": summary.held},
        "outputs": {d: [str(p) for p in summary.written[d]] for d in DESTINATIONS},
        "claims": df.to_dicts(),
    }
    atomic_write(js, json.dumps(doc, separators=(",", ":")) + "\n")
    return [csv, js]

"""``claims-validator fix``: apply the fixes that have exactly one right answer (ruff's safe
fixes) to copies of the input files.

A pass checks the files, asks every enabled fixable rule (``Rule.fix``) for the edits of
its findings (:mod:`validator.rules.edits`) and splices each edit's segment, written in the
file's own delimiters, over the old segment's bytes (:mod:`validator.x12.spans`): every
other byte of the file stays as it was. Two fixes of one segment that disagree are not
merged: the first rule's (registry order) is applied, and the file gets another pass, as
ruff does; passes repeat on the changed files until no fix is left (at most
:data:`MAX_PASSES`). The fixed files are then checked once more, together with the
unchanged ones, for the findings that remain. Nothing is written here: :func:`run` returns
the fixed bytes, the edits applied and both checks' findings; the command writes them.

PHI: the audit log and the diff quote whole segments. Segments that never hold a person's
data (envelopes, the payer's 2010BB loop, HI codes, service lines) are quoted as they are; any other
segment is masked (every value ``#``, the separators kept) unless ``--show-phi``.
"""

from __future__ import annotations

import gzip
import itertools
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from ..engine import Plan, Result, Selection, check
from ..errors import UsageError
from ..model import chunking
from ..output.phi import FILL  # a masked value (``***`` would read as separators)
from ..rules import edits as E
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..ruleset.model import Ruleset
from ..x12.load import COMP, ELEM, REP
from ..x12.spans import FileSpans, locate
from .outputs import below_roots

log = logging.getLogger("claims_validator")
MAX_PASSES = 10
LOG_NAME = "fix-log.jsonl"

# Segments quoted unmasked in the log and the diff: they never carry a person's name, ID,
# birth date or address. NM1-loop segments count by the loop's NM101 (``PR``: the payer).
PLAIN_SEGMENTS = ("ISA", "IEA", "GS", "GE", "ST", "SE", "BHT", "HI", "LX", "SV1", "SV2", "SV3",
                  "SVD")
PLAIN_LOOPS = ("PR",)


@dataclass
class FixRun:
    """What a fix run did: the fixed bytes per changed file, the edits applied (one row
    each: ``file``, ``name``, ``claim``, ``segment_index``, ``segment_id``, ``rule``,
    ``old``, ``new``, ``phi``, ``pass``; texts canonical), the findings before and after."""

    files: list[Path]
    names: dict[Path, str]
    fixed: dict[Path, bytes] = field(default_factory=dict)
    applied: pl.DataFrame = field(default_factory=pl.DataFrame)
    before: pl.DataFrame = field(default_factory=pl.DataFrame)  # findings, with ``file``
    after: pl.DataFrame | None = None  # the re-check's findings (None: not re-checked)
    passes: int = 0
    unsettled: list[Path] = field(default_factory=list)  # still had fixes after MAX_PASSES
    refused: int = 0  # edits whose segment did not read as the fix expected
    failed: list[str] = field(default_factory=list)  # checks that failed (INT001)

    def counts(self) -> dict[str, int]:
        """Edits applied per rule."""
        if not self.applied.height:
            return {}
        c = self.applied.group_by("rule").len().sort("rule")
        return dict(zip(c["rule"].to_list(), c["len"].to_list(), strict=True))


def relative_names(files: Sequence[Path], inputs: Sequence[str]) -> dict[Path, str]:
    """Each file's name under ``--out``: its path below the folder named on the command
    line, else its file name. Two files that would get one name are a usage error."""
    names = {f: n.as_posix() for f, n in below_roots(files, inputs).items()}
    seen: dict[str, Path] = {}
    for f, n in names.items():
        if n in seen:
            raise UsageError(f"{seen[n]} and {f} would both be written as {n}: fix them in "
                             "separate runs")
        seen[n] = f
    return names


def run(files: Sequence[Path], inputs: Sequence[str], ruleset: Ruleset, selection: Selection,
        options: RunOptions, registry: Registry, *, recheck: bool = True) -> FixRun:
    """Fix ``files`` in memory (see the module doc); ``recheck`` checks the result again."""
    files = [Path(f) for f in files]
    out = FixRun(files, relative_names(files, inputs))
    applied: list[pl.DataFrame] = []
    staged_n = itertools.count(1)
    with tempfile.TemporaryDirectory(prefix="claims-fix-") as tmp:
        current = {f: f for f in files}  # where each file's latest version is read
        todo = list(files)
        while todo and out.passes < MAX_PASSES:
            out.passes += 1
            changed: list[Path] = []
            for chunk in _chunks([current[f] for f in todo], options):
                back = {current[f]: f for f in todo}
                result = check(chunk, ruleset, selection, replace(options, chunk_bytes=0),
                               registry=registry)
                out.failed += [x for x in result.failed if x not in out.failed]
                if out.passes == 1:
                    out.before = _with_source(out.before, result, back)
                edits = proposed(result, registry, selection)
                for path, group in _by_file(result, edits):
                    data, rows = _apply(path, group)
                    out.refused += group.height - len(rows)
                    if not rows:
                        continue
                    src = back[path]
                    applied.append(pl.DataFrame(rows).with_columns(
                        file=pl.lit(str(src)), name=pl.lit(out.names[src]),
                        **{"pass": pl.lit(out.passes)}))
                    out.fixed[src] = data
                    staged = Path(tmp) / f"{next(staged_n)}.x12"
                    staged.write_bytes(data)
                    current[src] = staged
                    changed.append(src)
            todo = changed
        out.unsettled = todo
        if todo:
            log.warning("fixes did not settle after %d passes in %s", MAX_PASSES,
                        ", ".join(str(f) for f in todo))
        out.applied = (pl.concat(applied, how="diagonal_relaxed") if applied else
                       pl.DataFrame(schema=_APPLIED))
        if recheck:
            if out.fixed:
                result = check([current[f] for f in files], ruleset, selection, options,
                               registry=registry)
                out.failed += [x for x in result.failed if x not in out.failed]
                out.after = _with_source(pl.DataFrame(), result, {current[f]: f for f in files})
            else:
                out.after = out.before
    return out


_APPLIED = {"segment_index": pl.UInt32, "segment_id": pl.String, "rule": pl.String,
            "claim": pl.String, "old": pl.String, "new": pl.String, "phi": pl.Boolean,
            "file": pl.String, "name": pl.String, "pass": pl.Int32}


def _chunks(paths: list[Path], options: RunOptions) -> list[list[Path]]:
    """Whole files of about ``--chunk-size`` bytes a check: each chunk's segments are
    needed whole by the fixes, so memory follows the chunk."""
    return [c for _, c in chunking.plan(paths, options.chunk_bytes)]


def _with_source(acc: pl.DataFrame, result: Result, back: dict[Path, Path]) -> pl.DataFrame:
    """``acc`` plus ``result``'s findings, each with the source ``file`` it belongs to."""
    paths = result.batch.files.select(
        "file_id", file=pl.col("path").replace_strict({str(k): str(v) for k, v in back.items()},
                                                      default=pl.col("path")))
    f = result.findings.join(paths, on="file_id", how="left")
    return f if not acc.height else pl.concat([acc, f], how="diagonal_relaxed")


def proposed(result: Result, registry: Registry, selection: Selection) -> pl.DataFrame:
    """The edits the enabled fixable rules propose for ``result``'s findings, one per
    segment (``old`` from the segments table; edits that change nothing dropped). When
    fixes of one segment disagree, the first rule's stands; the others wait for a pass."""
    plan = Plan.build(registry, result.ruleset, selection, result.options)
    ctx = plan.context(result.batch)
    frames = []
    for order, r in enumerate(registry.rules.values()):
        if r.fix is None or not selection.enabled(r.code):
            continue
        found = result.findings.filter(pl.col("rule") == r.code)
        if not found.height:
            continue
        e = r.fix(ctx, found)
        if e is not None and e.height:
            frames.append(E.conform(e).with_columns(pl.col("rule").fill_null(r.code),
                                                    _order=pl.lit(order, pl.Int32)))
    if not frames:
        return E.empty()
    segs = result.batch.segments.select(
        "file_id", "seg_id", "nm1", segment_index="seg_index", old="raw")
    out = pl.concat(frames).join(segs, on=["file_id", "segment_index"], how="inner").filter(
        pl.col("new").is_not_null() & (pl.col("new") != pl.col("old")))
    out = out.sort("_order", maintain_order=True).unique(
        ["file_id", "segment_index"], keep="first", maintain_order=True)
    claims = result.claim_frame(["claim_key", "claim_id"], keys=out.get_column(
        "claim_key").drop_nulls().unique()).rename({"claim_id": "claim"})
    plain = (pl.col("seg_id").is_in(PLAIN_SEGMENTS)
             | pl.col("nm1").cast(pl.String).is_in(PLAIN_LOOPS).fill_null(False))
    return out.join(claims, on="claim_key", how="left").with_columns(phi=~plain).sort(
        "file_id", "segment_index").drop("_order")


def _by_file(result: Result, edits: pl.DataFrame):
    if not edits.height:
        return
    paths = dict(result.batch.files.select("file_id", "path").iter_rows())
    for (file_id,), group in edits.group_by("file_id", maintain_order=True):
        yield Path(paths[file_id]), group


def _apply(path: Path, edits: pl.DataFrame) -> tuple[bytes, list[dict]]:
    """The file at ``path`` with ``edits`` spliced in, and the edits applied. An edit is
    refused (and logged) when its segment does not read as ``old`` or its new text holds
    one of the file's delimiters as data."""
    spans = locate(path)
    pieces: list[bytes] = []
    pos = 0
    rows: list[dict] = []
    for e in edits.iter_rows(named=True):
        i = e["segment_index"]
        if not 1 <= i <= len(spans) or spans.canonical(i) != e["old"]:
            log.warning("%s: segment %d is not as the %s fix expects; left as it is", path, i,
                        e["rule"])
            continue
        d = spans.delimiters(i)
        if any(ch and ch in e["new"] for ch in (d.element, d.component, d.repetition, d.segment)):
            log.warning("%s: the %s fix of segment %d holds one of the file's delimiters; "
                        "left as it is", path, e["rule"], i)
            continue
        pieces += [spans.data[pos:spans.start[i - 1]], spans.encode(i, e["new"])]
        pos = spans.end[i - 1]
        rows.append({k: e[k] for k in ("segment_index", "rule", "claim", "old", "new", "phi")}
                    | {"segment_id": e["seg_id"]})
    pieces.append(spans.data[pos:])
    return b"".join(pieces), rows


# -- showing edits: masked text, the diff, the audit log ----------------------------------

def masked(text: str) -> str:
    """Canonical segment text with every value :data:`~validator.output.phi.FILL` (the segment ID and the
    separators kept, so a change of structure still shows)."""
    head, _, rest = text.partition(ELEM)
    if not _:
        return head
    parts = [REP.join(COMP.join(FILL if c else "" for c in r.split(COMP))
                      for r in e.split(REP)) for e in rest.split(ELEM)]
    return head + ELEM + ELEM.join(parts)


def shown(text: str, phi: bool, show_phi: bool, spans: FileSpans | None = None,
          seg_index: int = 1) -> str:
    """A segment for people: masked unless plain or ``show_phi``, in the file's delimiters
    when ``spans`` is given (else ``*``, ``:``, ``^``)."""
    text = masked(text) if phi and not show_phi else text
    if spans is not None:
        return spans.encode(seg_index, text).decode("utf-8", errors="replace")
    return text.translate({ord(ELEM): "*", ord(COMP): ":", ord(REP): "^"})


def log_lines(run: FixRun, show_phi: bool) -> list[str]:
    """The audit log: one JSON object per edit applied."""
    import json

    rows = run.applied.with_columns(
        old=pl.when(pl.col("phi") & ~pl.lit(show_phi)).then(
            pl.col("old").map_elements(masked, return_dtype=pl.String)).otherwise("old"),
        new=pl.when(pl.col("phi") & ~pl.lit(show_phi)).then(
            pl.col("new").map_elements(masked, return_dtype=pl.String)).otherwise("new"),
    ) if run.applied.height else run.applied
    out = []
    for r in rows.iter_rows(named=True):
        out.append(json.dumps({
            "file": r["file"], "out": r["name"], "claim": r["claim"],
            "segment_index": r["segment_index"], "segment_id": r["segment_id"],
            "rule": r["rule"], "pass": r["pass"],
            "old": shown(r["old"], False, True), "new": shown(r["new"], False, True),
            "masked": bool(r["phi"]) and not show_phi}) + "\n")
    return out


def diff(run: FixRun, show_phi: bool, context: int = 1) -> str:
    """A unified diff per changed file, one line per segment (line numbers are segment
    indexes), in the files' own delimiters; PHI masked unless ``show_phi``. Fixes replace
    segments one for one, so the hunks are the runs of edited segments with ``context``
    segments around them (no sequence matching needed)."""
    return "".join(line for src in run.files if src in run.fixed
                   for line in _file_diff(run, src, show_phi, context))


def _file_diff(run: FixRun, src: Path, show_phi: bool, context: int) -> list[str]:
    a = run.applied.filter(pl.col("file") == str(src)).sort("pass")
    first = a.unique("segment_index", keep="first", maintain_order=True)
    last = a.unique("segment_index", keep="last", maintain_order=True)
    old = dict(zip(first["segment_index"], zip(first["old"], first["phi"], strict=True),
                   strict=True))
    new = dict(zip(last["segment_index"], last["new"], strict=True))
    spans = locate(src)

    def line(i: int, mark: str, text: str | None = None) -> str:
        if text is None:  # context: masked unless an envelope or HI segment
            text = spans.canonical(i)
            phi = text.split(ELEM, 1)[0] not in PLAIN_SEGMENTS
        else:
            phi = old[i][1]
        return mark + shown(text, phi, show_phi, spans, i) + "\n"

    name = run.names[src]
    out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    for lo, hi in _hunks(sorted(old), context, len(spans)):
        n = hi - lo + 1
        out.append(f"@@ -{lo},{n} +{lo},{n} @@\n")
        added: list[str] = []  # a run of removed lines, then the lines that replace them
        for i in range(lo, hi + 1):
            if i in old:
                out.append(line(i, "-", old[i][0]))
                added.append(line(i, "+", new[i]))
            else:
                out += [*added, line(i, " ")]
                added = []
        out += added
    return out


def _hunks(edited: list[int], context: int, last: int) -> list[tuple[int, int]]:
    """Segment ranges ``(lo, hi)`` covering the edited segments and their context, merged
    where they touch."""
    spans: list[tuple[int, int]] = []
    for i in edited:
        lo, hi = max(1, i - context), min(last, i + context)
        if spans and lo <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return spans


def output_bytes(src: Path, data: bytes) -> bytes:
    """The fixed copy as written: gzip-compressed again when the input was."""
    with src.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.compress(data, mtime=0) if gz else data

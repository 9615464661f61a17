"""``--format 999``: one 005010X231A1 implementation acknowledgement per input file.

Built from the run's SNIP 1-2 findings, as a clearinghouse answers a file:

* one 999 interchange per input interchange (sender and receiver swapped), with a ``TA1``
  when the interchange itself has errors (ISA/IEA: ``ENV100``, ``ENV110``-``ENV112``, a
  reused ISA13) or when the ISA asks for one (ISA14 = 1);
* one ``GS*FA`` group holding one ``ST*999`` per input functional group: ``AK1``, an
  ``AK2``/``IK5`` pair per transaction set, the ``IK3``/``IK4`` segment and element errors
  of the implementation-guide findings, and ``AK9``.

Which findings count: SNIP level 1-2 at ``error`` (reject) or ``warning`` (accepted with
errors) severity, except notes on what the validator covers (:data:`NOT_ACKNOWLEDGED`).
Interchanges whose ISA cannot be read (not 16 elements) and unreadable files get no 999:
they are logged. Nothing here carries PHI: ``IK404`` copies a bad value only for code-list
elements (X12 type ``ID``), see :mod:`validator.output.ack999_segments`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..engine.result import Result
from ..errors import UsageError
from ..rules.api import RunOptions
from .ack999_segments import C, E, segment_lines
from .atomic import atomic_write

log = logging.getLogger("claims_validator")

EXTENSION = "999"
GUIDE = "005010X231A1"
ENVELOPE = ("ISA", "GS", "ST", "SE", "GE", "IEA")
REP = "\x1e"  # with E and C: the reader's canonical separators, swapped at the end
# Findings about what the validator covers, not about the data: never in a 999.
NOT_ACKNOWLEDGED = ("FILE010", "FILE012", "IG210", "IG211", "IG299")
# Envelope findings -> IK502 (transaction set), AK905 (group) and TA105 (interchange) codes.
SET_CODES = {"ENV130": "3", "ENV131": "4", "ENV132": "2", "ENV140": "19", "FILE011": "I6",
             "FILE013": "19"}
GROUP_CODES = {"ENV120": "4", "ENV121": "5", "ENV122": "3"}
INTERCHANGE_CODES = {"ENV110": "001", "ENV111": "021", "ENV112": "023"}
# ENV160 (a control number used twice), by the segment it is on: IK502 / AK905 / TA105.
REUSED = {"ST": "23", "GS": "19", "ISA": "025"}
# TA105 for an ISA field of the wrong width or form (as pyx12's TA1).
ISA_FIELD_CODES = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007",
                   8: "008", 9: "014", 10: "015", 11: "016", 12: "017", 13: "018", 14: "019",
                   15: "020", 16: "027"}
# What a 999 acknowledges (AK101, AK201 code lists): other groups (FA: acknowledgements,
# which are never acknowledged) get no AK1.
GROUP_TYPES = {"BE", "HB", "HC", "HI", "HN", "HP", "HR", "HS", "RA"}
SET_TYPES = {"270", "271", "276", "277", "278", "820", "834", "835", "837"}
# Valid code values of the 999 guide (pyx12's 999.5010X231.A1 map).
IK502_CODES = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "15", "16",
               "17", "18", "19", "23", "24", "25", "26", "27", "I5", "I6"}
AK905_CODES = {"1", "2", "3", "4", "5", "6", "10", "11", "12", "13", "14", "15", "16", "17", "18",
               "19", "23", "24", "25", "26"}
# Delimiter sets of the 999 (segment, element, component, repetition), first that no copied
# value contains.
_DELIMITERS = (("~", "*", ":", "^"), ("~", "|", ">", "^"), ("\x1c", "\x1d", "\x1f", "\x1e"))


# -- what the findings say, per envelope -----------------------------------------------------


@dataclass
class _Set:
    index: int  # seg_index of its ST
    ids: list[str]  # ST01, ST02, ST03
    errors: int = 0
    warnings: int = 0
    codes: set[str] = field(default_factory=set)
    segments: list[str] = field(default_factory=list)  # IK3/IK4 (canonical separators)


@dataclass
class _Group:
    index: int
    gs: list[str]  # GS elements (GS01 .. GS08)
    ge01: str | None = None
    sets: list[_Set] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    codes: set[str] = field(default_factory=set)


@dataclass
class _Interchange:
    index: int
    isa: list[str]  # ISA01 .. ISA16 ([] when the ISA cannot be read)
    groups: list[_Group] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    codes: list[str] = field(default_factory=list)  # TA105 codes, in finding order


@dataclass
class Acknowledgement:
    """The 999 of one input file: its text, or why the file gets none."""

    file_id: int
    path: str
    text: str | None
    reason: str | None = None


def _elements(raw: str) -> list[str]:
    return raw.split(E)[1:]


def _get(values: list[str], i: int) -> str:
    """Element ``i`` (1-based) or ''."""
    return values[i - 1] if 0 < i <= len(values) else ""


def _envelope_rows(result: Result) -> pl.DataFrame:
    """ISA/GS/ST/SE/GE/IEA segments of the parsed files: file_id, seg_index, seg_id, raw."""
    cols = ("file_id", "seg_index", "seg_id", "raw")
    segs = result.batch.segments
    parsed = result.batch.files.filter(pl.col("status") == "parsed")
    if segs.height or not parsed.height:
        return segs.filter(pl.col("seg_id").is_in(ENVELOPE)).select(cols)
    # A run checked in chunks keeps no segments: read the envelopes again, one file at a time.
    from ..engine.read import read_segments

    parts = []
    for file_id, path in parsed.select("file_id", "path").iter_rows():
        b = read_segments([Path(path)], first_id=file_id)
        parts.append(b.segments.filter(pl.col("seg_id").is_in(ENVELOPE)).select(cols))
    return pl.concat(parts) if parts else segs.select(cols)


def _structure(env: pl.DataFrame) -> tuple[dict[int, list[_Interchange]], pl.DataFrame]:
    """The envelopes of each file, and where every envelope segment belongs: for each row its
    own ISA/GS/ST (``own_*``) and the ones still open after it (``after_*``)."""
    files: dict[int, list[_Interchange]] = defaultdict(list)
    rows = []
    env = env.sort("file_id", "seg_index")
    isa = gs = st = None
    last_file = None
    for file_id, index, seg_id, raw in env.iter_rows():
        if file_id != last_file:
            isa = gs = st = None
            last_file = file_id
        el = _elements(raw)
        if seg_id == "ISA":
            isa = _Interchange(index, el if len(el) == 16 else [])
            files[file_id].append(isa)
            gs = st = None
        elif seg_id == "GS" and isa is not None:
            gs = _Group(index, el)
            isa.groups.append(gs)
            st = None
        elif seg_id == "ST" and gs is not None:
            st = _Set(index, [_get(el, 1), _get(el, 2), _get(el, 3)])
            gs.sets.append(st)
        own = (isa, gs, st)
        if seg_id == "SE":
            st = None
        elif seg_id == "GE":
            if gs is not None:
                gs.ge01 = _get(el, 1)
            gs = st = None
        elif seg_id == "IEA":
            isa = gs = st = None
        ix = lambda o: o.index if o is not None else None  # noqa: E731
        rows.append((file_id, index, *(ix(o) for o in own), ix(isa), ix(gs), ix(st)))
    schema = {"file_id": pl.UInt32, "seg_index": pl.UInt32, "own_isa": pl.UInt32,
              "own_gs": pl.UInt32, "own_st": pl.UInt32, "after_isa": pl.UInt32,
              "after_gs": pl.UInt32, "after_st": pl.UInt32}
    return files, pl.DataFrame(rows, schema=schema, orient="row")


# The findings a 999 reports: SNIP 1-2, error or warning, about the data.
COUNTED = ((pl.col("snip_level") <= 2) & pl.col("severity").is_in(["error", "warning"])
           & ~pl.col("rule").is_in(NOT_ACKNOWLEDGED) & ~pl.col("rule").str.starts_with("INT"))


def counted(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings a 999 reports (:data:`COUNTED`)."""
    return findings.filter(COUNTED)


def _placed(result: Result, places: pl.DataFrame) -> pl.DataFrame:
    """The counted findings with the ISA, GS and ST (seg_index) each belongs to."""
    f = result.findings_where(COUNTED & pl.col("segment_index").is_not_null())
    tx = result.batch.transactions.select("st_key", tx_st=pl.col("st_index").cast(pl.UInt32))
    f = f.join(tx, on="st_key", how="left").with_columns(
        pl.col("segment_index").cast(pl.UInt32)).sort("file_id", "segment_index")
    if not places.height:
        return f.with_columns(isa=pl.lit(None, pl.UInt32), gs=pl.lit(None, pl.UInt32),
                              st=pl.col("tx_st"))
    p = places.sort("file_id", "seg_index").with_columns(at=pl.col("seg_index"))
    f = f.join_asof(p, left_on="segment_index", right_on="seg_index", by="file_id",
                    strategy="backward", check_sortedness=False)
    on = pl.col("at") == pl.col("segment_index")
    pick = {k: pl.when(on).then(pl.col(f"own_{k}")).otherwise(pl.col(f"after_{k}"))
            for k in ("isa", "gs", "st")}
    return f.with_columns(isa=pick["isa"], gs=pick["gs"], st=pl.coalesce("tx_st", pick["st"]))


def _level(f: pl.DataFrame) -> pl.DataFrame:
    """Where each placed finding is answered: ``set`` (IK5), ``group`` (AK9) or
    ``interchange`` (TA1)."""
    rule, seg, code = pl.col("rule"), pl.col("segment_id"), pl.col("ig_code").fill_null("")
    reused = rule == "ENV160"
    to_x = ((reused & (seg == "ISA")) | (pl.col("st").is_null() & pl.col("gs").is_null())
            | rule.is_in([*INTERCHANGE_CODES, "ENV100"]) | code.str.starts_with("TA105-"))
    to_g = ((reused & (seg == "GS")) | pl.col("st").is_null() | rule.is_in(list(GROUP_CODES))
            | code.str.starts_with("AK905-"))
    return f.with_columns(level=pl.when(to_x).then(pl.lit("interchange"))
                          .when(to_g).then(pl.lit("group")).otherwise(pl.lit("set")))


def _codes(f: dict) -> str | None:
    """The IK502 / AK905 / TA105 code of one finding at its level, if any."""
    rule, code, level = f["rule"], f["ig_code"] or "", f["level"]
    if rule == "ENV160":
        return REUSED.get(f["segment_id"])
    if level == "interchange":
        if rule == "ENV100":
            m = re.fullmatch(r"ISA(\d{2})", f["element"] or "")
            return ISA_FIELD_CODES.get(int(m[1])) if m else None
        return INTERCHANGE_CODES.get(rule) or (code[6:] if code.startswith("TA105-") else None)
    if level == "group":
        c = GROUP_CODES.get(rule) or (code[6:] if code.startswith("AK905-") else None)
        return c if c in AK905_CODES else None
    c = SET_CODES.get(rule) or (code[6:] if code.startswith("IK502-") else None)
    return c if c in IK502_CODES else None


def _gather(result: Result) -> dict[int, list[_Interchange]]:
    """The envelopes of each file with what the findings say about them."""
    files, places = _structure(_envelope_rows(result))
    by_index: dict[tuple[int, str, int], _Set | _Group | _Interchange] = {}
    for file_id, xs in files.items():
        for x in xs:
            by_index[file_id, "interchange", x.index] = x
            for g in x.groups:
                by_index[file_id, "group", g.index] = g
                for s in g.sets:
                    by_index[file_id, "set", s.index] = s
    f = _level(_placed(result, places))

    def target(file_id: int, level: str, isa: int | None, gs: int | None, st: int | None):
        """The envelope a finding is answered in (a set outside any group counts for its
        interchange)."""
        for lv, ix in (("set", st), ("group", gs), ("interchange", isa))[
                ("set", "group", "interchange").index(level):]:
            hit = by_index.get((file_id, lv, ix)) if ix is not None else None
            if hit is not None:
                return hit
        return None

    # severities, counted per envelope (whole columns: IG findings may be many)
    counts = f.group_by("file_id", "level", "isa", "gs", "st").agg(
        errors=(pl.col("severity") == "error").sum(),
        warnings=(pl.col("severity") == "warning").sum())
    for file_id, level, isa, gs, st, errors, warnings in counts.iter_rows():
        hit = target(file_id, level, isa, gs, st)
        if hit is not None:  # None: before the first ISA (ENV101, ENV102)
            hit.errors += errors
            hit.warnings += warnings
    # the codes of the (few) envelope findings
    coded = f.filter(pl.col("rule").is_in([*SET_CODES, *GROUP_CODES, *INTERCHANGE_CODES,
                                           "ENV100", "ENV160"])
                     | pl.col("ig_code").str.contains(r"^(IK502|AK905|TA105)-"))
    for row in coded.sort("file_id", "segment_index").iter_rows(named=True):
        c = _codes(row)
        hit = target(row["file_id"], row["level"], row["isa"], row["gs"], row["st"])
        if c and isinstance(hit, _Interchange):
            hit.codes.append(c)
        elif c and isinstance(hit, _Group | _Set):
            hit.codes.add(c)
    # IK3/IK4 of the set-level segment and element findings
    sets = f.filter(pl.col("level") == "set").select(
        "file_id", "st", "rule", "segment_index", "segment_id", "element", "loop", "ig_code",
        "message", "found")
    for file_id, st, lines in segment_lines(sets).iter_rows():
        hit = by_index.get((file_id, "set", st))
        if isinstance(hit, _Set):
            hit.segments = lines
    return files


# -- writing the 999 ---------------------------------------------------------------------------


def _ik5(s: _Set) -> tuple[str, list[str]]:
    codes = set(s.codes)
    if s.segments:
        codes.add("5")
    status = "R" if s.errors else "E" if s.warnings else "A"
    if status == "R" and not codes:
        codes.add("5")
    return status, sorted(codes, key=_code_order)[:5]


def _code_order(c: str) -> tuple[int, int, str]:
    return (0, int(c), "") if c.isdigit() else (1, 0, c)


def _ak9(g: _Group, statuses: list[str]) -> list[str]:
    received = len(statuses)
    accepted = sum(s in ("A", "E") for s in statuses)
    if g.errors or not received or not accepted:
        code = "R"
    elif accepted < received:
        code = "P"
    else:
        code = "E" if g.warnings or "E" in statuses else "A"
    included = g.ge01 if g.ge01 and g.ge01.isdigit() else str(received)
    codes = sorted(g.codes, key=_code_order)[:5]
    return ["AK9", code, str(int(included)), str(received), str(accepted), *codes]


def _seg(*elements: str) -> str:
    """A segment in canonical separators, without trailing empty elements."""
    return E.join(elements).rstrip(E)


def _interchange(x: _Interchange, control: str, when: time.struct_time) -> list[str]:
    """The segments of the 999 interchange answering ``x``."""
    isa = x.isa
    out = [E.join([
        "ISA", "00", " " * 10, "00", " " * 10, isa[6].ljust(2)[:2], isa[7].ljust(15)[:15],
        isa[4].ljust(2)[:2], isa[5].ljust(15)[:15], time.strftime("%y%m%d", when),
        time.strftime("%H%M", when), REP, "00501", control, "0",
        isa[14] if isa[14] in ("I", "P", "T") else "P", C])]
    for n, g in enumerate(x.groups, 1):
        sender = _get(g.gs, 3).strip() or isa[7].strip()
        receiver = _get(g.gs, 2).strip() or isa[5].strip()
        body = [_seg("AK1", _get(g.gs, 1), _get(g.gs, 6), _get(g.gs, 8))]
        statuses = []
        for s in g.sets:
            status, codes = _ik5(s)
            statuses.append(status)
            if s.ids[0] not in SET_TYPES:
                log.warning("999: transaction set %s (ST01 %s) is counted in AK9 but has no "
                            "AK2: the 999 guide acknowledges %s only", s.ids[1], s.ids[0],
                            ", ".join(sorted(SET_TYPES)))
                continue
            body += [_seg("AK2", *s.ids), *s.segments, _seg("IK5", status, *codes)]
        body.append(_seg(*_ak9(g, statuses)))
        out += [_seg("GS", "FA", sender, receiver, time.strftime("%Y%m%d", when),
                     time.strftime("%H%M", when), str(n), "X", GUIDE),
                _seg("ST", "999", "0001", GUIDE), *body, _seg("SE", str(len(body) + 2), "0001"),
                _seg("GE", "1", str(n))]
    # TA1 after the groups: where pyx12's 5010 control map (and pyx12's own 999) has it.
    if (x.codes or x.errors or x.warnings or isa[13] == "1") and not _ta1_echo(isa):
        log.warning("999: the TA1 for interchange %s is left out: its ISA09/ISA10/ISA13 "
                    "(date, time, control number) are not valid to echo", isa[12].strip())
    elif x.codes or x.errors or x.warnings or isa[13] == "1":
        status = "R" if x.errors else "E" if x.warnings else "A"
        note = x.codes[0] if x.codes else "024" if x.errors else "000"  # 024: invalid content
        out.append(_seg("TA1", isa[12], isa[8], isa[9], status, note))
    out.append(_seg("IEA", str(len(x.groups)), control))
    return out


def _ta1_echo(isa: list[str]) -> bool:
    """TA101-TA103 echo ISA13, ISA09 and ISA10: only valid ones can be echoed."""
    try:
        time.strptime(isa[8] + isa[9], "%y%m%d%H%M")
    except ValueError:
        return False
    return len(isa[8]) == 6 and len(isa[9]) == 4 and bool(re.fullmatch(r"\d{9}", isa[12]))


def _render(segments: list[str]) -> str:
    """The segments as text, in the first delimiter set that no copied value contains."""
    text = "\n".join(segments)
    for term, elem, comp, rep in _DELIMITERS:
        if not any(d in text for d in (term, elem, comp, rep)):
            break
    after = "\n" if term == "~" else ""
    return "".join(s + term + after for s in segments).translate(
        str.maketrans({E: elem, C: comp, REP: rep}))


def acknowledgements(result: Result) -> list[Acknowledgement]:
    """The 999 of every input file, in file order (``text`` None: no 999, ``reason`` why)."""
    when = time.gmtime(result.started)
    base = int(result.started) % 1_000_000
    files = _gather(result)
    out = []
    seq = 0
    for file_id, path, status, error in result.batch.files.select(
            "file_id", "path", "status", "error").sort("file_id").iter_rows():
        if status != "parsed":
            out.append(Acknowledgement(file_id, path, None, f"the file is unreadable ({error})"))
            continue
        found = files.get(file_id, [])
        not_acked = 0
        for x in found:
            other = [g for g in x.groups if _get(g.gs, 1) not in GROUP_TYPES]
            for g in other:
                log.info("999 for %s: group %s (GS01 %s) is not acknowledged: %s", path,
                         _get(g.gs, 6), _get(g.gs, 1) or "empty",
                         "an acknowledgement is never acknowledged" if _get(g.gs, 1) == "FA"
                         else "the 999 guide covers GS01 " + ", ".join(sorted(GROUP_TYPES)))
            x.groups = [g for g in x.groups if g not in other]
            not_acked += len(other)
        readable = [x for x in found if x.isa and x.groups]
        for why, n in (("whose ISA cannot be read (not 16 elements)",
                        sum(not x.isa for x in found)),
                       ("without a functional group", sum(bool(x.isa and not x.groups)
                                                          for x in found))):
            if n and readable:
                log.warning("999 for %s: %s get no acknowledgement", path,
                            _plural(n, "interchange") + " " + why)
        if not readable:
            why = ("its ISA cannot be read (not 16 elements)" if any(not x.isa for x in found)
                   else "its functional groups are of types a 999 does not acknowledge (GS01 "
                   "FA: acknowledgements, or outside " + ", ".join(sorted(GROUP_TYPES)) + ")"
                   if not_acked else "it has no functional group to acknowledge" if found
                   else "it holds no interchange")
            out.append(Acknowledgement(file_id, path, None, why))
            continue
        segments = []
        for x in readable:
            seq += 1
            segments += _interchange(x, f"{base:06d}{seq % 1000:03d}", when)
        out.append(Acknowledgement(file_id, path, _render(segments)))
    return out


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _skip(ack: Acknowledgement) -> None:
    log.warning("no 999 for %s: %s", ack.path, ack.reason)


def write(result: Result, path: Path, options: RunOptions | None = None) -> None:
    """``path`` an existing folder: one ``<input file name>.999`` per input file in it.
    Otherwise the one input file's 999 to ``path`` (``--report FILE`` / stdout)."""
    if path.is_dir():
        write_each(result, path)
        return
    acks = acknowledgements(result)
    if len(acks) != 1:
        raise UsageError(f"--format 999 to one file needs exactly one input file; the run has "
                         f"{len(acks)} (use --report-dir for one 999 per input file)")
    if acks[0].text is None:
        raise UsageError(f"no 999 for {acks[0].path}: {acks[0].reason}")
    atomic_write(path, acks[0].text)


def write_each(result: Result, folder: Path) -> list[Path]:
    """One ``<input file name>.999`` per input file in ``folder`` (``-2``, ``-3``… when two
    inputs share a name); files without a 999 are logged."""
    written: list[Path] = []
    taken: set[str] = set()
    for ack in acknowledgements(result):
        if ack.text is None:
            _skip(ack)
            continue
        name = _free_name(Path(ack.path).name, taken)
        atomic_write(folder / name, ack.text)
        written.append(folder / name)
        log.info("999 for %s: %s", ack.path, folder / name)
    return written


def _free_name(name: str, taken: set[str]) -> str:
    for n in range(1, 100_000):
        cand = f"{name}.{EXTENSION}" if n == 1 else f"{name}-{n}.{EXTENSION}"
        if cand not in taken:
            taken.add(cand)
            return cand
    raise UsageError(f"too many input files named {name}")


def parse(text: str) -> list[list[str]]:
    """A 999's segments as element lists (delimiters read from its ISA)."""
    elem, term = text[3], text[105]
    comp = text[104]
    segs = [s.strip() for s in text.split(term) if s.strip()]
    return [[v.replace(comp, ":") for v in s.split(elem)] for s in segs]

"""Element checks of one segment against its map node: pyx12's ``segment_if.is_valid_errors``.

Two halves:

- :func:`validate` is an exact port of pyx12's element validation (``map_if`` segment,
  composite and element ``is_valid_errors``, ``validation.py``, ``syntax.py``) over the
  compiled tables: for one segment it returns the same errors, codes, messages and values.
  It is slow (Python per segment), so it only explains the segments that need it.
- :func:`accept_pattern` writes, per map node, one regular expression (Rust syntax, for
  polars) that matches only segments :func:`validate` has nothing to say about: codes,
  lengths, character sets, numbers, dates and times, required / not-used elements, syntax
  rules (as the presence combinations they allow) and the number of elements. It is
  conservative: whatever it cannot express exactly (a leap day, a trailing space, an
  element ``<regex>``...) it rejects, and :func:`validate` decides.

Segments are the reader's canonical text: elements split by ``ELEM``, components by
``COMP``; a repetition separator (``REP``) inside a value is pyx12's data character ``^``
(pyx12 does not split repetitions; every character pyx12's run could use for it is a valid
5010 character). Values in messages show components joined with ``:`` as pyx12's do.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from ....x12.load import COMP, ELEM, REP
from .guide import Guide

# pyx12's 5010 extended character set for AN/ID values (validation.rec_ID_E5, inverted).
_E5 = "A-Z0-9!\"&'()*+,\\-\\./:;?= a-z%~@\\[\\]_{}\\\\|<>^`#$"
_BAD_E5 = re.compile(f"[^{_E5}]", re.S | re.ASCII)
_REC_N = re.compile(r"^-?[0-9]+", re.S | re.ASCII)
_REC_R = re.compile(r"^-?[0-9]*(\.[0-9]+)?", re.S | re.ASCII)
_NON_DIGIT = re.compile(r"[^0-9]+", re.S | re.ASCII)
DATE_TYPES = ("RD8", "DT", "D8", "D6")
_CONTROL = [(chr(c), name) for c, name in (
    (0x07, "BEL"), (0x09, "HT"), (0x0A, "LF"), (0x0B, "VT"), (0x0C, "FF"), (0x0D, "CR"),
    (0x1C, "FS"), (0x1D, "GS"), (0x1E, "RS"), (0x1F, "US"), (0x01, "SOH"), (0x02, "STX"),
    (0x03, "ETX"), (0x04, "EOT"), (0x05, "ENQ"), (0x06, "ACK"), (0x11, "DC1"), (0x12, "DC2"),
    (0x13, "DC3"), (0x14, "DC4"), (0x15, "NAK"), (0x16, "SYN"), (0x17, "ETB"))]


@dataclass(frozen=True)
class Err:
    """One error: ``level`` ``seg`` (IK304-n) or ``ele`` (IK403-n), pyx12's code, message
    and value; ``ele``/``sub`` the element position (and component) of an ``ele`` error."""

    level: str
    code: str
    text: str
    value: str | None = None
    ele: int | None = None
    sub: int | None = None

    @property
    def reported(self) -> str:
        """The code pyx12 reports: segment-level element problems (too many elements,
        syntax rules, composites) go out as IK304-8, "segment has data element errors"
        (pyx12's ``apply_segment_errors``)."""
        return "8" if self.level == "seg" else self.code


# ---------------------------------------------------------------- pyx12's validation.py

def _valid_date(data_type: str, val: str) -> bool:
    if data_type == "D8" and len(val) != 8:
        return False
    if data_type == "D6" and len(val) != 6:
        return False
    if _NON_DIGIT.search(val) or len(val) not in (6, 8, 12):
        return False
    if len(val) == 6:
        val = ("20" if int(val[0:2]) < 50 else "19") + val
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8]) if len(val) > 6 else 0
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        ok = 1 <= day <= 31
    elif month in (4, 6, 9, 11):
        ok = 1 <= day <= 30
    elif not year % 4 and not (not year % 100 and year % 400):
        ok = 1 <= day <= 29
    else:
        ok = 1 <= day <= 28
    return ok and (len(val) != 12 or _valid_time(val[8:12]))


def _valid_time(val: str) -> bool:
    if _NON_DIGIT.search(val):
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    return len(val) <= 4 or not (len(val) < 6 or val[4:6] > "59" or len(val) > 8)


def valid_type(val: str, data_type: str | None) -> bool:
    """pyx12's ``IsValidDataType`` (charset E, 5010). An RD8 value with more than one ``-``
    makes pyx12 raise (ValueError); here it is simply not a valid RD8."""
    if not data_type:
        return True
    if data_type[0] == "N":
        m = _REC_N.search(val)
        return bool(m) and m.group(0) == val
    if data_type == "R":
        m = _REC_R.search(val)
        return bool(m) and m.group(0) == val
    if data_type in ("ID", "AN"):
        return not _BAD_E5.search(val)
    if data_type == "RD8":
        parts = val.split("-")
        return len(parts) == 2 and _valid_date("D8", parts[0]) and _valid_date("D8", parts[1])
    if data_type in ("DT", "D8", "D6"):
        return _valid_date(data_type, val)
    if data_type == "TM":
        return _valid_time(val)
    return data_type == "B"


# ---------------------------------------------------------------- the map, per node

@dataclass(frozen=True)
class ElementRule:
    xid: str
    name: str
    usage: str
    seq: int
    de: str | None
    type: str | None
    min: int
    max: int
    codes: frozenset[str]
    ext: str | None
    ext_codes: frozenset[str]
    regex: str | None
    ele: int  # position of the element (of its composite) in the segment
    sub: int | None  # position in the composite
    in_composite_usage: str | None  # usage of the composite holding it (None: a plain element)


@dataclass(frozen=True)
class CompositeRule:
    xid: str
    name: str
    usage: str
    seq: int
    subs: tuple[ElementRule, ...]


@dataclass(frozen=True)
class NodeRules:
    node: int
    seg_id: str
    name: str
    children: tuple[ElementRule | CompositeRule, ...]
    syntax: tuple[tuple, ...]
    t1250: tuple[str, ...]


def _element_rule(g: Guide, i: int, ele: int, sub: int | None, comp_usage: str | None,
                  ) -> ElementRule:
    e = g.elements[i]
    return ElementRule(
        e["xid"], e["name"], e["usage"], e["seq"], e["de"], e["type"], e["min"], e["max"],
        frozenset(c for c in (e["codes"] or ()) if c is not None), e["ext"],
        g.external.get(e["ext"], frozenset()) if e["ext"] else frozenset(), e["re"], ele, sub,
        comp_usage)


@functools.cache
def _rules_cached(vriic: str, node: int) -> NodeRules:
    from .guide import load

    g = load(vriic)
    n = g.nodes[node]
    children: list[ElementRule | CompositeRule] = []
    for pos, (kind, i) in enumerate(n["el"], start=1):
        if kind == "e":
            children.append(_element_rule(g, i, pos, None, None))
        else:
            c = g.composites[i]
            subs = tuple(_element_rule(g, s, pos, k, c["usage"])
                         for k, s in enumerate(c["sub"], start=1))
            children.append(CompositeRule(c["xid"], c["name"], c["usage"], c["seq"], subs))
    return NodeRules(node, n["id"], n["name"], tuple(children),
                     tuple(tuple(s) for s in n["syntax"]), tuple(n["t1250"]))


def rules(g: Guide, node: int) -> NodeRules:
    return _rules_cached(g.vriic, node)


# ---------------------------------------------------------------- the exact port

def _fmt(comps: list[str]) -> str:
    """A composite as pyx12 formats it: components up to the last non-empty one."""
    last = 0
    for i in range(len(comps) - 1, -1, -1):
        last = i
        if comps[i] != "":
            break
    return ":".join(comps[: last + 1])


def _check_element(r: ElementRule, comps: list[str] | None, type_list: list[str] | None,
                   out: list[Err]) -> None:
    """pyx12's ``element_if.is_valid_errors`` (``comps``: the element's components, or
    None when absent; a component of a composite is passed as a one-item list)."""
    def err(code: str, text: str, value: str | None) -> None:
        out.append(Err("ele", code, text, value, r.ele, r.sub))

    if comps is not None and len(comps) > 1:
        err("6", f'Data element "{r.name}" ({r.xid}) is an invalid composite', _fmt(comps))
        return
    val = "" if comps is None else comps[0]
    if val == "":
        if r.usage == "R" and (r.seq != 1 or r.in_composite_usage is None
                               or r.in_composite_usage == "R"):
            err("1", f'Mandatory data element "{r.name}" ({r.xid}) is missing', None)
        return
    if r.usage == "N":
        err("10", f'Data element "{r.name}" ({r.xid}) is marked as Not Used', None)
        return
    dt = r.type
    measured = val.replace("-", "").replace(".", "") if dt and (dt == "R" or dt[0] == "N") else val
    if len(measured) < r.min:
        err("4", f'Data element "{r.name}" ({r.xid}) is too short: len("{val}") = '
                 f"{len(measured)} < {r.min} (min_len)", val)
    if len(measured) > r.max:
        err("5", f'Data element "{r.name}" ({r.xid}) is too long: len("{val}") = '
                 f"{len(measured)} > {r.max} (max_len)", val)
    for ch, name in _CONTROL:
        if ch in val:
            err("6", f'Data element "{r.name}" ({r.xid}), contains an invalid control '
                     f"character(<{name}>)", f"<{name}>")
            return
    if dt in ("AN", "ID") and val[-1] == " " and len(val.rstrip()) >= r.min:
        err("6", f'Data element "{r.name}" ({r.xid}) has unnecessary trailing spaces. ({val})',
            val)
    if (r.codes or r.ext) and val not in r.codes and not (r.ext and val in r.ext_codes):
        err("7", f"({val}) is not a valid code for {r.name} ({r.xid})", val)
    if not valid_type(val, dt):
        if dt in DATE_TYPES:
            err("8", f'Data element "{r.name}" ({r.xid}) contains an invalid date ({val})', val)
        elif dt == "TM":
            err("9", f'Data element "{r.name}" ({r.xid}) contains an invalid time ({val})', val)
        else:
            err("6", f'Data element "{r.name}" ({r.xid}) is type {dt}, contains an invalid '
                     f"character({val})", val)
    if type_list and not any(t is not None and valid_type(val, t) for t in type_list):
        if "TM" in type_list:
            err("9", f'Data element "{r.name}" ({r.xid}) contains an invalid time ({val})', val)
        elif any(t in type_list for t in DATE_TYPES):
            err("8", f'Data element "{r.name}" ({r.xid}) contains an invalid date ({val})', val)
    if r.regex is not None and not re.search(r.regex, val, re.S):
        err("7", f'Data element "{r.name}" with a value of ({val}) failed to match the '
                 f'regular expression "{r.regex}"', val)


def _check_composite(c: CompositeRule, comps: list[str] | None, out: list[Err]) -> None:
    """pyx12's ``composite_if.is_valid_errors``."""
    empty = comps is None or all(v == "" for v in comps)
    if empty and c.usage in ("N", "S"):
        return
    if c.usage == "R" and empty:
        out.append(Err("seg", "1", f'Mandatory composite "{c.name}" ({c.xid}) is missing'))
        return
    assert comps is not None
    if c.usage == "N":
        out.append(Err("seg", "5", f'Composite "{c.name}" ({c.xid}) is marked as Not Used'))
        return
    if len(comps) > len(c.subs):
        out.append(Err("seg", "3", f'Too many sub-elements in composite "{c.name}" ({c.xid})'))
    for i, r in enumerate(c.subs):
        _check_element(r, [comps[i]] if i < len(comps) else None, None, out)


def _syntax_str(syn: tuple) -> str:
    return str(syn[0]) + "".join(f"{int(i):02d}" for i in syn[1:])


def _ele_ids(seg_id: str, idx: list[int]) -> str:
    out = f"{seg_id}{idx[0]:02d}"
    for i in range(len(idx) - 1):
        sep = " or " if i == len(idx) - 2 else ", "
        out += f"{sep}{seg_id}{idx[i + 1]:02d}"
    return out


def syntax_error(seg_id: str, present: list[bool], syn: tuple) -> str | None:
    """pyx12's ``is_syntax_valid``: the message when the rule fails, else None.
    ``present[k]``: element ``k`` (1-based; index 0 unused) is there and not empty."""
    code, idx = syn[0], [int(s) for s in syn[1:]]

    def has(k: int) -> bool:
        return k < len(present) and present[k]

    if len(syn) < 3:
        return f"Syntax string must have at least two comparators {_syntax_str(syn)}"
    count = sum(has(k) for k in idx)
    if code == "P":
        if count not in (0, len(idx)):
            return (f"Syntax Error ({_syntax_str(syn)}): If any of {_ele_ids(seg_id, idx)} "
                    "is present, then all are required")
        return None
    if code == "R":
        return (f"Syntax Error ({_syntax_str(syn)}): At least one element is required"
                if count == 0 else None)
    if code == "E":
        return (f"Syntax Error ({_syntax_str(syn)}): At most one of {_ele_ids(seg_id, idx)} "
                "may be present" if count > 1 else None)
    if code == "C":
        if has(idx[0]) and sum(has(k) for k in idx[1:]) != len(idx) - 1:
            verb = "are" if len(idx[1:]) > 1 else "is"
            return (f"Syntax Error ({_syntax_str(syn)}): If {seg_id}{idx[0]:02d} is present, "
                    f"then {_ele_ids(seg_id, idx[1:])} {verb} required")
        return None
    if code == "L":
        if has(idx[0]) and sum(has(k) for k in idx[1:]) == 0:
            return (f"Syntax Error ({_syntax_str(syn)}): If {seg_id}{idx[0]:02d} is present, "
                    f"then at least one of {_ele_ids(seg_id, idx[1:])} is required")
        return None
    return f"Syntax Type {_syntax_str(syn)} Not Found"


def validate(g: Guide, node: int, raw: str, memo: dict | None = None) -> list[Err]:
    """Every element error pyx12 reports for segment ``raw`` matched to map node ``node``.
    ``memo`` (a dict the caller keeps) remembers element checks across calls: the values
    of many segments repeat."""
    nr = rules(g, node)
    check = _check_element if memo is None else functools.partial(_check_memo, memo)
    parts = raw.replace(REP, "^").split(ELEM)
    seg_id = parts[0]
    eles = [p.split(COMP) for p in parts[1:]]
    out: list[Err] = []
    n, cc = len(eles), len(nr.children)
    if n > cc:
        out.append(Err("seg", "3", f'Too many elements in segment "{nr.name}" ({seg_id}). '
                                   f"Has {n}, should have {cc}", _fmt(eles[cc])))
    dtype: list[str] = []
    type_list: list[str] = []
    for i in range(min(n, cc)):
        child = nr.children[i]
        if isinstance(child, CompositeRule):
            # pyx12 raises (IndexError) on a composite with more components than the map
            # has when the composite is used; the composite check below reports it.
            if memo is None:
                _check_composite(child, eles[i], out)
            else:
                key = (id(child), tuple(eles[i]))
                errs = memo.get(key)
                if errs is None:
                    errs = memo[key] = []
                    _check_composite(child, eles[i], errs)
                out += errs
            continue
        if i == 1 and seg_id == "DTP" and _fmt(eles[1]) in ("RD8", "D8", "D6", "DT", "TM"):
            dtype = [_fmt(eles[1])]
        if child.de == "1250":
            type_list.extend(_codes_in_order(g, node, i))
        if i == 2 and seg_id == "DTP":
            check(child, eles[i], dtype, out)
        elif child.de == "1251" and type_list:
            check(child, eles[i], type_list, out)
        else:
            check(child, eles[i], None, out)
    out += _absent(nr, min(n, cc))
    if nr.syntax:
        present = [False] + [_fmt(e) != "" for e in eles]
        for syn in nr.syntax:
            text = syntax_error(seg_id, present, syn)
            if text is not None:
                out.append(Err("seg", "10" if syn[0] == "E" else "2", text))
    return out


_ABSENT_ERRS: dict[tuple[int, int], tuple[Err, ...]] = {}


def _absent(nr: NodeRules, start: int) -> tuple[Err, ...]:
    """The errors of the node's elements from position ``start`` (0-based) on when they
    are absent (the segment ends before them)."""
    key = (id(nr), start)
    if key in _ABSENT_ERRS:
        return _ABSENT_ERRS[key]
    out: list[Err] = []
    for child in nr.children[start:]:
        if isinstance(child, CompositeRule):
            _check_composite(child, None, out)
        else:
            _check_element(child, None, None, out)
    _ABSENT_ERRS[key] = tuple(out)
    return _ABSENT_ERRS[key]


def _check_memo(memo: dict, r: ElementRule, comps: list[str] | None,
                type_list: list[str] | None, out: list[Err]) -> None:
    key = (id(r), None if comps is None else tuple(comps), tuple(type_list or ()))
    errs = memo.get(key)
    if errs is None:
        errs = []
        _check_element(r, comps, type_list, errs)
        memo[key] = errs
    out += errs


def _codes_in_order(g: Guide, node: int, i: int) -> list[str]:
    _kind, idx = g.nodes[node]["el"][i]
    return [c for c in (g.elements[idx]["codes"] or ()) if c is not None]


# ---------------------------------------------------------------- the fast accept pattern

def _esc(text: str) -> str:
    return "".join(ch if ch.isalnum() and ch.isascii() else f"\\x{ord(ch):02X}" for ch in text)


_AN_CHARS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"&'()*+,-./:;?= abcdefghijklmnopqrstuvwxyz%~@[]_{}"
    "\\|<>^`#$")
_AN_CLASS = "[" + "".join(_esc(c) for c in _AN_CHARS) + _esc(REP) + "]"
_AN_LAST = "[" + "".join(_esc(c) for c in _AN_CHARS if c != " ") + _esc(REP) + "]"
_D = "[0-9]"
# A valid D8 date, year 1800-9999 (29 February, valid only in leap years, is left out).
_D8 = ("(?:1[89][0-9]{2}|[2-9][0-9]{3})"
       "(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)"
       "|(?:0[13578]|1[02])31)")
_TM = {4: "(?:[01][0-9]|2[0-3])[0-5][0-9]", 6: "(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]",
       7: "(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9][0-9]",
       8: "(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9][0-9]{2}"}


def _type_pattern(dt: str | None, lo: int, hi: int) -> str | None:
    """Non-empty values of type ``dt`` with a measured length in [lo, hi] (None: not
    expressible, the element then goes to the slow path)."""
    if dt in ("AN", "ID"):
        if hi < 1:
            return None
        lo = max(lo, 1)
        return f"{_AN_CLASS}{{{lo - 1},{hi - 1}}}{_AN_LAST}"
    if dt and dt[0] == "N":
        return f"-?{_D}{{{max(lo, 1)},{hi}}}" if hi >= max(lo, 1) else None
    if dt == "R":
        alts = [f"{_D}{{{max(lo, 1)},{hi}}}"] if hi >= max(lo, 1) else []
        for a in range(0, hi):  # a digits before the point, b after
            b_lo, b_hi = max(1, lo - a), hi - a
            if b_hi >= b_lo:
                alts.append(f"{_D}{{{a}}}\\.{_D}{{{b_lo},{b_hi}}}")
        return f"-?(?:{'|'.join(alts)})" if alts else None
    if dt in ("DT", "D8"):
        return _D8 if lo <= 8 <= hi else None
    if dt == "RD8":
        return f"{_D8}-{_D8}" if lo <= 17 <= hi else None
    if dt == "TM":
        alts = [p for n, p in _TM.items() if lo <= n <= hi]
        return f"(?:{'|'.join(alts)})" if alts else None
    return None


@functools.cache
def _value_pattern(r: ElementRule, type_list: tuple[str, ...] | None) -> str | None:
    """Non-empty values of element ``r`` with no error (None: none are expressible)."""
    if r.usage == "N":
        return None
    if r.regex is not None:
        # only the values that are exactly the common pyx12 pattern (nine digits)
        if r.regex == "[0-9]{9}" and r.type in ("AN", "ID") and r.min <= 9 <= r.max:
            return "[0-9]{9}"
        return None
    if r.codes or r.ext:
        ok = sorted(c for c in (r.codes | (r.ext_codes if r.ext else frozenset()))
                    if c and not _check_value_errors(r, c, type_list))
        return "(?:" + "|".join(_esc(c) for c in ok) + ")" if ok else None
    if type_list:
        alts = []
        for t in dict.fromkeys(type_list):
            if t in ("D8", "RD8", "DT", "TM"):
                p = _type_pattern(t, r.min, r.max)
                if p is not None:
                    alts.append(p)
        if r.type not in ("AN", "ID"):
            return None
        known = [t for t in type_list if t in ("RD8", "DT", "D8", "D6", "TM")]
        if not known:  # no type pyx12 knows: only the element's own rules apply
            return _type_pattern(r.type, r.min, r.max)
        return f"(?:{'|'.join(alts)})" if alts else None
    return _type_pattern(r.type, r.min, r.max)


def _check_value_errors(r: ElementRule, val: str, type_list: tuple[str, ...] | None) -> bool:
    out: list[Err] = []
    _check_element(r, [val], list(type_list) if type_list else None, out)
    return bool(out)


def _nested(parts: list[tuple[str, str]], sep: str) -> str:
    """Positions ``(mode, pattern)`` (mode ``must``/``empty``/``either``) as a sequence in
    which the positions after the last ``must`` one may be left off."""
    def one(mode: str, pat: str) -> str:
        return pat if mode == "must" else "" if mode == "empty" else f"(?:{pat})?"

    last = max((i for i, (m, _) in enumerate(parts) if m == "must"), default=-1)
    head = "".join(sep + one(m, p) for m, p in parts[: last + 1])
    tail = ""
    for m, p in reversed(parts[last + 1:]):
        tail = f"(?:{sep}{one(m, p)}{tail})?"
    return head + tail


@functools.cache
def _composite_pattern(c: CompositeRule) -> str | None:
    """Non-empty composites with no error."""
    if c.usage == "N":
        return None
    parts: list[tuple[str, str]] = []
    for r in c.subs:
        if r.usage == "N":
            parts.append(("empty", ""))
            continue
        p = _value_pattern(r, None)
        must = r.usage == "R" and (r.seq != 1 or c.usage == "R")
        if p is None:
            if must:
                return None
            parts.append(("empty", ""))
        else:
            parts.append(("must" if must else "either", p))
    if not any(m == "must" for m, _ in parts):
        if parts[0][0] == "empty":
            return None
        parts[0] = ("must", parts[0][1])  # at least one component: the first
    return _nested(parts, _esc(COMP))[len(_esc(COMP)):]


def _syntax_groups(nr: NodeRules) -> list[list[tuple]]:
    """The node's syntax rules, grouped when they name a common element."""
    groups: list[list[tuple]] = []
    for syn in nr.syntax:
        pos = {int(k) for k in syn[1:]}
        merged = [syn]
        for grp in [g for g in groups if pos & {int(k) for s in g for k in s[1:]}]:
            groups.remove(grp)
            merged = grp + merged
        groups.append(merged)
    return groups


def _combos(nr: NodeRules, group: list[tuple]) -> list[dict[int, bool]]:
    """The presence assignments of the elements ``group`` names that satisfy it."""
    involved = sorted({int(k) for syn in group for k in syn[1:]})
    out = []
    for bits in itertools.product((False, True), repeat=len(involved)):
        present = [False] * (involved[-1] + 1)
        for k, b in zip(involved, bits, strict=True):
            present[k] = b
        if all(syntax_error(nr.seg_id, present, syn) is None for syn in group):
            out.append(dict(zip(involved, bits, strict=True)))
    return out


_ANY = "[^\\x1D]*"
_ABSENT = "\\x1F*"
_PRESENT = "\\x1F*[^\\x1D\\x1F][^\\x1D]*"
_REST = "(?:\\x1D(?s:.)*)?"
# Syntax rules join the value pattern (one pattern, one pass over the rows) while the
# combinations stay few; past that they get patterns of their own.
MERGE_LIMIT = 24


def _syntax_pattern(nr: NodeRules, combos: list[dict[int, bool]]) -> str:
    """A regular expression matching the segments whose elements are present as one of
    ``combos`` says (other elements anything)."""
    top = max(k for c in combos for k in c)
    variants = []
    for presence in combos:
        parts = []
        for k in range(1, top + 1):
            if k not in presence:
                parts.append(("either", _ANY))
            else:
                parts.append(("must", _PRESENT) if presence[k] else ("empty", _ABSENT))
        variants.append(_nested_absent(parts))
    return f"^{_esc(nr.seg_id)}(?:{'|'.join(variants)})$"


def _nested_absent(parts: list[tuple[str, str]]) -> str:
    """The positions of a syntax pattern: the ones up to the last ``must`` one in full, the
    others optional (from the end on), anything after the last one."""
    sep = _esc(ELEM)
    last = max((i for i, (m, _) in enumerate(parts) if m == "must"), default=-1)
    head = "".join(sep + p for _m, p in parts[: last + 1])
    tail = _REST
    for _m, p in reversed(parts[last + 1:]):
        tail = f"(?:{sep}{p}{tail})?"
    return head + tail


def accept_patterns(g: Guide, node: int) -> list[str] | None:
    """Regular expressions (Rust syntax) that together match only segments of ``node`` with
    no element error (see the module docstring); None when no segment can pass."""
    return _accept_cached(g.vriic, node)


def _value_variant(nr: NodeRules, presence: dict[int, bool], dtp: str | None) -> str | None:
    """The segments whose values all pass, with the elements of ``presence`` present or
    not as it says and DTP02 = ``dtp`` (when given); None when that cannot pass."""
    t1250 = tuple(nr.t1250)
    parts: list[tuple[str, str]] = []
    for i, child in enumerate(nr.children, start=1):
        if isinstance(child, CompositeRule):
            pat = _composite_pattern(child)
        elif dtp is not None and i == 2:
            pat = _esc(dtp)
        elif dtp is not None and i == 3:
            types = (dtp,) if dtp in ("RD8", "D8", "D6", "DT", "TM") else None
            pat = _value_pattern(child, types)
        elif child.de == "1251" and t1250 and _1250_before(nr, i):
            pat = _value_pattern(child, t1250)
        else:
            pat = _value_pattern(child, None)
        want = presence.get(i)
        required, forbidden = child.usage == "R", child.usage == "N"
        if want is True or (want is None and required):
            if forbidden or pat is None:
                return None
            parts.append(("must", pat))
        elif want is False:
            if required:
                return None
            parts.append(("empty", ""))
        elif forbidden or pat is None:
            parts.append(("empty", ""))
        else:
            parts.append(("either", pat))
    return _nested(parts, _esc(ELEM))


@functools.cache
def _accept_cached(vriic: str, node: int) -> list[str] | None:
    from .guide import load

    nr = rules(load(vriic), node)
    dtp_codes: list[str | None] = [None]
    if nr.seg_id == "DTP" and len(nr.children) >= 3:
        c2 = nr.children[1]
        if isinstance(c2, ElementRule) and c2.codes and c2.usage == "R":
            dtp_codes = sorted(c for c in c2.codes if not _check_value_errors(c2, c, None))
    groups = [_combos(nr, grp) for grp in _syntax_groups(nr)]
    if any(not c for c in groups):
        return None
    merged_count = len(dtp_codes)
    for c in groups:
        merged_count *= len(c)
    if merged_count <= MERGE_LIMIT:
        presences = [{k: v for c in combo for k, v in c.items()}
                     for combo in itertools.product(*groups)] if groups else [{}]
        extra: list[str] = []
    else:
        presences = [{}]
        extra = []
        per_group = 1
        for c in groups:
            per_group *= len(c)
        if per_group <= 4 * MERGE_LIMIT:  # the syntax rules together
            extra.append(_syntax_pattern(nr, [{k: v for c in combo for k, v in c.items()}
                                              for combo in itertools.product(*groups)]))
        else:
            extra += [_syntax_pattern(nr, c) for c in groups]
    variants = [v for presence in presences for dtp in dtp_codes
                if (v := _value_variant(nr, presence, dtp)) is not None]
    if not variants:
        return None
    body = variants[0] if len(variants) == 1 else "(?:" + "|".join(variants) + ")"
    return [f"^{_esc(nr.seg_id)}{body}$", *extra]


def _1250_before(nr: NodeRules, i: int) -> bool:
    """Whether a 1250 element precedes position ``i`` (its codes then type a 1251 value)."""
    return any(isinstance(c, ElementRule) and c.de == "1250" for c in nr.children[: i - 1])

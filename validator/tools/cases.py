"""``claims-validator ruleset test``: run a ruleset's test cases through the real pipeline.

A case is a TOML expectations file beside an EDI file (rulesets/README.md, "Test cases")::

    [case]
    edi = "wrong-payer.edi"         # relative to this file
    roster = "members.csv"          # a plugin's file option (KP: ``check --members``)
    ruleset = "../../payer.toml"    # optional; default: the folder name, tests/<ruleset>/
    only = "SIT"                    # optional code prefix(es): compare only these codes
    file_codes = []                 # codes expected outside any claim (default: none)
    ig = false                      # implementation-guide validation (default off)

    [claims]
    "CLM-1" = ["SIT404"]            # the exact set of codes each claim raises
    "CLM-2" = []
    "CLM-3" = ["SIT405:warning"]    # ``:severity`` also checks the (overridden) severity

Every claim of the EDI file must be listed, and every listed claim must be in the file.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import polars as pl

from ..engine import Selection, check
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..ruleset.compose import resolve_parent
from ..ruleset.load import load
from ..ruleset.model import RulesetError
from ..ruleset.schema import (
    SEVERITIES,
    AnyOf,
    Bool,
    Enum,
    Field,
    ListOf,
    MapOf,
    Problem,
    RuleCode,
    Spec,
    Str,
    Table,
    Walk,
)


class ExpectedCode(Spec):
    """``CODE`` or ``CODE:severity`` (an exact rule code)."""

    describe = "a rule code, optionally with :severity (string)"
    code = RuleCode(exact=True, allow_all=False)
    severity = Enum("severity", SEVERITIES)

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
            return
        code, _, sev = value.partition(":")
        yield from self.code.check(code, path, w)
        if sev:
            yield from self.severity.check(sev, path, w)


CODES = ListOf(ExpectedCode(), normalize=lambda v: str(v).partition(":")[0])

def case_schema(registry: Registry) -> Table:
    """The case file format; plugins' options add keys (``roster`` for ``--members``)."""
    files = {o.case_key: Field(Str(), doc=f"as check {o.flag}, relative to this file")
             for o in registry.options if o.case_key}
    return Table({"case": Field(Table({**CASE_KEYS, **files}), required=True),
                  "claims": Field(MapOf(Str(), CODES), required=True)})


CASE_KEYS = {
        "edi": Field(Str(), required=True, doc="the EDI file, relative to this file"),
        "description": Field(Str(nonempty=False)),
        "ruleset": Field(Str()),
        "only": Field(AnyOf((RuleCode(allow_all=False), ListOf(RuleCode(allow_all=False))),
                            (str, list))),
        "file_codes": Field(CODES),
        "ig": Field(Bool()),
}


class TestUsageError(Exception):
    """Nothing to test (exit code 2)."""

    __test__ = False  # not a pytest class


@dataclass
class CaseResult:
    path: Path
    status: str  # pass, fail, error
    ruleset: str = ""
    claims: int = 0
    diffs: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    description: str = ""
    # What the run raised (codes compared, i.e. within ``only``): claim ID -> code -> severity.
    actual: dict[str, dict[str, str]] = field(default_factory=dict)


def is_case(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return isinstance(tomllib.load(fh).get("case"), dict)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def collect_cases(paths: Sequence[str | Path]) -> list[Path]:
    """Case files: given directly; under folders (any ``*.toml`` with a ``[case]`` table,
    plus unreadable TOML under a ``tests`` folder, reported as errors); or, for a ruleset
    file ``dir/NAME.toml``, the cases in ``dir/tests/NAME/``."""
    out: dict[str, Path] = {}
    for arg in paths:
        p = Path(arg)
        if p.is_file():
            folder = p.parent / "tests" / p.stem
            if is_case(p) or not (folder.is_dir() or _parses(p)):  # broken: an error case
                out.setdefault(str(p), p)
                continue
            found = _scan(folder) if folder.is_dir() else []
            if not found:
                raise TestUsageError(f"{p}: not a test case, and no cases in {folder}/")
            for q in found:
                out.setdefault(str(q), q)
        elif p.is_dir():
            for q in _scan(p):
                out.setdefault(str(q), q)
        else:
            raise TestUsageError(f"no such file or folder: {arg}")
    if not out:
        raise TestUsageError("no test cases found in " + ", ".join(map(str, paths)))
    return list(out.values())


def _scan(folder: Path) -> list[Path]:
    found = []
    for q in sorted(folder.rglob("*.toml")):
        rel = q.relative_to(folder).parts
        if any(x.startswith(".") for x in rel):
            continue
        if is_case(q):
            found.append(q)
        elif "tests" in (*folder.parts, *rel[:-1]) and not _parses(q):
            found.append(q)  # a broken case file must fail, not vanish
    return found


def _parses(path: Path) -> bool:
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
        return True
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def _tests_folder(case_path: Path) -> tuple[Path, str] | None:
    """``(folder holding tests/, name)`` for a case under ``tests/<name>/`` (the innermost
    one), else None."""
    parts = case_path.resolve().parts
    for i in range(len(parts) - 2, 0, -1):
        if parts[i - 1] == "tests":
            return Path(*parts[: i - 1]), parts[i]
    return None


def check_case(data: dict[str, Any], registry: Registry) -> list[Problem]:
    """What is wrong with a case file before it runs: the schema, and expected codes that
    ``only`` leaves out (the run would never compare them: a case that cannot pass)."""
    problems: list[Problem] = list(case_schema(registry).check(data, (), Walk(registry.rules)))
    if problems:
        return problems
    only = data["case"].get("only")
    only = [only] if isinstance(only, str) else list(only or [])
    if not only:
        return []
    wanted = [(("claims", cid, i), code) for cid, codes in data["claims"].items()
              for i, code in enumerate(codes)]
    wanted += [(("case", "file_codes", i), code)
               for i, code in enumerate(data["case"].get("file_codes", []))]
    return [Problem(path, f"expected code {code.partition(':')[0]} is outside case.only "
                          f"({', '.join(only)}): the run compares only those codes; widen only "
                          "or drop the code", kind="value")
            for path, code in wanted if not any(code.startswith(p) for p in only)]


def case_ruleset(case_path: Path, ref: str | None, registry: Registry) -> Path:
    """The ruleset file a case tests (``[case] ruleset`` or the tests/<name>/ folder)."""
    home = _tests_folder(case_path)
    if ref:
        # A name is looked up beside the case file, then where the tests/ folder holding it
        # sits (as the folder name is), then among the shipped rulesets.
        for child in (case_path, *([home[0] / "x.toml"] if home else [])):
            found = resolve_parent(ref, child, registry)
            if found is not None:
                return found
        raise RulesetError(f"case.ruleset: no ruleset {ref!r} (a shipped name, a ruleset "
                           "beside the tests/ folder, or a path relative to the case file)")
    if home is None:
        raise RulesetError("cannot tell which ruleset this case tests: keep it in "
                           "tests/<ruleset-name>/ or set case.ruleset")
    base, name = home
    found = resolve_parent(name, base / "x.toml", registry)
    if found is None:
        raise RulesetError(f"no ruleset {name!r} for folder tests/{name}/ (looked for "
                           f"{base / (name + '.toml')} and a shipped ruleset); set case.ruleset")
    return found


def run_case(path: Path, registry: Registry) -> CaseResult:
    """Run one case; any problem with the case itself is an ``error`` result, not a crash."""
    t0 = time.perf_counter()
    res = CaseResult(path, "error")
    try:
        _run(path, registry, res)
    except RulesetError as exc:
        res.status, res.diffs = "error", [str(exc)]
    except Exception as exc:  # one broken case never stops the others
        res.status, res.diffs = "error", [f"internal error: {type(exc).__name__}: {exc}"]
    res.elapsed = time.perf_counter() - t0
    return res


def _run(path: Path, registry: Registry, res: CaseResult) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        res.diffs = ["cannot read the case file: not UTF-8 text"]  # as `ruleset lint` says
        return
    except (OSError, tomllib.TOMLDecodeError) as exc:
        res.diffs = [f"cannot read the case file: {exc}"]
        return
    problems = check_case(data, registry)
    if problems:
        res.diffs = [f"{p.key}: {p.message}" + (f" (did you mean {p.suggestion!r}?)"
                                                if p.suggestion else "") for p in problems]
        return
    case, expected = data["case"], data["claims"]
    res.description = case.get("description", "")
    edi = path.parent / case["edi"]
    if not edi.is_file():
        res.diffs = [f"case.edi: no such file {edi}"]
        return
    plugin: dict[str, Path] = {}
    for opt in registry.options:
        if opt.case_key and case.get(opt.case_key):
            plugin[opt.name] = path.parent / case[opt.case_key]
            if not plugin[opt.name].is_file():
                res.diffs = [f"case.{opt.case_key}: no such file {plugin[opt.name]}"]
                return
    ruleset = load(str(case_ruleset(path, case.get("ruleset"), registry)), registry)
    res.ruleset = ruleset.name
    only = case.get("only")
    only = [only] if isinstance(only, str) else list(only or [])
    options = RunOptions(ig=bool(case.get("ig", False)), jobs=1, plugin=plugin)
    result = check([edi], ruleset, Selection.build(ruleset), options, inputs=[str(edi)],
                   registry=registry)

    unreadable = result.batch.files.filter(pl.col("status") != "parsed")
    if unreadable.height:
        res.diffs.append(f"case.edi: the file could not be read: {unreadable['error'][0]}")
    claims = result.claim_frame(["claim_key", "claim_id"])
    keep = pl.any_horizontal([pl.col("rule").str.starts_with(p) for p in only]) if only else pl.lit(True)
    found = result.finding_keys(["claim_key", "rule", "severity"]).filter(keep).select(
        "claim_key", "rule", "severity")
    per_claim = (claims.join(found, on="claim_key", how="left", maintain_order="left")
                 .group_by("claim_key", "claim_id", maintain_order=True)
                 .agg(pl.struct("rule", "severity").filter(pl.col("rule").is_not_null())
                      .unique(maintain_order=True).alias("found")))
    res.claims = per_claim.height
    counts = per_claim.group_by("claim_id").len()
    for cid, n in counts.filter(pl.col("len") > 1).iter_rows():
        res.diffs.append(f"claim {cid!r} occurs {n} times in the EDI file; claim IDs in a "
                         "test case must be unique")
    actual: dict[str, dict[str, str]] = {}
    for _key, cid, got in per_claim.iter_rows():
        actual.setdefault(cid, {}).update({f["rule"]: f["severity"] for f in got})
    res.actual = actual
    for cid, got in actual.items():
        if cid not in expected:
            listed = ", ".join(sorted(got)) or "nothing"
            res.diffs.append(f"claim {cid!r} is in the EDI file but not in [claims] (it raised "
                             f"{listed}; add \"{cid}\" = {json.dumps(sorted(got))} if that is right)")
            continue
        res.diffs += _diff(f"claim {cid!r}", expected[cid], got)
    for cid in expected:
        if cid not in actual:
            res.diffs.append(f"claim {cid!r} is in [claims] but not in the EDI file")
    outside = found.filter(pl.col("claim_key").is_null())
    res.diffs += _diff("outside claims (case.file_codes)", case.get("file_codes", []),
                       dict(zip(outside["rule"], outside["severity"], strict=True)))
    res.status = "fail" if res.diffs else "pass"


def _diff(label: str, want: list[str], got: dict[str, str]) -> list[str]:
    """Differences between expected ``CODE[:severity]`` entries and raised code -> severity."""
    wanted = dict(item.partition(":")[::2] for item in want)
    missing = sorted(set(wanted) - set(got))
    unexpected = sorted(set(got) - set(wanted))
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing) + " (expected, not raised)")
    if unexpected:
        parts.append("unexpected " + ", ".join(unexpected) + " (raised, not expected)")
    parts += [f"{code} raised as {got[code]}, expected {sev}"
              for code, sev in sorted(wanted.items()) if sev and code in got and got[code] != sev]
    return [f"{label}: " + "; ".join(parts)] if parts else []


_CLAIM_LINE = re.compile(r'^(\s*"((?:[^"\\]|\\.)*)"\s*=\s*)\[[^\]]*\](.*)$')


def update_case(res: CaseResult) -> bool:
    """Write what the run raised as a failing case's expected codes (``ruleset test
    --update``, after review): each claim's list is replaced in place, keeping comments and
    the ``:severity`` of codes still raised at it; claims new in the EDI file are appended,
    claims gone from it dropped. Cases with errors are left alone. True when written."""
    if res.status != "fail" or not res.actual:
        return False
    lines = res.path.read_text(encoding="utf-8").splitlines()
    data = tomllib.loads("\n".join(lines))
    old = data.get("claims", {})
    out: list[str] = []
    in_claims = False
    for line in lines:
        header = line.strip().startswith("[")
        in_claims = (line.strip() == "[claims]") if header else in_claims
        m = _CLAIM_LINE.match(line) if in_claims and not header else None
        if m is None:
            out.append(line)
            continue
        cid = json.loads(f'"{m.group(2)}"')
        if cid in res.actual:
            out.append(f"{m.group(1)}{_codes(old.get(cid, []), res.actual[cid])}{m.group(3)}")
    out += [f"{json.dumps(cid)} = {_codes([], got)}" for cid, got in res.actual.items()
            if cid not in old]
    atomic_text(res.path, "\n".join(out) + "\n")
    return True


def _codes(before: list[str], got: dict[str, str]) -> str:
    kept = {c.partition(":")[0]: c for c in before}
    return json.dumps([kept[c] if c in kept and kept[c].partition(":")[2] in ("", got[c]) else c
                       for c in sorted(got)])


def atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run(paths: Sequence[str | Path], registry: Registry) -> list[CaseResult]:
    return [run_case(p, registry) for p in collect_cases(paths)]


# -- reports -------------------------------------------------------------------------------

def summary(results: Sequence[CaseResult]) -> str:
    n = len(results)
    by = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
    text = f"{n} case{'s' if n != 1 else ''}: {by['pass']} passed, {by['fail']} failed"
    n_err = by["error"]
    return text + (f", {n_err} error{'s' if n_err != 1 else ''}" if n_err else "")


def text_report(results: Sequence[CaseResult]) -> str:
    out = []
    for r in results:
        head = f"{r.status.upper():<5} {r.path}"
        if r.ruleset:
            head += f"  ({r.ruleset}, {r.claims} claim{'s' if r.claims != 1 else ''})"
        out.append(head)
        out += [f"      {line}" for d in r.diffs for line in d.splitlines()]
    out.append(summary(results))
    return "\n".join(out) + "\n"


def json_report(results: Sequence[CaseResult]) -> str:
    doc = {"summary": summary(results), "cases": [
        {"case": str(r.path), "status": r.status, "ruleset": r.ruleset, "claims": r.claims,
         "differences": r.diffs, "seconds": round(r.elapsed, 3)} for r in results]}
    return json.dumps(doc, indent=2) + "\n"


def junit_report(results: Sequence[CaseResult]) -> str:
    """JUnit XML: one ``testcase`` per case, the differences in its ``failure``."""
    suite = ET.Element("testsuite", {
        "name": "claims-validator ruleset test",
        "tests": str(len(results)),
        "failures": str(sum(r.status == "fail" for r in results)),
        "errors": str(sum(r.status == "error" for r in results)),
        "time": f"{sum(r.elapsed for r in results):.3f}",
    })
    for r in results:
        tc = ET.SubElement(suite, "testcase", {
            "classname": f"ruleset.{r.ruleset or 'unknown'}",
            "name": str(r.path),
            "time": f"{r.elapsed:.3f}",
        })
        if r.status != "pass":
            tag = "failure" if r.status == "fail" else "error"
            n = len(r.diffs)
            el = ET.SubElement(tc, tag, {"message": f"{n} difference{'s' if n != 1 else ''}"
                                         if tag == "failure" else (r.diffs or ["error"])[0]})
            el.text = "\n".join(r.diffs)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

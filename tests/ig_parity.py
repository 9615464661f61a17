#!/usr/bin/env python3
"""Parity of the native implementation-guide engine with pyx12: the harness and a report.

Runs both engines through the real pipeline (``validator.engine.check`` with
``Selection(select=["IG"])`` and ``RunOptions(ig=True, ig_engine=..., jobs=1)``) on three
data sets and compares their findings:

- ``corpus``: every 5010 837P/837I file of ``../shared/corpus`` (MANIFEST.tsv; skipped when
  the corpus is absent);
- ``generated``: ``bench.generate`` files (P and I, two seeds each, one of each type with
  several transaction sets) and the 837P/837I files of ``sample_edi``;
- ``mutants``: :mod:`ig_mutate` mutants of small valid files (generated, sample, a few corpus
  files when present);
- ``regressions``: fixed cases that show the known differences (``regression_texts``).

Findings are compared as multisets of keys ``(file, segment_index, element, ig_code)``.
IK304-3 (required segment/loop missing) is keyed ``(file, ("missing", st, ID), None,
"IK304-3")``, where ``st`` is the segment index of the transaction set's ST and ID the
missing segment or loop named in the message (``... (N4) missing``) or, failing that, in
``expected``: engines may notice a missing segment at different places. Findings without
an ``ig_code`` (IG210, IG211, IG299) use the rule code. A finding on one side only is a
difference; ``tests/ig_known_differences.py`` lists the accepted ones.

Usage::

    python3 tests/ig_parity.py                 # native vs pyx12 on all data sets
    python3 tests/ig_parity.py --self          # pyx12 vs pyx12 (the harness' own check)
    python3 tests/ig_parity.py --per-kind 3 --seed 2 --examples 5 --sets mutants
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
for _p in (str(REPO), str(TESTS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from ig_known_differences import KNOWN_DIFFERENCES, KnownDifference  # noqa: E402
from ig_mutate import KINDS, kind_of, mutants, stacked  # noqa: E402

Key = tuple
SETS = ("corpus", "generated", "mutants", "regressions")
SIDES = ("missed", "extra")
# Generated data set: (type, claims, seed, claims per transaction set).
GENERATED = [("P", 20, 1, 5000), ("P", 12, 2, 5), ("I", 20, 1, 5000), ("I", 12, 2, 5)]
SAMPLE_FILES = ("clean-837p.edi", "clean-837i.edi", "kp-837p-scenarios.edi",
                "kp-837i-scenarios.edi")
# Mutation sources: small generated files, the clean samples, and (when present) corpus
# files chosen for the segments the generator does not write (COB, ambulance, NDC, ...).
MUTATE_GENERATED = [("P", 3, 11), ("P", 2, 12), ("I", 2, 11), ("I", 3, 12)]
MUTATE_SAMPLES = ("clean-837p.edi", "clean-837i.edi")
MUTATE_CORPUS = (
    "irobayna__stupidedi/COB-claim-from-billing-provider-to-payer-b.edi",
    "irobayna__stupidedi/X222A1_HC837_Health_Care_Claim_Professional__pass__ambulance.edi",
    "irobayna__stupidedi/drug-administered-in-the-physician-office.edi",
    "irobayna__stupidedi/X222A1_HC837_Health_Care_Claim_Professional__pass__anesthesia.edi",
    "irobayna__stupidedi/837-institutional-claim.edi",
    "irobayna__stupidedi/X223A2_HC837_Health_Care_Claim_Institutional__pass__ppo-repriced-claim.edi",
    "LinuxForHealth__x12/demo.cob.example3.C.837",
    "LinuxForHealth__x12/two-claims-single-provider.837i",
)
MISSING_PATTERNS = (
    re.compile(r"\(([0-9A-Z]{2,3}|[0-9]{4}[A-Z]{0,2})\)\s*(?:is\s+)?missing", re.I),
    re.compile(r"(?:segment|loop)\s+\"?([0-9A-Z]{2,3}|[0-9]{4}[A-Z]{0,2})\"?\s+(?:is\s+)?missing",
               re.I),
    re.compile(r"missing[^()]*\(([0-9A-Z]{2,3}|[0-9]{4}[A-Z]{0,2})\)", re.I),
)


# ---------------------------------------------------------------- data sets

def corpus_dir() -> Path | None:
    from helpers import CORPUS

    return CORPUS if CORPUS is not None and (CORPUS / "MANIFEST.tsv").is_file() else None


def corpus_files() -> list[Path]:
    """Every 5010 837P/837I file of the shared corpus (MANIFEST.tsv), [] when absent."""
    root = corpus_dir()
    if root is None:
        return []
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [root / r["local_path"] for r in rows
            if r["transaction"] in ("837P", "837I") and (root / r["local_path"]).is_file()]


@dataclass
class Dataset:
    """Files to validate, with a stable label (the file key) and a kind for each."""

    name: str
    paths: list[Path] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # str(path) -> label
    kinds: dict[str, str] = field(default_factory=dict)  # label -> kind
    mutations: dict[str, str] = field(default_factory=dict)  # label -> mutant name / source
    batch: dict[str, int] = field(default_factory=dict)  # str(path) -> batch (default 0)

    def add(self, path: Path, label: str, kind: str, mutation: str = "", batch: int = 0) -> None:
        self.paths.append(path)
        self.batch[str(path)] = batch
        self.labels[str(path)] = label
        self.kinds[label] = kind
        self.mutations[label] = mutation

    def subset(self, step: int) -> Dataset:
        """Every ``step``-th file (same labels)."""
        out = Dataset(f"{self.name}/{step}")
        for path in self.paths[::step]:
            label = self.labels[str(path)]
            out.add(path, label, self.kinds[label], self.mutations[label], self.batch[str(path)])
        return out


def corpus_dataset() -> Dataset:
    ds = Dataset("corpus")
    root = corpus_dir()
    for p in corpus_files():
        ds.add(p, str(p.relative_to(root)), "corpus")
    return ds


def generated_dataset(workdir: Path) -> Dataset:
    from helpers import SAMPLES

    from bench.generate import generate

    ds = Dataset("generated")
    workdir.mkdir(parents=True, exist_ok=True)
    for kind, n, seed, per_st in GENERATED:
        label = f"gen-{kind}{n}-s{seed}-st{per_st}.837"
        path = workdir / label
        path.write_text(generate(kind, n, seed=seed, claims_per_st=per_st), encoding="ascii")
        ds.add(path, label, "generated")
    for name in SAMPLE_FILES:
        if (SAMPLES / name).is_file():
            ds.add(SAMPLES / name, f"sample_edi/{name}", "generated")
    return ds


def _edit(text: str, seg_id: str, change) -> str:
    """``text`` with ``change(elements)`` applied to its first ``seg_id`` segment (a list of
    elements; return None to delete the segment); SE01 recounted."""
    from ig_mutate import X12Text

    doc = X12Text.parse(text)
    i = next(k for k, seg in enumerate(doc.segs) if seg[0] == seg_id)
    new = change(list(doc.segs[i]))
    doc.segs[i:i + 1] = [] if new is None else [new]
    doc.recount()
    return doc.text()


def _set(pos: int, value: str):
    def change(seg: list[str]) -> list[str]:
        seg[pos] = value
        return seg
    return change


def regression_texts() -> list[tuple[str, str, str, int]]:
    """(label, text, what it shows, batch): fixed cases for the known differences. Each
    batch is validated by its own run: the LX case needs ``lx-carry-a`` just before
    ``lx-carry-b`` in one pyx12 run, and a transaction set pyx12 crashes on makes the pyx12
    path validate every set of that run on its own."""
    from bench.generate import generate

    return [
        ("lx-carry-a.edi", generate("P", 1, seed=21),
         "valid; its only claim has 3 service lines (LX*1..3)", 0),
        ("lx-carry-b.edi", _edit(generate("P", 2, seed=22), "CLM", lambda seg: None),
         "first CLM deleted: LX*1, LX*2 come before the set's first CLM", 0),
        ("composite-too-many.edi",
         _edit(generate("P", 1, seed=23), "SV1", _set(1, "HC:99213:25:::::X:X")),
         "SV101 with 9 components (the guide has 8): pyx12 raises IndexError", 1),
        ("rd8-two-dashes.edi",
         _edit(generate("I", 1, seed=23), "DTP", _set(3, "20260101-20260102-20260103")),
         "DTP03 (RD8) with two '-': pyx12 raises ValueError", 1),
    ]


def regression_dataset(workdir: Path) -> Dataset:
    ds = Dataset("regressions")
    workdir.mkdir(parents=True, exist_ok=True)
    for label, text, what, batch in regression_texts():
        (workdir / label).write_text(text, encoding="ascii")
        ds.add(workdir / label, label, "regression", what, batch)
    return ds


def mutation_sources(all_corpus: bool = False) -> list[tuple[str, str]]:
    """(label, text) of the small valid files the mutants are made from (``all_corpus``:
    every 5010 837P/837I corpus file instead of the few of ``MUTATE_CORPUS``)."""
    from helpers import SAMPLES

    from bench.generate import generate

    out = [(f"gen{kind}{n}s{seed}", generate(kind, n, seed=seed))
           for kind, n, seed in MUTATE_GENERATED]
    out += [(name, (SAMPLES / name).read_text(encoding="utf-8")) for name in MUTATE_SAMPLES
            if (SAMPLES / name).is_file()]
    root = corpus_dir()
    if root is not None:
        chosen = ([str(p.relative_to(root)) for p in corpus_files()] if all_corpus
                  else MUTATE_CORPUS)
        out += [(Path(rel).name, (root / rel).read_text(encoding="utf-8", errors="replace"))
                for rel in chosen if (root / rel).is_file()]
    return out


def mutant_dataset(workdir: Path, *, per_kind: int = 2, seed: int = 0,
                   kinds: Sequence[str] = KINDS, all_corpus: bool = False,
                   stack: int = 1) -> Dataset:
    """Write ``per_kind`` mutants of each kind of every source under ``workdir`` (with
    ``stack`` > 1: ``per_kind`` x kinds mutants of ``stack`` edits each, kind "stacked")."""
    ds = Dataset("mutants")
    workdir.mkdir(parents=True, exist_ok=True)
    n = 0
    for src, text in mutation_sources(all_corpus):
        found = (stacked(text, seed=seed, count=per_kind * len(kinds), depth=stack, kinds=kinds)
                 if stack > 1 else mutants(text, seed=seed, per_kind=per_kind, kinds=kinds))
        for name, mutated in found:
            label = f"m{n:04d}-{'stacked' if stack > 1 else kind_of(name)}.edi"
            path = workdir / label
            path.write_text(mutated, encoding="utf-8")
            ds.add(path, label, "stacked" if stack > 1 else kind_of(name), f"{src} {name}")
            n += 1
    return ds


# ---------------------------------------------------------------- running an engine

class EngineFailed(AssertionError):
    pass


def native_available() -> bool:
    """True when the native engine can be imported (``validator.rules.ig.native.run``)."""
    try:
        import validator.rules.ig.native.run  # noqa: F401
    except ImportError:
        return False
    return True


def run_engine(ds: Dataset, engine: str) -> list[dict]:
    """Findings of ``--select IG`` with ``engine`` on the data set, as dicts (one run of the
    pipeline per batch of the data set)."""
    rows: list[dict] = []
    for b in sorted(set(ds.batch.values())):
        rows += _run_batch(ds, [p for p in ds.paths if ds.batch[str(p)] == b], engine)
    return rows


def _run_batch(ds: Dataset, paths: list[Path], engine: str) -> list[dict]:
    from helpers import load_ruleset

    from validator.engine import Selection, check
    from validator.rules.api import RunOptions

    if not paths:
        return []
    result = check(list(paths), load_ruleset(), Selection(select=["IG"]),
                   RunOptions(ig=True, ig_engine=engine, jobs=1))
    if result.failed:
        raise EngineFailed(f"{engine}: rules failed internally: {result.failed}")
    files = dict(zip(result.batch.files["file_id"].to_list(),
                     result.batch.files["path"].to_list(), strict=True))
    # st_key numbers the batch's transaction sets; the ST's segment index names one in its file
    st_at = dict(zip(result.batch.transactions["st_key"].to_list(),
                     result.batch.transactions["st_index"].to_list(), strict=True))
    rows = []
    for f in result.findings.iter_rows(named=True):
        label = ds.labels.get(str(files.get(f["file_id"])), str(files.get(f["file_id"])))
        rows.append({
            "file": label, "path": str(files.get(f["file_id"])),
            "kind": ds.kinds.get(label, "?"), "mutation": ds.mutations.get(label, ""),
            "st": st_at.get(f["st_key"]), "segment_index": f["segment_index"],
            "segment_id": f["segment_id"], "element": f["element"],
            "ig_code": f["ig_code"] or f["rule"], "rule": f["rule"], "message": f["message"],
            "expected": f["expected"], "loop": f["loop"], "found": f["found"], "engine": engine,
        })
    return rows


# ---------------------------------------------------------------- comparing

def missing_what(f: dict) -> str:
    """The ID of the missing segment or loop of an IK304-3 finding."""
    for text in (f.get("message") or "", f.get("expected") or ""):
        for pat in MISSING_PATTERNS:
            m = pat.search(text)
            if m:
                return m.group(1).upper()
    exp = (f.get("expected") or "").strip()
    return exp or (f.get("message") or "")


def key(f: dict) -> Key:
    if f["ig_code"] == "IK304-3":
        return (f["file"], ("missing", f["st"], missing_what(f)), None, "IK304-3")
    return (f["file"], f["segment_index"], f["element"], f["ig_code"])


def covers(entry: KnownDifference, f: dict, side: str) -> bool:
    if entry.ig_code not in ("*", f["ig_code"]) or entry.side not in ("both", side):
        return False
    if callable(entry.match):
        return bool(entry.match(f))
    for fld, pat in entry.match.items():
        value = f.get(fld)
        if not re.search(pat, "" if value is None else str(value)):
            return False
    return True


def explain(f: dict, side: str, known: Sequence[KnownDifference]) -> KnownDifference | None:
    return next((e for e in known if covers(e, f, side)), None)


@dataclass
class Comparison:
    """pyx12 (``ref``) against another engine's findings (``other``)."""

    name: str
    ref: list[dict]
    other: list[dict]
    matched: list[tuple[dict, dict]] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)  # ref only
    extra: list[dict] = field(default_factory=list)  # other only
    known: dict[int, KnownDifference] = field(default_factory=dict)  # id(finding) -> entry

    @property
    def unexplained(self) -> list[tuple[str, dict]]:
        return [(side, f) for side in SIDES for f in getattr(self, side) if id(f) not in self.known]

    @property
    def loop_mismatches(self) -> list[tuple[dict, dict]]:
        return [(a, b) for a, b in self.matched
                if a["ig_code"] != "IK304-3" and a.get("loop") != b.get("loop")]

    def per_code(self) -> dict[str, Counter]:
        out: dict[str, Counter] = defaultdict(Counter)
        for f in self.ref:
            out[f["ig_code"]]["pyx12"] += 1
        for f in self.other:
            out[f["ig_code"]]["other"] += 1
        for a, _ in self.matched:
            out[a["ig_code"]]["matched"] += 1
        for side in SIDES:
            for f in getattr(self, side):
                out[f["ig_code"]][side] += 1
                out[f["ig_code"]][f"{side}_known"] += id(f) in self.known
        return out


def compare(ref: list[dict], other: list[dict], *, name: str = "",
            known: Sequence[KnownDifference] = KNOWN_DIFFERENCES) -> Comparison:
    """Match findings by key (multisets); every unmatched one is checked against ``known``.

    Each finding gets ``pyx12_failed``: pyx12 could not validate its transaction set (it
    reported IG299 there), so any finding of the other engine there is on its own.
    """
    failed = {(f["file"], f["st"]) for f in ref if f["ig_code"] == "IG299"}
    for f in (*ref, *other):
        f["pyx12_failed"] = (f["file"], f["st"]) in failed
    a: dict[Key, list[dict]] = defaultdict(list)
    b: dict[Key, list[dict]] = defaultdict(list)
    for f in ref:
        a[key(f)].append(f)
    for f in other:
        b[key(f)].append(f)
    cmp = Comparison(name, ref, other)
    for k in sorted(set(a) | set(b), key=repr):
        xs, ys = a.get(k, []), b.get(k, [])
        n = min(len(xs), len(ys))
        cmp.matched += list(zip(xs[:n], ys[:n], strict=True))
        cmp.missed += xs[n:]
        cmp.extra += ys[n:]
    for side in SIDES:
        for f in getattr(cmp, side):
            entry = explain(f, side, known)
            if entry is not None:
                cmp.known[id(f)] = entry
    return cmp


def perturb(rows: list[dict]) -> tuple[list[dict], int, int]:
    """A deliberately wrong copy of ``rows`` and the (missed, extra) differences it holds.

    Drops one finding, moves one to the next segment, changes one's code, changes the
    missing ID of one IK304-3, moves another IK304-3 (no difference: IK304-3 is keyed by
    what is missing) and adds a finding nobody reported.
    """
    out = [dict(r) for r in rows]
    missed = extra = 0
    plain = [i for i, r in enumerate(out) if r["ig_code"] != "IK304-3"]
    ik3 = [i for i, r in enumerate(out) if r["ig_code"] == "IK304-3"]
    used: set[int] = set()
    if plain:
        i = plain[len(plain) // 2]
        out[i]["segment_index"] = (out[i]["segment_index"] or 0) + 1
        used.add(i)
        missed, extra = missed + 1, extra + 1
    if len(plain) > 2:
        i = plain[0]
        out[i]["ig_code"] = "IK403-99"
        used.add(i)
        missed, extra = missed + 1, extra + 1
    if ik3:
        i = ik3[0]
        out[i]["message"] = re.sub(r"\(([^()]*)\) missing", "(ZZ9) missing", out[i]["message"])
        used.add(i)
        missed, extra = missed + 1, extra + 1
    if len(ik3) > 1:
        out[ik3[-1]]["segment_index"] = (out[ik3[-1]]["segment_index"] or 0) + 7
        used.add(ik3[-1])
    drop = next((i for i in reversed(plain) if i not in used), None)
    if drop is not None:
        del out[drop]
        missed += 1
    template = rows[0] if rows else {"file": "x", "kind": "?", "mutation": "", "st": 0,
                                      "rule": "IG200", "message": "", "expected": None,
                                      "loop": None, "found": None, "engine": "fake"}
    out.append({**template, "segment_index": 99_999, "segment_id": "ZZZ", "element": "ZZZ01",
                "ig_code": "IK403-7", "message": "invented"})
    extra += 1
    return out, missed, extra


# ---------------------------------------------------------------- reporting

def table(comparisons: Sequence[Comparison], other_name: str = "native") -> str:
    """Per ig_code: pyx12 findings, matched, missed (pyx12 only), native-only, known."""
    total: dict[str, Counter] = defaultdict(Counter)
    for c in comparisons:
        for code, cnt in c.per_code().items():
            total[code].update(cnt)
    head = (f"{'ig_code':<10} {'pyx12':>6} {other_name:>7} {'matched':>7} {'missed':>7} "
            f"{other_name + '-only':>12} {'known':>6} {'unexpl.':>7}")
    lines = [head, "-" * len(head)]
    grand: Counter = Counter()
    for code in sorted(total):
        t = total[code]
        grand.update(t)
        lines.append(_row(code, t))
    lines.append("-" * len(head))
    lines.append(_row("total", grand))
    if grand["pyx12"]:
        lines.append(f"parity: {grand['matched']}/{grand['pyx12']} pyx12 findings matched "
                     f"({100 * grand['matched'] / grand['pyx12']:.1f}%), "
                     f"{grand['extra']} {other_name}-only, "
                     f"{grand['missed_known'] + grand['extra_known']} known differences, "
                     f"{grand['missed'] + grand['extra'] - grand['missed_known'] - grand['extra_known']}"
                     " unexplained")
    return "\n".join(lines)


def _row(code: str, t: Counter) -> str:
    known = t["missed_known"] + t["extra_known"]
    unexpl = t["missed"] + t["extra"] - known
    return (f"{code:<10} {t['pyx12']:>6} {t['other']:>7} {t['matched']:>7} {t['missed']:>7} "
            f"{t['extra']:>12} {known:>6} {unexpl:>7}")


def show(f: dict) -> str:
    where = f"{f['file']}" + (f" [{f['mutation']}]" if f.get("mutation") else "")
    return (f"{where} seg {f['segment_index']} {f['segment_id']} {f['element'] or '-'} "
            f"loop {f['loop']}: {f['message']}")


def examples(comparisons: Sequence[Comparison], per_code: int = 3) -> str:
    """Unexplained differences grouped by (side, ig_code), a few examples each."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in comparisons:
        for side, f in c.unexplained:
            groups[(side, f["ig_code"])].append(f)
    if not groups:
        return "no unexplained differences"
    label = {"missed": "pyx12 only (missed)", "extra": "native only"}
    out = []
    for (side, code), fs in sorted(groups.items()):
        out.append(f"{code} {label[side]}: {len(fs)}")
        out += [f"    {show(f)}" for f in fs[:per_code]]
    return "\n".join(out)


def loop_report(comparisons: Sequence[Comparison], per: int = 5) -> str:
    pairs = [p for c in comparisons for p in c.loop_mismatches]
    n = sum(len(c.matched) for c in comparisons)
    out = [f"loop of matched findings differs: {len(pairs)} of {n}"]
    out += [f"    {show(a)} -- other loop {b['loop']}" for a, b in pairs[:per]]
    return "\n".join(out)


def kind_table(ds: Dataset, ref: list[dict], other: list[dict]) -> str:
    """Per mutation kind: files, files with the same findings, matched / pyx12, missed,
    other-only, unexplained."""
    lines = [f"{'kind':<14} {'files':>5} {'same':>5} {'matched':>8}/{'pyx12':<5} {'missed':>6} "
             f"{'extra':>6} {'unexpl.':>7}"]
    for kind in dict.fromkeys([*KINDS, *ds.kinds.values()]):
        files = [label for label, k in ds.kinds.items() if k == kind]
        if not files:
            continue
        sub = compare([f for f in ref if f["kind"] == kind], [f for f in other if f["kind"] == kind])
        differ = {f["file"] for f in (*sub.missed, *sub.extra)}
        lines.append(f"{kind:<14} {len(files):>5} {len(files) - len(differ):>5} "
                     f"{len(sub.matched):>8}/{len(sub.ref):<5} {len(sub.missed):>6} "
                     f"{len(sub.extra):>6} {len(sub.unexplained):>7}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="native", help="engine compared with pyx12")
    ap.add_argument("--self", dest="self_check", action="store_true",
                    help="compare pyx12 with pyx12 (checks the harness)")
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--per-kind", type=int, default=2, help="mutants per kind and source")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stack", type=int, default=1,
                    help="edits per mutant (> 1: random kinds, stacked; default 1)")
    ap.add_argument("--all-corpus", action="store_true",
                    help="mutate every 5010 837P/837I corpus file (default: a few)")
    ap.add_argument("--examples", type=int, default=3, help="examples per difference group")
    args = ap.parse_args(argv)
    other = "pyx12" if args.self_check else args.engine
    if other == "native" and not native_available():
        print("the native engine (validator.rules.ig.native.run) cannot be imported", file=sys.stderr)
        return 2
    comparisons = []
    with tempfile.TemporaryDirectory(prefix="ig-parity-") as tmp:
        build = {"corpus": lambda: corpus_dataset(),
                 "generated": lambda: generated_dataset(Path(tmp) / "generated"),
                 "regressions": lambda: regression_dataset(Path(tmp) / "regressions"),
                 "mutants": lambda: mutant_dataset(Path(tmp) / "mutants", per_kind=args.per_kind,
                                                   seed=args.seed, all_corpus=args.all_corpus,
                                                   stack=args.stack)}
        for name in args.sets:
            ds = build[name]()
            if not ds.paths:
                print(f"[{name}] no files (shared corpus absent?)")
                continue
            t0 = time.perf_counter()
            ref = run_engine(ds, "pyx12")
            t1 = time.perf_counter()
            oth = run_engine(ds, other)
            t2 = time.perf_counter()
            c = compare(ref, oth, name=name)
            comparisons.append(c)
            print(f"[{name}] {len(ds.paths)} files: pyx12 {t1 - t0:.1f}s, {other} {t2 - t1:.1f}s")
            print(table([c], other))
            print()
            if name == "mutants":
                print(kind_table(ds, ref, oth))
                print()
    if len(comparisons) > 1:
        print("[all]")
        print(table(comparisons, other))
        print()
    print(examples(comparisons, args.examples))
    print()
    print(loop_report(comparisons))
    return 1 if any(c.unexplained for c in comparisons) else 0


if __name__ == "__main__":
    sys.exit(main())

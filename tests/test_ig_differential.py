"""Differential tests: the native implementation-guide engine against pyx12 (the oracle).

Both engines run through the real pipeline on the same files (``tests/ig_parity.py``): every
5010 837P/837I file of the shared corpus, generated files, seeded mutants
(``tests/ig_mutate.py``) and a few fixed cases that show the known differences. Their
findings must agree as multisets of ``(file, segment_index, element, ig_code)`` (IK304-3:
by transaction set and what is missing); a finding on one side only must be listed in
``tests/ig_known_differences.py``.

The native comparisons skip while ``validator.rules.ig.native.run`` cannot be imported; the
harness' own tests (fuzzer, pyx12 against itself, a perturbed copy) always run.
``IG_FUZZ_PER_KIND`` / ``IG_FUZZ_SEED`` change the mutants (default 2 per kind and source,
seed 0); ``python3 tests/ig_parity.py`` prints the parity table.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import ig_parity as P
import pytest
from ig_known_differences import KNOWN_DIFFERENCES, KnownDifference, markdown
from ig_mutate import ENVELOPE, KINDS, STRUCTURAL, X12Text, mutants, split_ids

from bench.generate import generate

PER_KIND = int(os.environ.get("IG_FUZZ_PER_KIND", "2"))
SEED = int(os.environ.get("IG_FUZZ_SEED", "0"))
NATIVE = P.native_available()
needs_native = pytest.mark.skipif(
    not NATIVE, reason="native IG engine (validator.rules.ig.native.run) not importable yet")
# A code each value mutation should make pyx12 raise at least once over the mutants.
EXPECTED_CODES = {
    "lengthen": "IK403-5", "letters": "IK403-6", "bad_date": "IK403-8",
    "extra_element": "IK304-8", "qualifier": "IK304-1", "blank": "IK403-1",
    "delete": "IK304-3", "duplicate": "IK304-5", "move": "IK304-1", "swap": "IK304-1",
}


# ---------------------------------------------------------------- fixtures (module-wide)

@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, P.Dataset]:
    root = tmp_path_factory.mktemp("ig-diff")
    return {"corpus": P.corpus_dataset(),
            "generated": P.generated_dataset(root / "generated"),
            "mutants": P.mutant_dataset(root / "mutants", per_kind=PER_KIND, seed=SEED),
            "regressions": P.regression_dataset(root / "regressions")}


class _Runs:
    """Each engine runs at most once per data set."""

    def __init__(self, datasets: dict[str, P.Dataset]):
        self.datasets, self.cache = datasets, {}

    def __call__(self, name: str, engine: str) -> list[dict]:
        if (name, engine) not in self.cache:
            self.cache[(name, engine)] = P.run_engine(self.datasets[name], engine)
        return self.cache[(name, engine)]

    def compare(self, name: str) -> P.Comparison:
        return P.compare(self(name, "pyx12"), self(name, "native"), name=name)


@pytest.fixture(scope="module")
def runs(datasets) -> _Runs:
    return _Runs(datasets)


def _fail_report(cmp: P.Comparison) -> str:
    return (f"{len(cmp.unexplained)} differences not in tests/ig_known_differences.py\n"
            + P.table([cmp]) + "\n" + P.examples([cmp], per_code=4))


def _assert_parity(cmp: P.Comparison) -> None:
    if cmp.unexplained:
        pytest.fail(_fail_report(cmp), pytrace=False)


# ---------------------------------------------------------------- the fuzzer

def _texts() -> list[str]:
    return [generate("P", 3, seed=11), generate("I", 2, seed=11)]


def test_mutants_are_deterministic():
    for text in _texts():
        a = list(mutants(text, seed=5, per_kind=3))
        assert a == list(mutants(text, seed=5, per_kind=3))
        assert a != list(mutants(text, seed=6, per_kind=3))
        assert len({m for _, m in a}) == len(a) and text not in {m for _, m in a}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_yields_mutants(kind):
    for text in _texts():
        got = list(mutants(text, seed=SEED, per_kind=3, kinds=[kind]))
        assert len(got) == 3 and all(n.startswith(f"{kind}:") for n, _ in got)


def test_parse_round_trip_and_line_styles():
    text = generate("P", 2, seed=1)
    assert X12Text.parse(text).text() == text
    one_line = text.replace("~\n", "~")
    assert X12Text.parse(one_line).text() == one_line
    # newline as the segment terminator, '>' components, text before the ISA
    nl = "junk before\n" + text.replace("~\n", "\n").replace("*:~", "*>\n").replace("*:\n", "*>\n")
    doc = X12Text.parse(nl)
    assert (doc.term, doc.comp, doc.prefix) == ("\n", ">", "junk before\n")
    assert doc.text() == nl


def _envelope(text: str) -> list[list[str]]:
    return [s for s in X12Text.parse(text).segs if s[0] in ENVELOPE]


@pytest.mark.parametrize("kind", KINDS)
def test_mutants_keep_the_envelope_and_recount_se01(kind):
    for text in _texts():
        before = _envelope(text)
        for name, m in mutants(text, seed=SEED, per_kind=4, kinds=[kind]):
            doc = X12Text.parse(m)
            after = [s for s in doc.segs if s[0] in ENVELOPE]
            # same envelope segments, in order; only SE01 may differ
            assert [s[0] for s in after] == [s[0] for s in before], name
            assert [s for s in after if s[0] != "SE"] == [s for s in before if s[0] != "SE"]
            start = None
            for i, s in enumerate(doc.segs):
                if s[0] == "ST":
                    start = i
                elif s[0] == "SE":
                    assert int(s[1]) == i - start + 1, name


@pytest.mark.parametrize("kind", KINDS)
def test_one_edit_per_mutant(kind):
    text = generate("P", 3, seed=11)
    base = [s for s in X12Text.parse(text).segs if s[0] != "SE"]
    for name, m in mutants(text, seed=SEED, per_kind=4, kinds=[kind]):
        segs = [s for s in X12Text.parse(m).segs if s[0] != "SE"]
        if kind == "delete":
            assert len(segs) == len(base) - 1
        elif kind == "duplicate":
            assert len(segs) == len(base) + 1
        elif kind in ("swap", "move"):
            assert sorted(map(tuple, segs)) == sorted(map(tuple, base)) and segs != base
        else:  # value mutations: one segment differs, in place
            assert len(segs) == len(base), name
            assert sum(a != b for a, b in zip(segs, base, strict=True)) == 1, name
    assert set(STRUCTURAL) <= set(KINDS)


def test_value_mutations_hit_their_targets():
    text = generate("P", 3, seed=11)
    for name, m in mutants(text, seed=SEED, per_kind=5, kinds=["bad_date", "letters"]):
        ids = split_ids(m)
        assert ids == split_ids(text), name
        if name.startswith("bad_date:"):
            assert re.search(r"(DTP03|DMG02|BHT04)@", name), name
            assert any(d in m for d in ("20261345", "2026-01-01", "20260230")), name
        else:
            assert re.search(r"[A-Z]", name.rsplit("->", 1)[1]), name


def test_pyx12_reports_what_the_mutations_break(runs, datasets):
    """The mutants are meaningful: most get pyx12 findings, and each kind raises the code
    it is meant to provoke somewhere."""
    rows = runs("mutants", "pyx12")
    ds = datasets["mutants"]
    with_findings = {f["file"] for f in rows}
    for kind in KINDS:
        files = [label for label, k in ds.kinds.items() if k == kind]
        assert files, kind
        hit = sum(label in with_findings for label in files)
        assert hit >= len(files) // 2, (kind, hit, len(files))
        codes = Counter(f["ig_code"] for f in rows if f["kind"] == kind)
        if kind in EXPECTED_CODES:
            assert codes[EXPECTED_CODES[kind]], (kind, codes)


# ---------------------------------------------------------------- the harness itself

def test_missing_what_reads_the_missing_id():
    f = {"message": 'loop 2010AA: Mandatory segment "Billing Provider City, State, ZIP Code" '
                    "(N4) missing", "expected": None}
    assert P.missing_what(f) == "N4"
    assert P.missing_what({"message": 'Mandatory loop "Subscriber Name" (2010BA) missing',
                           "expected": None}) == "2010BA"
    assert P.missing_what({"message": "required segment N4 is missing", "expected": None}) == "N4"
    assert P.missing_what({"message": "something else", "expected": "2300"}) == "2300"


def test_ik304_3_is_keyed_by_what_is_missing_not_where():
    base = {"file": "f", "st": 2, "segment_id": "REF", "element": None, "ig_code": "IK304-3",
            "rule": "IG200", "loop": "2010AA", "found": None, "expected": None}
    a = {**base, "segment_index": 12, "message": 'Mandatory segment "X" (N4) missing'}
    b = {**base, "segment_index": 11, "message": "segment N4 missing"}
    c = {**base, "segment_index": 12, "message": 'Mandatory segment "X" (N3) missing'}
    assert P.key(a) == P.key(b) != P.key(c)
    cmp = P.compare([a, dict(a)], [b], known=[])
    assert (len(cmp.matched), len(cmp.missed), len(cmp.extra)) == (1, 1, 0)


def test_pyx12_against_itself_gives_no_difference(runs, datasets):
    """A second pyx12 run (all corpus and generated files, every other mutant) matches the
    first exactly: keys, multiplicities and loops."""
    for name, ds in datasets.items():
        part = ds.subset(2 if name == "mutants" else 1)
        if not part.paths:
            continue
        labels = set(part.kinds)
        first = [f for f in runs(name, "pyx12") if f["file"] in labels]
        again = P.run_engine(part, "pyx12")
        cmp = P.compare(first, again, name=name, known=[])
        assert not cmp.missed and not cmp.extra and not cmp.loop_mismatches, _fail_report(cmp)
        assert len(cmp.matched) == len(again)
        assert again or name == "generated"  # the generated files are valid


def test_perturbed_findings_are_detected(runs):
    ref = runs("mutants", "pyx12")
    assert sum(f["ig_code"] == "IK304-3" for f in ref) >= 2
    bad, missed, extra = P.perturb(ref)
    cmp = P.compare(ref, bad, known=[])
    assert (len(cmp.missed), len(cmp.extra)) == (missed, extra) == (4, 4)
    assert len(cmp.unexplained) == missed + extra
    # a known-difference entry takes exactly the findings it covers
    entry = KnownDifference("IK403-7", "extra", "test", {"message": "^invented$"})
    cmp = P.compare(ref, bad, known=[entry])
    assert len(cmp.unexplained) == missed + extra - 1
    assert [f["message"] for f in cmp.extra if id(f) in cmp.known] == ["invented"]


def test_known_differences_table_is_well_formed():
    for e in KNOWN_DIFFERENCES:
        assert re.fullmatch(r"\*|IK\d{3}-\w+|IG\d{3}|TA105-\w+|AK905-\w+|IK502-\w+", e.ig_code), e
        assert e.side in ("missed", "extra", "both") and e.reason.strip(), e
        if not callable(e.match):
            for pattern in e.match.values():
                re.compile(pattern)
    assert markdown().startswith("| IK code |")


# ---------------------------------------------------------------- native against pyx12

@needs_native
@pytest.mark.corpus
def test_corpus_parity(runs, datasets):
    if not datasets["corpus"].paths:
        pytest.skip("shared corpus not available")
    cmp = runs.compare("corpus")
    _assert_parity(cmp)


def test_regressions_show_the_pyx12_behaviour_the_known_differences_describe(runs):
    rows = runs("regressions", "pyx12")
    crashes = sorted(f["file"] for f in rows if f["ig_code"] == "IG299")
    assert crashes == ["composite-too-many.edi", "rd8-two-dashes.edi"], rows
    lx = [f["message"] for f in rows if f["ig_code"] == "IK304-LX"]
    assert [m.split(": ", 1)[-1] for m in lx] == [
        "Your 2400/LX01 Service Line Number 1 does not match my count of 4",
        "Your 2400/LX01 Service Line Number 2 does not match my count of 5"]
    assert all(f["file"] == "lx-carry-b.edi" for f in rows if f["ig_code"] == "IK304-LX")
    assert not [f for f in rows if f["file"] == "lx-carry-a.edi"]


@needs_native
def test_regression_parity(runs):
    cmp = runs.compare("regressions")
    _assert_parity(cmp)


@needs_native
def test_generated_parity(runs):
    cmp = runs.compare("generated")
    _assert_parity(cmp)


@needs_native
@pytest.mark.parametrize("kind", KINDS)
def test_mutant_parity(runs, kind):
    cmp = P.compare([f for f in runs("mutants", "pyx12") if f["kind"] == kind],
                    [f for f in runs("mutants", "native") if f["kind"] == kind], name=kind)
    _assert_parity(cmp)


@needs_native
def test_matched_findings_name_the_same_loop(runs, datasets):
    bad = [p for name, ds in datasets.items() if ds.paths
           for p in runs.compare(name).loop_mismatches]
    if bad:
        pytest.fail(P.loop_report([runs.compare(name) for name, ds in datasets.items()
                                   if ds.paths]), pytrace=False)


@needs_native
def test_parity_report(runs, datasets):
    """Prints the parity figures (``pytest -s`` or ``-rA`` shows them)."""
    comparisons = [runs.compare(name) for name, ds in datasets.items() if ds.paths]
    for c in comparisons:
        print(f"\n[{c.name}]\n{P.table([c])}")
    by_kind = P.kind_table(datasets["mutants"], runs("mutants", "pyx12"), runs("mutants", "native"))
    print(f"\n[mutants by kind]\n{by_kind}")
    print(f"\n[all]\n{P.table(comparisons)}")
    assert comparisons


@needs_native
def test_every_known_difference_still_occurs(runs, datasets):
    """An entry no finding needs any more is stale: remove it (the README table follows)."""
    if not datasets["corpus"].paths or (PER_KIND, SEED) != (2, 0):
        pytest.skip("only meaningful on the default data sets with the shared corpus")
    used = {id(e) for name, ds in datasets.items() if ds.paths
            for e in runs.compare(name).known.values()}
    stale = [e for e in KNOWN_DIFFERENCES if id(e) not in used]
    assert not stale, stale


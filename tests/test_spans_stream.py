"""The streaming locator (validator.x12.spans_stream) gives, for the segments asked, exactly
what ``locate`` gives: offsets, lines, bytes, interchanges, segment count, on every layout,
corpus file and fuzzed file, whatever the block size (blocks as small as a few bytes cut
segments, CRLF pairs and ISAs at every place)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest
from edi_builder import build, edi, interchange, transaction
from test_spans import LAYOUTS, _mutated

from validator.x12 import spans_stream
from validator.x12.load import LoadError
from validator.x12.spans import locate
from validator.x12.spans_stream import locate_wanted, locate_wanted_parts

ROOT = Path(__file__).resolve().parents[1]


def _same(path: Path, wanted: np.ndarray, before: int = 6, head: int = 16) -> None:
    try:
        spans = locate(path)
    except LoadError as exc:
        with pytest.raises(LoadError) as got:
            locate_wanted(path, wanted, before=before, head=head)
        assert (got.value.code, got.value.message) == (exc.code, exc.message)
        return
    got = locate_wanted(path, wanted, before=before, head=head)
    assert got.count == len(spans) and got.multiline == spans.multiline
    assert [(x.first, x.start, x.delimiters) for x in got.interchanges] == \
        [(x.first, x.start, x.delimiters) for x in spans.interchanges]
    asked = np.unique(wanted[wanted >= 1])
    w = asked[asked <= len(spans)]
    back = (asked[:, None] - np.arange(1, before + 1)[None, :]).ravel()
    expect = np.union1d(w, back[(back >= 1) & (back <= len(spans))])
    assert got.index.tolist() == expect.tolist()
    assert got.rows(w).tolist() == np.searchsorted(expect, w).tolist()
    assert got.starts.tolist() == spans.starts[expect - 1].tolist()
    assert got.ends.tolist() == spans.ends[expect - 1].tolist()
    if spans.multiline:
        assert got.lines[got.rows(w)].tolist() == spans.lines(w).tolist()
    full = set(w.tolist())
    for k, i in enumerate(expect.tolist()):
        kept = got.data[got.at[k] : got.at[k] + got.size[k]]
        assert kept == (spans.raw(i) if i in full else spans.raw(i)[:head]), (path, i)


@pytest.fixture(params=[8, 200, 1 << 20], ids=["block8", "block200", "block1M"])
def block(request, monkeypatch) -> int:
    """Small blocks (and a small tail) move the block boundaries over every kind of byte."""
    monkeypatch.setattr(spans_stream, "BLOCK", request.param)
    monkeypatch.setattr(spans_stream, "_TAIL", min(request.param * 4, 4096) + 1000)
    return request.param


def _size(path: Path) -> int:
    try:
        return len(locate(path))
    except LoadError:
        return 3


def _wanted(n: int, seed: int) -> list[np.ndarray]:
    rng = random.Random(seed)
    return [np.arange(1, n + 3), np.array(sorted(rng.sample(range(1, n + 5), min(n, 7)))),
            np.array([n]), np.array([], dtype=np.int64)]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts(tmp_path: Path, layout: str, block: int) -> None:
    path = tmp_path / "c.edi"
    path.write_bytes(LAYOUTS[layout](build("P") + build("I")).encode())
    n = len(locate(path))
    for wanted in _wanted(n, 1):
        _same(path, wanted)


@pytest.mark.parametrize("seed", range(40))
def test_mutated(tmp_path: Path, seed: int, block: int) -> None:
    path = tmp_path / "m.edi"
    path.write_bytes(_mutated(seed))
    for wanted in _wanted(_size(path), seed):
        _same(path, wanted, before=seed % 7, head=4 + seed % 20)


def test_interchanges_with_other_delimiters_and_gzip(tmp_path: Path, block: int) -> None:
    second = edi(interchange(transaction("0002"), isa13="000000002"), term="!", elem="|", comp="^")
    third = edi(interchange(transaction("0003"), isa13="000000003"), term="\n", elem="*")
    for name, text in [("a", build("P") + second + build("I")),
                       ("b", build("P").replace("~\n", "\n") + second + third),
                       ("c", (build("P") + second).replace("\n", "\r\n") + third),
                       ("d", second + third + build("P"))]:
        path = tmp_path / f"{name}.edi"
        path.write_text(text)
        gz = tmp_path / f"{name}.edi.gz"
        gz.write_bytes(gzip.compress(text.encode()) + gzip.compress(b"") + b"\0\0")
        n = len(locate(path))
        assert len(locate(path).interchanges) >= 2
        for p in (path, gz):
            for wanted in _wanted(n, 2):
                _same(p, wanted)


def test_not_x12_and_missing(tmp_path: Path, block: int) -> None:
    for name, data in [("empty", b""), ("text", b"hello " * 5000), ("isa-cut", b"ISA*00*"),
                       ("late-isa", b"x" * 30000 + build("P").encode()),
                       ("word-isa", b"x" * 7 + b"LISA*" * 3000 + build("P").encode()),
                       ("crlf-junk", b"\r\n" * 9000 + build("P").encode())]:
        path = tmp_path / name
        path.write_bytes(data)
        _same(path, np.array([1, 2]))
    with pytest.raises(LoadError):
        locate_wanted(tmp_path / "gone.edi", np.array([1]))


def test_samples(block: int) -> None:
    for path in sorted((ROOT / "sample_edi").rglob("*")):
        if path.is_file():
            for wanted in _wanted(_size(path), 3)[:2]:
                _same(path, wanted)


@pytest.mark.corpus
def test_corpus(corpus: Path, block: int) -> None:
    checked = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        for wanted in _wanted(_size(path), 4):
            _same(path, wanted)
        checked += 1
    assert checked >= 100


def _traced_peak(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_follows_the_block_not_the_file(tmp_path: Path, monkeypatch) -> None:
    """Traced allocations (bytes, numpy) of a pass with 256 KB blocks stay the same for a
    file three times as large, and far below the file, which ``locate`` holds several times
    over."""
    from bench.generate import generate

    text = generate("P", 6000, seed=5, claims_per_st=500)
    small, large = tmp_path / "small.837", tmp_path / "large.837"
    small.write_text(text)
    large.write_text(text * 3)  # three interchanges
    monkeypatch.setattr(spans_stream, "BLOCK", 256 << 10)
    peaks = []
    for path in (small, large):
        n = len(locate(path))
        wanted = np.arange(1, n + 1, 997)
        got: list[spans_stream.WantedSpans] = []
        peaks.append(_traced_peak(lambda p=path, w=wanted, g=got: g.append(locate_wanted(p, w, 6))))
        assert got[0].count == n
    size = large.stat().st_size
    assert peaks[1] < 1.3 * peaks[0] and peaks[1] < size / 3, (peaks, size)
    assert _traced_peak(lambda: locate(large).lines(np.arange(1, 10))) > size


def _same_in_parts(path: Path, wanted: np.ndarray, before: int, rows: int) -> None:
    """locate_wanted_parts gives, part by part, what locate_wanted gives at once: each
    wanted segment once (in the part that passed it), with its look-back segments."""
    try:
        whole = locate_wanted(path, wanted, before=before)
    except LoadError:
        with pytest.raises(LoadError):
            list(locate_wanted_parts(path, wanted, before=before, rows=rows))
        return
    w = np.unique(wanted[(wanted >= 1) & (wanted <= whole.count)])
    done, seen, last = 0, [], None
    for part in locate_wanted_parts(path, wanted, before=before, rows=rows):
        mine = w[(w > done) & (w <= part.count)]
        for i in mine.tolist():  # the segment and its look-back, as in the whole
            for j in range(max(i - before, 1), i + 1):
                k, r = part.rows(np.array([j]))[0], whole.rows(np.array([j]))[0]
                assert part.index[k] == j
                assert (part.starts[k], part.ends[k]) == (whole.starts[r], whole.ends[r])
                assert part.data[part.at[k]: part.at[k] + part.size[k]] == \
                    whole.data[whole.at[r]: whole.at[r] + whole.size[r]]
            r, k = whole.rows(np.array([i]))[0], part.rows(np.array([i]))[0]
            lines = part.lines if part.lf_seen or not part.multiline else part.lines_cr
            seen.append((i, int(lines[k]) if whole.multiline else None))
        done, last = part.count, part
    assert last is not None and last.count == whole.count
    assert last.multiline == whole.multiline
    expect = [(i, int(whole.lines[whole.rows(np.array([i]))[0]]) if whole.multiline else None)
              for i in w.tolist()]
    assert seen == expect


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_parts_layouts(tmp_path: Path, layout: str, block: int) -> None:
    path = tmp_path / "c.edi"
    path.write_bytes(LAYOUTS[layout](build("P") + build("I") + build("P")).encode())
    n = len(locate(path))
    for wanted in _wanted(n, 5):
        for rows in (1, 5, 1000):
            _same_in_parts(path, wanted, 6, rows)


@pytest.mark.parametrize("seed", range(12))
def test_parts_mutated(tmp_path: Path, seed: int, block: int) -> None:
    path = tmp_path / "m.edi"
    path.write_bytes(_mutated(seed))
    for wanted in _wanted(_size(path), seed):
        _same_in_parts(path, wanted, seed % 7, 1 + seed % 4)

"""Segment locations in the file as written (validator.x12.spans): segment ``i`` of
``locate`` is ``seg_index`` ``i`` of the segments table, whatever the layout of the file."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from edi_builder import build, edi, interchange, transaction

from validator.engine.read import read_segments
from validator.x12.load import LoadError
from validator.x12.spans import locate


def _agrees(path: Path) -> None:
    segs = read_segments([path]).segments.sort("seg_index")["raw"].to_list()
    spans = locate(path)
    assert len(spans) == len(segs)
    assert [spans.canonical(i) for i in range(1, len(segs) + 1)] == segs


LAYOUTS = {
    "tilde-newline": lambda t: t,
    "one-line": lambda t: t.replace("~\n", "~"),
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "newline-terminated": lambda t: t.replace("~\n", "\n"),
    "newline-terminated-crlf": lambda t: t.replace("~\n", "\r\n"),
    "indented-and-blank-lines": lambda t: t.replace("~\n", "~\n\n  "),
    "junk-before-isa": lambda t: "garbage header\n" + t,
    "bom": lambda t: "\ufeff" + t,
    "wrapped-at-80": lambda t: "\n".join(t.replace("~\n", "~")[i:i + 80]
                                         for i in range(0, len(t.replace("~\n", "~")), 80)),
    "doubled-terminators": lambda t: t.replace("~\n", "~~\n"),
}


# Blank runs and stray terminators dropped anywhere (inside segments too), in every base
# layout, sometimes twice over (two interchanges), and long runs of blanks past the
# vectorised steps of the cutter.
_NOISE = [b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x00", b"~", b"~~", b"\n\n  ", b"  \r\n\t"]


def _mutated(seed: int) -> bytes:
    rng = random.Random(seed)
    text = LAYOUTS[sorted(LAYOUTS)[seed % len(LAYOUTS)]](build(rng.choice("PI"))).encode()
    data = bytearray(text)
    for _ in range(rng.randint(1, 25)):
        at = rng.randrange(120, len(data) + 1)  # the ISA stays readable
        data[at:at] = rng.choice(_NOISE) * rng.choice([1, 1, 2, 40])
    return bytes(data + data) if seed % 4 == 0 else bytes(data)


@pytest.mark.parametrize("seed", range(40))
def test_locate_matches_the_segments_table_on_mutated_layouts(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "m.edi"
    path.write_bytes(_mutated(seed))
    _agrees(path)
    spans = locate(path)  # lines: newlines before each segment's start
    nl = b"\n" if b"\n" in spans.data else b"\r"
    assert spans.line == [spans.data.count(nl, 0, s) + 1 for s in spans.start]
    assert spans.lines([len(spans)]).tolist() == spans.line[-1:]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_locate_matches_the_segments_table(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "c.edi"
    path.write_bytes(LAYOUTS[layout](build("P")).encode())
    _agrees(path)


def test_lines_offsets_and_text(tmp_path: Path) -> None:
    text = build("P")
    path = tmp_path / "c.edi"
    path.write_text(text)
    spans = locate(path)
    clm = next(i for i in range(1, len(spans) + 1) if spans.text(i).startswith("CLM*"))
    line, offset = spans.location(clm)
    assert text.splitlines()[line - 1] == spans.text(clm) + "~"
    assert text.encode()[offset:].startswith(b"CLM*")
    assert spans.terminator_suffix == b"\n"
    one = tmp_path / "one.edi"
    one.write_text(text.replace("~\n", "~"))
    flat = locate(one)
    assert flat.location(clm)[0] is None and not flat.multiline
    assert one.read_bytes()[flat.location(clm)[1]:].startswith(b"CLM*")
    assert flat.terminator_suffix == b""


def test_interchanges_keep_their_own_delimiters(tmp_path: Path) -> None:
    first = build("P")
    second = edi(interchange(transaction("0002"), isa13="000000002"), term="!", elem="|", comp="^")
    path = tmp_path / "two.edi"
    path.write_text(first + second)
    _agrees(path)
    spans = locate(path)
    assert len(spans.interchanges) == 2
    last = len(spans)
    assert spans.delimiters(last).element == "|" and spans.text(last).startswith("IEA|")
    assert spans.delimiters(1).element == "*"
    for i in (1, 5, last - 2, last):  # canonical text written back in the file's delimiters
        assert spans.encode(i, spans.canonical(i)) == spans.raw(i)


def test_gzip_and_not_x12(tmp_path: Path) -> None:
    gz = tmp_path / "c.edi.gz"
    gz.write_bytes(gzip.compress(build("P").encode()))
    _agrees(gz)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(LoadError):
        locate(bad)


@pytest.mark.corpus
def test_corpus_files_agree(corpus: Path) -> None:
    checked = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            spans = locate(path)
        except LoadError:
            continue
        segs = read_segments([path]).segments.sort("seg_index")["raw"].to_list()
        assert [spans.canonical(i) for i in range(1, len(spans) + 1)] == segs, path
        checked += 1
    assert checked >= 90

"""Reader: delimiters from the ISA, line endings, encodings, several envelopes per file."""

from __future__ import annotations

import gzip

import pytest
from edi_builder import edi, interchange, isa, transaction
from helpers import check_files, codes, write_edi

from validator.x12.load import COMP, ELEM, REP, SEG, LoadError, load


def _claims(result) -> list[tuple[str, str]]:
    return list(zip(result.batch.claims["claim_id"], result.batch.claims["total_charge"],
                    strict=True))


def test_delimiters_come_from_the_isa(tmp_path):
    text = edi(interchange())
    loaded = load(write_edi(tmp_path, text), "x")
    d = loaded.delimiters
    assert (d.element, d.component, d.repetition, d.segment) == ("*", ":", "^", "~")
    assert loaded.data.decode().startswith("ISA" + ELEM + "00" + ELEM)
    assert "\n" not in loaded.data.decode() and "~" not in loaded.data.decode()
    assert loaded.data.decode().count(SEG) == len(interchange())
    assert "HC" + COMP + "99213" in loaded.data.decode()


@pytest.mark.parametrize("after", ["", "\n", "\r\n", "\r", "\r\n\r\n"])
def test_line_breaks_after_terminators(tmp_path, after):
    result = check_files(write_edi(tmp_path, edi(interchange(), after=after)))
    assert codes(result) == []
    assert _claims(result) == [("C1", "100")]
    assert result.batch.segments.height == len(interchange())


def test_utf8_bom_and_leading_whitespace(tmp_path):
    text = "\ufeff" + edi(interchange())
    assert codes(check_files(write_edi(tmp_path, text, "bom.edi"))) == []
    result = check_files(write_edi(tmp_path, "\n\n   \t" + edi(interchange()), "ws.edi"))
    assert codes(result) == []
    assert _claims(result) == [("C1", "100")]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_newline_as_the_terminator(tmp_path, eol):
    # Newline itself terminates segments; indentation before segments is tolerated.
    segs = interchange()
    segs = segs[:5] + ["   " + s for s in segs[5:9]] + segs[9:]
    text = eol.join(segs) + eol
    loaded = load(write_edi(tmp_path, text), "x")
    assert loaded.delimiters.segment == "\n"
    result = check_files(write_edi(tmp_path, text))
    assert codes(result) == []
    assert _claims(result) == [("C1", "100")]


def test_unusual_separators(tmp_path):
    # "|" element, ">" component, "!" terminator, "}" repetition.
    segs = interchange(isa_text=isa(isa11="}"))
    text = edi(segs, term="!", elem="|", comp=">")
    loaded = load(write_edi(tmp_path, text), "x")
    d = loaded.delimiters
    assert (d.element, d.component, d.repetition, d.segment) == ("|", ">", "}", "!")
    result = check_files(write_edi(tmp_path, text))
    assert codes(result) == []
    line = result.batch.lines.row(0, named=True)
    assert (line["procedure_qualifier"], line["procedure_code"]) == ("HC", "99213")


def test_repetition_separator_only_from_00402(tmp_path):
    # In 4010 ISA11 is the standards identifier "U" (or anything): never a separator.
    body = ("BHT*0019*00*B1*20250315*1200*CH\nNM1*41*2*A^B*****46*S01")
    segs = interchange(transaction(version="004010X098A1", body=body), version="004010X098A1",
                       isa_text=isa(isa11="^", isa12="00401"))
    loaded = load(write_edi(tmp_path, edi(segs)), "x")
    assert loaded.delimiters.repetition is None
    assert "A^B" in loaded.data.decode() and REP not in loaded.data.decode()
    loaded = load(write_edi(tmp_path, edi(interchange()).replace("A*****46", "A^B*****46")),
                  "y")
    assert loaded.delimiters.repetition == "^"


def test_several_interchanges_groups_and_sets(tmp_path):
    first = interchange(transaction("0001", claim="A1"), transaction("0002", claim="A2"),
                        isa13="000000001")
    second = interchange(transaction("0003", claim="B1"), isa13="000000002", gs06="7")
    # A second GS group inside the second interchange.
    group2 = ["GS*HC*S01*R01*20250315*1200*8*X*005010X222A1", *transaction("0004", claim="B2"),
              "GE*1*8"]
    second = [*second[:-1], *group2, "IEA*2*000000002"]
    result = check_files(write_edi(tmp_path, edi(first + second)))
    assert codes(result) == []
    claims = result.batch.claims
    assert claims["claim_id"].to_list() == ["A1", "A2", "B1", "B2"]
    assert claims["isa13"].to_list() == ["000000001"] * 2 + ["000000002"] * 2
    assert claims["gs06"].to_list() == ["1", "1", "7", "8"]
    assert claims["st02"].to_list() == ["0001", "0002", "0003", "0004"]
    # segment_index is 1-based over the whole file: the first CLM is segment 17.
    assert claims["segment_index"].to_list()[0] == 17
    assert result.batch.transactions.height == 4


def test_interchanges_with_different_delimiters_in_one_file(tmp_path):
    a = edi(interchange(transaction(claim="A1"), isa13="000000001"))
    b = edi(interchange(transaction(claim="B1"), isa13="000000002"), term="!", elem="|",
            comp=">")
    result = check_files(write_edi(tmp_path, a + b))
    assert codes(result) == []
    assert result.batch.claims["claim_id"].to_list() == ["A1", "B1"]
    assert result.batch.lines["procedure_code"].to_list() == ["99213", "99213"]


def test_gzip_input(tmp_path):
    path = tmp_path / "claims.edi.gz"
    path.write_bytes(gzip.compress(edi(interchange()).encode()))
    result = check_files(path)
    assert codes(result) == []
    assert _claims(result) == [("C1", "100")]


def _unreadable(tmp_path, data: bytes, name: str = "bad.edi"):
    path = tmp_path / name
    path.write_bytes(data)
    result = check_files(path)
    files = result.batch.files
    assert files["status"].to_list() == ["unreadable"]
    assert files["error"][0]
    return codes(result)


def test_utf16_is_unreadable(tmp_path):
    text = edi(interchange())
    assert _unreadable(tmp_path, text.encode("utf-16")) == [("FILE002", None)]
    assert _unreadable(tmp_path, text.encode("utf-16-le")) == [("FILE002", None)]


def test_not_x12(tmp_path):
    assert _unreadable(tmp_path, b"claim_id,charge\nA1,100\n") == [("FILE001", None)]
    # "ISA" inside a word is not an ISA segment.
    assert _unreadable(tmp_path, b"Dear LISA*, here are the claims") == [("FILE001", None)]
    assert _unreadable(tmp_path, b"\x1f\x8b\x08garbage", "x.gz") == [("FILE001", None)]


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"ISA", b"ISA*00*          *00*  "])
def test_empty_or_truncated(tmp_path, data):
    assert _unreadable(tmp_path, data) == [("FILE003", None)]


def test_prose_before_isa_is_reported_and_parsed(tmp_path):
    text = "Claims for March\nsent by the billing office\n\n" + edi(interchange())
    result = check_files(write_edi(tmp_path, text))
    assert codes(result) == [("ENV101", None)]
    assert result.batch.files["status"].to_list() == ["parsed"]
    assert _claims(result) == [("C1", "100")]
    # segment_index still counts from the ISA.
    assert result.batch.claims["segment_index"].to_list() == [17]


def test_isa_fields_not_padded(tmp_path):
    # Widths are wrong (ENV100) but the delimiters and every claim are still read.
    short = "ISA*00**00**ZZ*S01*ZZ*R01*250315*1200*^*00501*000000001*0*P*:"
    segs = interchange(isa_text=short)
    result = check_files(write_edi(tmp_path, edi(segs)))
    assert codes(result) == [("ENV100", 1)]
    assert _claims(result) == [("C1", "100")]


def test_isa_padded_with_dots_is_fine(tmp_path):
    dotted = isa().replace(" " * 10, "." * 10)
    result = check_files(write_edi(tmp_path, edi(interchange(isa_text=dotted))))
    assert codes(result) == []


def test_load_error_is_an_exception_with_a_code(tmp_path):
    with pytest.raises(LoadError) as err:
        load(write_edi(tmp_path, "hello"), "x")
    assert err.value.code == "FILE001"


def test_latin1_bytes_are_read_with_a_warning(tmp_path):
    text = edi(interchange()).replace("DOE", "MU\xd1OZ").encode("latin-1")
    result = check_files(write_edi(tmp_path, text))
    assert codes(result) == [("ENV102", None)]
    assert result.batch.claims["subscriber_last"].to_list() == ["MU\xd1OZ"]


def test_gzip_magic_without_gz_name(tmp_path):
    path = write_edi(tmp_path, gzip.compress(edi(interchange()).encode()), "claims.837")
    assert _claims(check_files(path)) == [("C1", "100")]


def test_blank_lines_and_trailing_spaces(tmp_path):
    text = edi(interchange(), after="  \r\n\r\n\t")
    result = check_files(write_edi(tmp_path, text))
    assert codes(result) == []
    assert result.batch.claims["segment_index"].to_list() == [17]


def test_blanks_before_terminators_are_stripped(tmp_path):
    """Trailing blanks, tabs or NULs inside a segment's end (before its terminator) do not
    reach the elements (the reader strips them only when some segment has them)."""
    text = edi(interchange())
    head, rest = text.split("~", 1)
    result = check_files(write_edi(tmp_path, head + "~" + rest.replace("~", " \t\x00~")))
    assert codes(result) == []
    assert _claims(result) == [("C1", "100")]
    assert result.batch.claims["segment_index"].to_list() == [17]


def test_gzip_with_trailing_bytes_is_read_with_a_warning(tmp_path):
    """Bytes after the gzip data (not zero padding) are ignored as gzip -d does, and said."""
    data = gzip.compress(edi(interchange()).encode())
    padded = check_files(write_edi(tmp_path, data + b"\0" * 512, "padded.837.gz"))
    assert _claims(padded) == [("C1", "100")] and codes(padded) == []
    two = data + gzip.compress(b"")  # a second (empty) member is fine too
    assert codes(check_files(write_edi(tmp_path, two, "two.837.gz"))) == []
    junk = check_files(write_edi(tmp_path, data + b"log line\n", "junk.837.gz"))
    assert _claims(junk) == [("C1", "100")]
    assert codes(junk) == [("FILE004", None)]
    assert "9 bytes after the gzip data" in junk.findings["message"][0]
    cut = check_files(write_edi(tmp_path, data[:-10] + b"x", "cut.837.gz"))
    assert [c for c, _ in codes(cut)] == ["FILE001"]

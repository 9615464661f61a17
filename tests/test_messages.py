"""Every finding has a message of its own, also when the value it would quote is missing."""

from __future__ import annotations

import json

from helpers import SAMPLES, run_cli

from validator.engine.run import NO_DETAIL


def _mutants(folder):
    """Each element of each segment of the clean samples blanked, and each segment cut
    short before each element: the cases where a message has nothing to quote."""
    n = 0
    for src in sorted(SAMPLES.glob("clean-*.edi")):
        segs = src.read_text(encoding="utf-8").split("~")
        for i, seg in enumerate(segs):
            els = seg.split("*")
            for j in range(1, len(els)):
                if not els[j]:
                    continue
                for tag, new in (("b", [*els[:j], "", *els[j + 1:]]), ("t", els[:j])):
                    out = list(segs)
                    out[i] = "*".join(new)
                    (folder / f"{src.stem}-{i}-{j}{tag}.edi").write_text("~".join(out))
                    n += 1
    return n


def test_no_finding_without_its_own_message(tmp_path):
    assert _mutants(tmp_path) > 1000
    code, out, _err = run_cli(["check", str(tmp_path), "--no-ig", "--format", "json", "-q"])
    assert code == 1
    findings = json.loads(out)["findings"]
    assert len(findings) > 1000
    empty = sorted({f["rule"] for f in findings if not (f["message"] or "").strip()})
    generic = sorted({f["rule"] for f in findings if NO_DETAIL in f["message"]})
    assert empty == [] and generic == []


def test_missing_values_get_their_own_wording(tmp_path):
    clean = (SAMPLES / "clean-837p.edi").read_text(encoding="utf-8")
    (tmp_path / "dtp.edi").write_text(clean.replace("DTP*472*D8*20250304", "DTP*472*D8*"))
    segs = clean.split("~")
    se = next(i for i, s in enumerate(segs) if s.strip().startswith("SE*"))
    segs[se] = "SE**" + segs[se].split("*")[2]  # SE01 (the segment count) blank
    (tmp_path / "se.edi").write_text("~".join(segs))
    _code, out, _err = run_cli(["check", str(tmp_path), "--no-ig", "--format", "json", "-q"])
    msgs = {(f["file"].rsplit("/", 1)[-1], f["rule"]): f["message"]
            for f in json.loads(out)["findings"]}
    assert msgs[("dtp.edi", "SIT408")] == "DTP*472 has no date: DTP03 must give a CCYYMMDD date"
    assert msgs[("se.edi", "ENV131")].startswith("SE01 is empty: it must give the number of ")


def test_duplicates_name_the_earlier_file_unambiguously(tmp_path):
    clean = (SAMPLES / "clean-837p.edi").read_text(encoding="utf-8")
    for day in ("03-01", "03-02"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "batch.edi").write_text(clean)
    (tmp_path / "other.edi").write_text(clean)
    _code, out, _err = run_cli(["check", str(tmp_path), "--no-ig", "--format", "json", "-q",
                                "--select", "DUP401"])
    msgs = {(f["file"], f["message"]) for f in json.loads(out)["findings"]}
    later = [m for f, m in msgs if f.endswith("03-02/batch.edi")]
    assert later and all(f"{tmp_path}/03-01/batch.edi" in m for m in later)
    assert all("batch.edi" in m and "03-01" in m for f, m in msgs if f.endswith("other.edi"))

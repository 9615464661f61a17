"""The pyx12 runner: delimiters, map cache, crash isolation, worker processes."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from ig_helpers import I_SEGMENTS, P_SEGMENTS, ig_findings, replace, run_json, write

from validator.engine import read_batch
from validator.rules.ig import build, maps, run, worker


def _plan(tmp_path, files: dict[str, list[str]], target: float) -> build.Plan:
    paths = [write(tmp_path / name, segs) for name, segs in files.items()]
    batch = read_batch(paths)
    txns = batch.transactions.filter(pl.col("supported")).with_columns(
        map=pl.col("version").map_elements(maps.map_for, return_dtype=pl.String))
    return build.plan(batch.segments, txns, target)


BROKEN = {
    "p_bad.837": replace(P_SEGMENTS, "DTP*472", "DTP*472*D9*20260115", 2),
    "i_bad.837": replace(I_SEGMENTS, "CL1*2*1*01", "CL1*2*1*01*ZZZ"),
    "p_ok.837": P_SEGMENTS,
}


def test_pick_delimiters_avoids_data_characters():
    d = worker.pick_delimiters("A*B~C:D^E|F")
    assert d[worker.ELEM] not in "A*B~C:D^E|F" and d[worker.SEG] not in "A*B~C:D^E|F"
    assert len(set(d.values())) == 4
    assert worker.pick_delimiters("PLAIN TEXT 123") == {
        worker.ELEM: "*", worker.COMP: ":", worker.REP: "^", worker.SEG: "~"}


def test_messages_do_not_depend_on_the_other_files_of_a_chunk(tmp_path):
    # pyx12 gets delimiters absent from the chunk's data: a file holding "*" in its data
    # (its own element separator is "|") moves the others to "|". Messages quoting a
    # segment still show the usual "*", as when the file is validated alone.
    empty = list(P_SEGMENTS)
    empty.insert(empty.index(next(s for s in empty if s.startswith("CLM*"))), "K3*")
    star = replace([s.replace("*", "|") for s in P_SEGMENTS], "N3|", "N3|1*2 MAIN ST")
    (tmp_path / "alone").mkdir()
    (tmp_path / "mixed").mkdir()
    alone = _plan(tmp_path / "alone", {"k3.837": empty}, float("inf"))
    mixed = _plan(tmp_path / "mixed", {"k3.837": empty, "star.837": star}, float("inf"))
    assert worker._translate(mixed.chunks[0])[0].count("|") > 100  # the other delimiters
    texts = [[e[4] for e in worker.validate_chunk(p.chunks[0]).errors if e[0] == 0]
             for p in (alone, mixed)]
    assert 'Segment "K3*~" is empty' in texts[0]
    assert texts[0] == texts[1]


def test_plan_blocks_map_back_to_file_positions(tmp_path):
    p = _plan(tmp_path, BROKEN, target=1)
    # one block per chunk (target 1), 837P map first: p_bad, p_ok, then i_bad
    assert len(p.chunks) == 3 and p.meta["file_id"].to_list() == [0, 2, 1]
    assert p.meta["n"].to_list() == [len(P_SEGMENTS) - 4] * 2 + [len(I_SEGMENTS) - 4]
    assert p.meta["st_index"].to_list() == [3, 3, 3] and p.meta["isa_index"].to_list() == [1] * 3
    for chunk, block, n in p.meta.select("chunk", "block", "n").iter_rows():
        segs = p.chunks[chunk][block].split(worker.SEG)[:-1]
        assert len(segs) == n + 4  # ISA, GS, the ST..SE, GE, IEA
        assert segs[0].startswith("ISA") and len(segs[0]) == 105
        assert segs[2].startswith("ST") and segs[-3].startswith("SE")


def test_map_cache_gives_the_same_errors(tmp_path):
    p = _plan(tmp_path, BROKEN, target=float("inf"))
    [blocks] = p.chunks
    fresh = worker.validate_chunk(blocks, cache_maps=False)
    cached = worker.validate_chunk(blocks, cache_maps=True)
    again = [worker.validate_chunk([b], cache_maps=True) for b in blocks]
    per_block = [(i, *row[1:]) for i, r in enumerate(again) for row in r.errors]
    assert fresh.errors and sorted(fresh.errors) == sorted(cached.errors) == sorted(per_block)
    assert not fresh.failed and not cached.failed


def test_crash_on_one_transaction_set_is_isolated(tmp_path, monkeypatch):
    real = worker._run_pyx12

    def flaky(text: str):
        if "CRASHME" in text:
            raise RuntimeError("simulated pyx12 bug")
        return real(text)

    monkeypatch.setattr(worker, "_run_pyx12", flaky)
    crash = replace(P_SEGMENTS, "NM1*85", "NM1*85*2*CRASHME CLINIC*****XX*1234567893")
    for name, segs in {**BROKEN, "crash.837": crash}.items():
        write(tmp_path / name, segs)
    found = ig_findings(run_json(str(tmp_path), "-j1"))
    fail = [f for f in found if f["rule"] == "IG299"]
    assert len(fail) == 1 and fail[0]["file"].endswith("crash.837")
    assert "RuntimeError: simulated pyx12 bug" in fail[0]["message"]
    assert {f["file"].rsplit("/", 1)[1] for f in found if f["rule"] == "IG200"} == {
        "p_bad.837", "i_bad.837"}


def test_worker_processes_match_in_process(tmp_path):
    p = _plan(tmp_path, BROKEN, target=1)
    one = run._execute(p.chunks, jobs=1)
    two = run._execute(p.chunks, jobs=2)  # spawned worker processes
    assert [sorted(r.errors) for r in one] == [sorted(r.errors) for r in two]
    assert any(r.errors for r in two)


def test_jobs_option():
    import os

    assert run.jobs_from(1) == 1
    assert run.jobs_from(3) == 3
    assert run.jobs_from(0) == (os.cpu_count() or 1)


def test_missing_pyx12_is_one_ig299_per_transaction(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyx12", None)  # import pyx12 -> ImportError
    write(tmp_path / "a.837", P_SEGMENTS)
    found = ig_findings(run_json(str(tmp_path / "a.837"), "-j1"))
    assert [f["rule"] for f in found] == ["IG299"] and "not installed" in found[0]["message"]


def _children(pid: int) -> list[int]:
    """PIDs of the running processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG")
def test_workers_end_with_a_killed_main_process(tmp_path):
    """A CI timeout signals the main process only: its --jobs workers must not go on."""
    import signal
    import subprocess
    import time

    from bench.generate import write

    path = tmp_path / "p.837"
    write("P", 2000, str(path), claims_per_st=250)
    proc = subprocess.Popen([sys.executable, "-m", "validator", "check", str(path), "--ig",
                             "--ig-engine", "pyx12",
                             "--jobs", "2", "--format", "json", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        workers = [c for c in _children(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert len(workers) == 2, "the workers did not start"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and " Z " not in Path(f"/proc/{w}/stat").read_text()]
    assert alive == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups, /proc")
def test_ctrl_c_exits_130_without_traceback(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) is not "findings" (exit 1)."""
    import os
    import signal
    import subprocess
    import time

    from bench.generate import write

    path = tmp_path / "p.837"
    write("P", 2000, str(path), claims_per_st=250)
    proc = subprocess.Popen([sys.executable, "-m", "validator", "check", str(path), "--ig",
                             "--ig-engine", "pyx12",
                             "--jobs", "2", "--format", "json", "-q"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and len(
            [c for c in _children(proc.pid)
             if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]) < 2:
        time.sleep(0.2)
    time.sleep(1.5)  # (a worker still starting its interpreter would print its own traceback)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Aborted!" in err and "Traceback" not in err

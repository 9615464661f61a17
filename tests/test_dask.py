"""Work units and the Dask executor (#18): a large file cut at ISA/ST boundaries, and a
batch checked on a Dask cluster, give the JSON of a single local pass.

Cluster tests run a LocalCluster (``--executor dask --jobs 2``) and an external
``dask scheduler`` + two ``dask worker`` processes on 127.0.0.1 (PYTHONPATH set to the
repository); they skip when dask is not installed.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from edi_builder import edi, interchange, transaction
from helpers import REPO, load_ruleset, run_cli

from bench.generate import generate
from validator.engine import Selection, check, collect_inputs
from validator.engine.units import Unit, check_units, plan_units
from validator.output.json_report import chunks as json_chunks
from validator.rules.api import RunOptions
from validator.x12.cut import cut

try:
    import distributed
except ImportError:  # the cluster tests skip; the pieces tests run
    distributed = None


def needs_dask(test):
    """A test that runs a Dask cluster (marked ``dask``; skipped without dask)."""
    skip = pytest.mark.skipif(distributed is None, reason="dask[distributed] is not installed")
    return pytest.mark.dask(skip(test))


SAMPLES = REPO / "sample_edi"
ROSTER = SAMPLES / "kp-roster.csv"


def _doc(result) -> dict:
    """The JSON report without its run record (when and how long)."""
    return {k: v for k, v in json.loads(b"".join(json_chunks(result))).items() if k != "run"}


def _run(paths, chunk_bytes=0, **options):
    rs = load_ruleset("kp-cigna")
    opts = RunOptions(ig=True, chunk_bytes=chunk_bytes, plugin={"members": ROSTER}, **options)
    return check(list(paths), rs, Selection.build(rs), opts, inputs=[str(p) for p in paths])


def _assert_same(paths, chunk_bytes, **options):
    """The units' JSON equals that of one local pass; returns the one-pass result."""
    whole = _run(paths)
    parts = _run(paths, chunk_bytes, **options)
    assert _doc(parts) == _doc(whole)
    assert parts.failed == whole.failed == []
    return whole


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> list[Path]:
    """Generated files with many transaction sets: an 837P and an 837I (the I file in
    CRLF-newline layout), a file of three interchanges with wrong GE01/IEA01 counts and a
    Latin-1 name, and the samples (the KP scenarios)."""
    d = tmp_path_factory.mktemp("batch")
    (d / "p.837").write_text(generate("P", 1500, seed=3, claims_per_st=30))
    (d / "i.837").write_bytes(generate("I", 400, seed=4, claims_per_st=20).replace(
        "~", "\r\n").encode())
    sets = [transaction(f"{k:04d}", claim=f"C{k}") for k in range(1, 7)]
    envs = [interchange(*sets[:3], isa13="000000011", gs06="11"),
            interchange(*sets[3:5], isa13="000000012", gs06="12"),
            interchange(*sets[5:], isa13="000000013", gs06="13")]
    envs[0][-2] = "GE*5*11"  # GE01 counts 3 sets
    envs[1][-1] = "IEA*2*000000012"  # IEA01 counts 1 group
    text = edi([s for e in envs for s in e]).replace("NM1*IL*1*DOE", "NM1*IL*1*MU\xd1OZ")
    (d / "envelopes.837").write_bytes(text.encode("latin-1"))
    return [*sorted(d.iterdir()), *collect_inputs([str(SAMPLES)])]


# -- cutting ---------------------------------------------------------------------------


def test_cut_pieces_cover_the_file_at_isa_or_st(batch):
    path = batch[0]  # envelopes.837 (sorted first)
    assert path.name == "envelopes.837"
    pieces = cut(path, 1)
    data = path.read_bytes()
    assert [p.index for p in pieces] == list(range(len(pieces))) and len(pieces) == 9
    assert pieces[0].start == 0 and pieces[-1].end == len(data)
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    for p in pieces[1:]:
        assert data[p.start:p.start + 3] in (b"ISA", b"ST*")
        # an ST piece carries its interchange's ISA and group's GS; an ISA piece nothing
        assert p.n_prefix == (2 if data[p.start:p.start + 3] == b"ST*" else 0)
        if p.n_prefix:
            assert p.prefix.startswith(b"ISA*") and b"~GS*HC*" in p.prefix
    assert all(p.latin1 for p in pieces)  # the whole file is not UTF-8: every piece is Latin-1
    assert cut(path, len(data)) is None  # small enough: read whole


def test_files_that_are_not_cut(tmp_path, batch):
    text = batch[0].read_bytes()
    gz = tmp_path / "a.837.gz"
    gz.write_bytes(gzip.compress(text))
    assert cut(gz, 1) is None  # compressed: read whole
    mixed = tmp_path / "mixed.837"  # a second interchange with other delimiters
    other = edi(interchange(transaction()), term="|", elem="^", comp=">").encode()
    mixed.write_bytes(text + other)
    assert cut(mixed, 1) is None
    assert cut(tmp_path / "missing.837", 1) is None


# -- local path: a file larger than --chunk-size ------------------------------------------


@pytest.mark.parametrize("name", ["envelopes.837", "i.837", "p.837"])
def test_file_larger_than_chunk_equals_one_pass(batch, name):
    path = next(p for p in batch if p.name == name)
    size = path.stat().st_size
    units = plan_units([path], size // 5)
    assert len(units) >= 3 and all(u.piece is not None for u in units)
    whole = _assert_same([path], size // 5)
    if name == "envelopes.837":  # the trailer counts span pieces: still right
        assert {"ENV111", "ENV121", "ENV102"} <= set(whole.findings["rule"])


@pytest.mark.slow
def test_every_piece_a_transaction_set_equals_one_pass(batch):
    _assert_same(batch, 1)  # every file cut at every ST and ISA


def test_cli_chunk_size_cuts_a_large_file(batch):
    path = next(p for p in batch if p.name == "p.837")
    code1, one, _ = run_cli(["check", str(path), "--format", "json", "--chunk-size", "0"])
    code2, parts, err = run_cli(["check", str(path), "--format", "json", "--chunk-size", "100K",
                                 "-v"])
    assert code1 == code2 == 1
    strip = lambda t: {k: v for k, v in json.loads(t).items() if k != "run"}  # noqa: E731
    assert strip(parts) == strip(one)
    assert "piece 2 of" in err


def test_failed_piece_fails_its_file_failed_run_of_files_retried(batch):
    """A unit that failed (twice, on a cluster) loses only its file: a piece costs its whole
    file (FILE001), a run of files is checked again file by file."""
    rs = load_ruleset("kp-cigna")
    from validator.engine.run import Plan
    from validator.engine.units import run_unit
    from validator.rules.registry import discover

    plan = Plan.build(discover(), rs, Selection.build(rs), RunOptions())
    big = next(p for p in batch if p.name == "p.837")
    small = [p for p in batch if p.suffix == ".edi"][:2]
    units = [*plan_units([big], big.stat().st_size // 3), Unit(1, tuple(small))]
    calls = []

    def run(plan, todo):
        calls.append(len(todo))
        return [RuntimeError("worker lost") if (u.piece and u.piece.index == 1)
                or len(u.paths) > 1 else run_unit(plan, u) for u in todo]

    merged = check_units(plan, units, run)
    ctx = merged.ctx
    files = ctx.batch.files
    assert files["status"].to_list() == ["unreadable", "parsed", "parsed"]
    assert "worker lost" in files["error"][0]
    assert calls == [len(units), 2]  # the run of two files again, one by one
    assert ctx.batch.claims.filter(pl.col("file_id") == 0).height == 0  # its pieces are gone
    assert merged.store.rows == ctx.batch.claims.height > 0  # (from the store too)


# -- Dask ------------------------------------------------------------------------------


@needs_dask
def test_local_cluster_cli_equals_local_run(batch):
    args = ["check", *map(str, batch), "--members", str(ROSTER), "--format", "json"]
    code1, local, _ = run_cli(args)
    code2, remote, err = run_cli([*args, "--executor", "dask", "--jobs", "2", "--chunk-size",
                                  "200K", "-v"])
    assert code1 == code2 == 1, err
    strip = lambda t: {k: v for k, v in json.loads(t).items() if k != "run"}  # noqa: E731
    assert strip(remote) == strip(local)
    assert "local cluster of 2 workers" in err


def test_scheduler_needs_dask_executor():
    code, _, err = run_cli(["check", str(SAMPLES), "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2 and "--scheduler needs --executor dask" in err


@needs_dask
def test_unreachable_scheduler_is_a_usage_error(monkeypatch):
    monkeypatch.setattr("validator.engine.distributed.CONNECT_TIMEOUT", "2s")
    code, _, err = run_cli(["check", str(SAMPLES / "clean-837p.edi"), "--executor", "dask",
                            "--scheduler", "tcp://127.0.0.1:9", "--format", "json"])
    assert code == 2 and "cannot reach the Dask scheduler" in err


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (nannies restart a killed
    worker); yields the scheduler's address."""
    d = tmp_path_factory.mktemp("cluster")
    sched_file = d / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
        env=env, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"],
                env=env, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@needs_dask
def test_external_cluster_equals_local_run(batch, external):
    # Units of 200K: the generated files are cut in pieces, the others grouped.
    _assert_same(batch, 200 << 10, executor="dask", scheduler=external)


@needs_dask
def test_a_night_on_the_cluster_equals_one_pass(batch, external):
    """``--state`` on a cluster: the client hashes each unit's claims by their DUP401/DUP402
    keys as they come back; the findings against earlier nights' claims and the keys kept
    for the record equal a single local pass's."""
    from datetime import date

    from validator.rules.api import Context
    from validator.rules.earlier import EarlierClaims
    from validator.rules.generic.duplicates import claim_keys

    salt = bytes(range(16))
    one = _run(batch)
    mine = claim_keys(Context(one.batch, one.ruleset), salt)
    sent = mine.filter(pl.col("claim_key") % 5 == 0)  # passed on an earlier night
    earlier = EarlierClaims(salt, sent.select(
        "id_key", "dup_key", "claim_id", path=pl.lit("/old/night.837").cast(pl.Categorical),
        sent=pl.lit(date.today())))
    whole = _run(batch, earlier=earlier)
    parts = _run(batch, 200 << 10, earlier=earlier, executor="dask", scheduler=external)
    assert _doc(parts) == _doc(whole) != _doc(one)
    assert any("/old/night.837" in f["message"] for f in _doc(parts)["findings"])
    assert parts.state_keys is not None and parts.state_keys.sort("claim_key").equals(
        mine.select("claim_key", "file_id", "id_key", "dup_key").sort("claim_key"))


@needs_dask
def test_scheduler_from_the_environment(external, monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", external)

    def no_local_cluster(*args, **kwargs):
        raise AssertionError("a local cluster was started")

    monkeypatch.setattr(distributed, "LocalCluster", no_local_cluster)
    _assert_same(collect_inputs([str(SAMPLES)]), 8 << 10, executor="dask")


@needs_dask
@pytest.mark.slow
def test_external_cluster_corpus_equals_local_run(corpus, external):
    paths = collect_inputs([str(corpus)])
    whole = _assert_same(paths, 64 << 10, executor="dask", scheduler=external)
    assert whole.claims.height > 80


@needs_dask
def test_killed_worker_is_retried(batch, external, tmp_path):
    """A worker killed while it checks a unit: the unit runs again elsewhere, and the result
    is still that of a local run."""
    big = tmp_path / "big.837"
    big.write_text(generate("P", 6000, seed=9, claims_per_st=50))
    paths = [big, *batch]
    whole = _run(paths)
    killed: list[int] = []
    done = threading.Event()

    def killer() -> None:
        with distributed.Client(external, timeout="30s") as c:
            while not done.is_set() and not killed:
                busy = [w for w, keys in c.processing().items()
                        if any(str(k).startswith("claims-unit-") for k in keys)]
                if busy:
                    pid = c.run(os.getpid, workers=busy[:1])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.05)

    t = threading.Thread(target=killer)
    t.start()
    try:
        parts = _run(paths, 400 << 10, executor="dask", scheduler=external)
    finally:
        done.set()
        t.join()
    assert killed, "no worker was killed: the run ended first"
    assert _doc(parts) == _doc(whole)
    with distributed.Client(external, timeout="30s") as c:  # the nanny restarted it
        c.wait_for_workers(2, timeout=60)


@needs_dask
def test_ctrl_c_cancels_the_cluster_tasks(external, tmp_path):
    big = tmp_path / "big.837"
    big.write_text(generate("P", 6000, seed=11, claims_per_st=50))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.Popen([sys.executable, "-m", "validator", "check", str(big), "--executor",
                          "dask", "--scheduler", external, "--chunk-size", "300K", "--format",
                          "json"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    with distributed.Client(external, timeout="30s") as c:
        def ours() -> int:
            return sum(str(k).startswith("claims-unit-") for keys in c.processing().values()
                       for k in keys)

        deadline = time.monotonic() + 60
        while not ours() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.poll() is None, "the run ended before it could be interrupted"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 130, err
        assert "Traceback" not in err
        deadline = time.monotonic() + 20
        while ours() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not ours()

#!/usr/bin/env python3
"""Scale-out benchmark (#18): claims/s and peak memory of ``check --executor dask``.

Two parts, each checked against the local run's JSON (the ``run`` record masked):

* ``batch``: a batch of generated files checked locally and on a LocalCluster of 1, 2 and
  4 workers (one thread each). The client is a ``check`` subprocess connected with
  ``--scheduler``; its peak RSS comes from ``wait4``, each worker's from ``getrusage`` run
  on the worker after the check.
* ``large``: one large generated file (default 1 GB) checked locally in pieces of several
  sizes (``--chunk-size``) and on a 2-worker cluster: peak RSS follows the piece size.

Usage::

    python bench/dask_bench.py --workdir /tmp/dask-bench              # both parts
    python bench/dask_bench.py --workdir /tmp/dask-bench --part batch --files 8 --claims 40000
    python bench/dask_bench.py --workdir /tmp/dask-bench --part large --large-mb 1024 \\
        --large-args=--no-ig
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.generate import write  # noqa: E402

_RUN = re.compile(rb'"run": \{.*?\}, (?="summary": )')  # the run record (when, how long)


def json_digest(path: Path) -> str:
    """sha256 of a JSON report without its run record (streamed: reports can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(1 << 16)
        h.update(_RUN.sub(b"", head, count=1))
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def run_check(args: list[str], report: Path) -> tuple[float, int, int, float]:
    """``check ARGS --format json --report REPORT`` in a subprocess: (seconds, peak RSS in
    MB, exit code, CPU seconds)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "validator", "check", *args, "--format", "json",
                          "--report", str(report), "-q"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t0
    err = p.stderr.read().decode() if p.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"check failed ({code}): {err[-2000:]}")
    return seconds, usage.ru_maxrss // 1024, code, usage.ru_utime + usage.ru_stime


def _peak_mb() -> tuple[int, float]:
    """A worker's peak RSS (MB) and CPU seconds."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_maxrss // 1024, u.ru_utime + u.ru_stime


def on_cluster(workers: int, args: list[str], report: Path) -> dict:
    """``args`` checked on a fresh LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        seconds, client_mb, code, cpu = run_check([*args, "--executor", "dask", "--scheduler",
                                                   cluster.scheduler_address], report)
        peaks = client.run(_peak_mb)
    return {"workers": workers, "seconds": round(seconds, 1), "client_mb": client_mb,
            "worker_mb": max(mb for mb, _ in peaks.values()), "exit": code,
            "client_cpu_s": round(cpu, 1),
            "worker_cpu_s": round(sum(c for _, c in peaks.values()), 1)}


def claims_in(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        with p.open("rb") as f:
            while block := f.read(64 << 20):  # (a CLM cut by a block edge is not counted)
                n += block.count(b"~\nCLM*") + block.count(b"~CLM*")
    return n


def part_batch(work: Path, files: int, claims: int, workers: list[int], chunk: str) -> list[dict]:
    d = work / "batch"
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        p = d / f"batch-{i:02d}.837"
        if not p.exists():
            write("P" if i % 2 == 0 else "I", claims, str(p), seed=100 + i, claims_per_st=2000)
        paths.append(p)
    n = claims_in(paths)
    mb = sum(p.stat().st_size for p in paths) / 1e6
    rows = []
    seconds, rss, code, cpu = run_check([str(d), "--chunk-size", chunk],
                                        work / "batch-local.json")
    ref = json_digest(work / "batch-local.json")
    rows.append({"run": "local", "workers": "-", "seconds": round(seconds, 1), "client_mb": rss,
                 "worker_mb": "-", "exit": code, "client_cpu_s": round(cpu, 1), "equal": True})
    for w in workers:
        out = work / f"batch-dask{w}.json"
        r = on_cluster(w, [str(d), "--chunk-size", chunk], out)
        rows.append({"run": "dask", **r, "equal": json_digest(out) == ref})
    for r in rows:
        r["claims_per_s"] = round(n / r["seconds"])
    print(f"batch: {files} files, {n:,} claims, {mb:.0f} MB", flush=True)
    return rows


def part_large(work: Path, large_mb: int, pieces: list[str], workers: int,
               extra: list[str]) -> list[dict]:
    big = work / f"large-{large_mb}mb.837"
    if not big.exists():
        claims = int(large_mb * 1e6 / 440)  # ~440 bytes a claim (837P, 1-4 lines)
        t0 = time.perf_counter()
        write("P", claims, str(big), seed=7)
        print(f"generated {big} in {time.perf_counter() - t0:.0f}s")
    n = claims_in([big])
    rows, ref = [], None
    for size in pieces:
        out = work / f"large-{size}.json"
        seconds, rss, code, cpu = run_check([str(big), "--chunk-size", size, *extra], out)
        digest = json_digest(out)
        ref = ref or digest
        rows.append({"run": f"local, pieces of {size}", "seconds": round(seconds, 1),
                     "client_mb": rss, "worker_mb": "-", "exit": code,
                     "client_cpu_s": round(cpu, 1), "equal": digest == ref})
        out.unlink()
    out = work / "large-dask.json"
    r = on_cluster(workers, [str(big), "--chunk-size", pieces[0], *extra], out)
    rows.append({"run": f"dask {workers} workers, pieces of {pieces[0]}", **r,
                 "equal": json_digest(out) == ref})
    out.unlink()
    for r in rows:
        r["claims_per_s"] = round(n / r["seconds"])
    print(f"large: {big.stat().st_size / 1e6:,.0f} MB, {n:,} claims", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--part", choices=["batch", "large", "both"], default="both")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--claims", type=int, default=30_000, help="claims per batch file")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--chunk-size", default="128M")
    ap.add_argument("--large-mb", type=int, default=1024)
    ap.add_argument("--pieces", default="32M,128M", help="piece sizes for the large file")
    ap.add_argument("--large-args", default="", help="extra check options for the large file "
                    "(e.g. --no-ig on a busy machine)")
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    if a.part in ("batch", "both"):
        results["batch"] = part_batch(a.workdir, a.files, a.claims,
                                      [int(w) for w in a.workers.split(",")], a.chunk_size)
        print(json.dumps(results["batch"]), flush=True)
    if a.part in ("large", "both"):
        results["large"] = part_large(a.workdir, a.large_mb, a.pieces.split(","), 2,
                                      a.large_args.split())
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

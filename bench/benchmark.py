"""Benchmark: claims/second and peak RSS of `claims-validator check`, with pyx12 as yardstick.

    python bench/benchmark.py                       # 837P and 837I, 10k and 100k claims
    python bench/benchmark.py --sizes 10000 --types P --repeat 1 --no-pyx12
    python bench/benchmark.py --ig                  # also the pyx12 engine, --jobs 1 and 2 (10k)
    python bench/benchmark.py --folder 1000x100     # the folder row: 1,000 files of 100 claims
    python bench/benchmark.py --large-folder 16x50000  # in chunks (default) and in one pass

Each measurement runs in a fresh process (its own peak RSS, read with os.wait4); the best
of ``--repeat`` runs is reported. Files are generated once into ``bench/out/``. Figures on
a shared 2-core machine are noisy: compare ratios from one run, not absolute numbers
across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"

# Parse only: read the files into the claims and lines tables, nothing else.
PARSE_ONLY = """
import sys, time
from pathlib import Path
from validator.engine import read_batch
t = time.perf_counter()
b = read_batch([Path(sys.argv[1])])
print(b.claims.height, b.lines.height, time.perf_counter() - t)
"""


@dataclass
class Run:
    what: str
    file: str
    claims: int
    seconds: float
    peak_rss_mb: float
    input_mb: float

    @property
    def claims_per_s(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0


def measure(cmd: list[str], env: dict[str, str] | None = None,
            any_exit: bool = False) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout's last line of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
                            env=env)
    # Keep only the tail of the output: a child's peak RSS starts from its parent's at fork
    # time, so holding a 40 MB JSON document here would inflate every later measurement.
    out = b""
    while proc.stdout and (block := proc.stdout.read(1 << 20)):
        out = (out + block)[-4096:]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1) and not any_exit:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    last = out.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return seconds, usage.ru_maxrss / 1024, last[0]


def best(what: str, path: Path, claims: int, cmd: list[str], repeat: int,
         parse_only: bool = False, any_exit: bool = False,
         extra_env: dict[str, str] | None = None) -> Run:
    runs = []
    for _ in range(repeat):
        seconds, rss, last = measure(cmd, _env() | (extra_env or {}), any_exit)
        if parse_only:  # the child times itself (excludes interpreter start-up)
            seconds = float(last.split()[-1])
        runs.append((seconds, rss))
    seconds = min(r[0] for r in runs)
    rss = min(r[1] for r in runs)
    return Run(what, path.name, claims, seconds, rss, _size(path) / 1e6)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def ensure_file(kind: str, n: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{kind.lower()}{n // 1000}k.837"
    if not path.exists():
        # In a child process: a child's peak RSS (wait4) starts from its parent's at fork
        # time, so the benchmark itself must stay small.
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--type", kind, "--claims",
                        str(n), "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def ensure_folder(kind: str, files: int, n: int) -> Path:
    """A folder of ``files`` files holding ``n`` claims in all (a nightly drop folder)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{kind.lower()}{files}x{n // files}"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--type", kind, "--claims",
                        str(n), "--files", str(files), "--out", str(path)], check=True,
                       stderr=subprocess.DEVNULL)
    return path


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--types", default="P,I")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-pyx12", action="store_true", help="skip pyx12's x12valid yardstick")
    ap.add_argument("--ig", action="store_true",
                    help="also run the pyx12 implementation-guide engine (--jobs 1 and 2)")
    ap.add_argument("--folder", default="200x500", metavar="FILESxCLAIMS",
                    help="also check a folder of that many small 837P files ('' to skip)")
    ap.add_argument("--large-folder", default="", metavar="FILESxCLAIMS",
                    help="also check a folder larger than one chunk (e.g. 16x50000, 352 MB) "
                         "in chunks and with --chunk-size 0")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    py = sys.executable
    results: list[Run] = []
    for kind in args.types.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            path = ensure_file(kind, n)
            parse = [py, "-c", PARSE_ONLY, str(path)]
            results.append(best(f"parse 837{kind}", path, n, parse, args.repeat, parse_only=True))
            if shutil.which("taskset"):  # the same on one core (one polars thread)
                results.append(best(f"parse 1 core 837{kind}", path, n,
                                    ["taskset", "-c", "0", *parse], args.repeat, parse_only=True,
                                    extra_env={"POLARS_MAX_THREADS": "1"}))
            check = [py, "-m", "validator", "check", str(path), "--format", "json", "-q"]
            # The default run: every check, the native implementation-guide engine included.
            results.append(best(f"check 837{kind}", path, n, check, args.repeat))
            results.append(best(f"check --no-ig 837{kind}", path, n, [*check, "--no-ig"],
                                args.repeat))
            if args.ig and n <= 10000:  # the pyx12 engine (slow): the reference
                for jobs in (1, 2):
                    results.append(best(f"check --ig-engine pyx12 -j{jobs} 837{kind}", path, n,
                                        [*check, "--ig-engine", "pyx12", "--jobs", str(jobs)], 1))
            if not args.no_pyx12 and n <= 10000:
                x12valid = shutil.which("x12valid")
                if x12valid:
                    results.append(best(f"pyx12 x12valid 837{kind}", path, n,
                                        [x12valid, "--quiet", str(path)], 1, any_exit=True))
            _print(results[-1:] if results else [])
    if args.folder:  # many small files: the per-file cost of a nightly drop folder
        files, each = (int(x) for x in args.folder.lower().split("x"))
        path = ensure_folder("P", files, files * each)
        results.append(best(f"check --no-ig 837P {files} files", path, files * each,
                            [py, "-m", "validator", "check", str(path), "--format", "json",
                             "-q", "--no-ig"], args.repeat))
        _print(results[-1:])
    if args.large_folder:  # memory follows the chunk, not the batch
        files, each = (int(x) for x in args.large_folder.lower().split("x"))
        path = ensure_folder("P", files, files * each)
        check = [py, "-m", "validator", "check", str(path), "--format", "json", "-q", "--no-ig"]
        for label, extra in (("128M chunks", []), ("one pass", ["--chunk-size", "0"])):
            results.append(best(f"check --no-ig {files} files, {label}", path, files * each,
                                [*check, *extra], args.repeat))
            _print(results[-1:])
    print()
    _table(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"claims_per_s": r.claims_per_s}
                                         for r in results], indent=2))


def _print(runs: list[Run]) -> None:
    for r in runs:
        print(f"  {r.what:<38} {r.file:<12} {r.claims_per_s:>10,.0f} claims/s", file=sys.stderr)


def _table(results: list[Run]) -> None:
    print(f"{'measurement':<38} {'file':<12} {'MB':>6} {'claims':>8} {'seconds':>8} "
          f"{'claims/s':>10} {'peak RSS MB':>11} {'RSS/input':>9}")
    for r in results:
        print(f"{r.what:<38} {r.file:<12} {r.input_mb:>6.1f} {r.claims:>8} {r.seconds:>8.2f} "
              f"{r.claims_per_s:>10,.0f} {r.peak_rss_mb:>11.0f} {r.peak_rss_mb / r.input_mb:>8.1f}x")
    by = {(r.what.split(" 837")[0], r.file): r for r in results}
    for (what, file), r in by.items():
        if what.startswith("pyx12"):
            for label in ("check", "check --no-ig"):
                ours = by.get((label, file))
                if ours:
                    print(f"{file}: {label} is {ours.claims_per_s / r.claims_per_s:,.0f}x "
                          f"faster than pyx12's x12valid")


if __name__ == "__main__":
    main()

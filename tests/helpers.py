"""Small shared test helpers: repository paths, the shared corpus, running the CLI and the
engine, the registry and rulesets. (EDI texts are built by ``edi_builder``; the fixtures
of ``conftest.py`` hand these paths, the corpus, the registry and a ruleset to tests.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_edi"
# Every CLM of the sample files (one segment per line there).
SAMPLE_CLAIMS = sum(line.startswith("CLM*") for f in SAMPLES.glob("*.edi")
                    for line in f.read_text(encoding="ascii").splitlines())


def shared_dir() -> Path | None:
    """``<repo>/../shared`` when present, else ``/work/shared``, else None."""
    for cand in (REPO.parent / "shared", Path("/work/shared")):
        if (cand / "corpus").is_dir():
            return cand
    return None


SHARED = shared_dir()
CORPUS = SHARED / "corpus" if SHARED else None


def run_cli(args: list[str], *, subprocess_run: bool = False) -> tuple[int, str, str]:
    """Run ``claims-validator ARGS`` and return ``(exit_code, stdout, stderr)``.

    In-process through click's runner by default (fast); ``subprocess_run=True`` runs
    ``python -m validator`` in a child process (real streams, real exit code).
    """
    if subprocess_run:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        p = subprocess.run([sys.executable, "-m", "validator", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr
    from validator.cli import main

    res = CliRunner().invoke(main, args, catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def write_edi(tmp_path: Path, text: str, name: str = "claims.edi") -> Path:
    """Write ``text`` (str, written as UTF-8, or bytes) to ``tmp_path/name``."""
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def check_files(*paths: Path, select: tuple[str, ...] = ("ENV", "FILE")):
    """Run the engine in-process on ``paths`` with only the ``select`` rules."""
    from validator.engine import Selection, check
    from validator.rules.api import RunOptions

    ruleset = load_ruleset()
    return check(list(paths), ruleset, Selection(select=list(select)), RunOptions())


def codes(result) -> list[tuple[str, int | None]]:
    """``(rule, segment_index)`` of every finding, sorted."""
    f = result.findings
    return sorted(zip(f["rule"].to_list(), f["segment_index"].to_list(), strict=True),
                  key=lambda t: (t[0], t[1] or 0))


def registry():
    """The rules, annotators and plugins of this installation."""
    from validator.rules.registry import discover

    return discover()


def all_rules():
    """Every rule by code, in registry order."""
    return registry().rules


def load_ruleset(name: str = "kp-cigna"):
    """A shipped ruleset by name, or a ruleset file, checked against this registry."""
    from validator.ruleset.load import load

    return load(str(name), registry())


def report_files(folder: Path) -> list[Path]:
    """The report files a run wrote into ``folder``: not the run's lock (a hidden file) nor
    the ``claims-report-latest.*`` links."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and not p.is_symlink())


def doc_without_run(text: str) -> dict:
    """A JSON report without its ``run`` record (when and how long): two runs over the same
    inputs must agree on everything else."""
    import json

    return {k: v for k, v in json.loads(text).items() if k != "run"}

"""Small shared test helpers: repository paths, the shared corpus, running the CLI."""

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


# A minimal 5010 837P body (BHT .. one claim) in "*" / ":" / "~" notation, one segment a line.
BODY_837P = """BHT*0019*00*B1*20250315*1200*CH
NM1*41*2*SUNRISE BILLING*****46*S01
PER*IC*DESK*TE*2145550100
NM1*40*2*AETNA*****46*60054
HL*1**20*1
NM1*85*2*CLINIC*****XX*1234567893
N3*1 MAIN ST
N4*DALLAS*TX*752014321
REF*EI*751234567
HL*2*1*22*0
SBR*P*18*******CI
NM1*IL*1*DOE*JOHN****MI*W1
NM1*PR*2*AETNA*****PI*60054
CLM*{claim}*100***11:B:1*Y*A*Y*Y
HI*ABK:J069
LX*1
SV1*HC:99213*100*UN*1*11**1
DTP*472*D8*20250303"""


def isa(isa13: str = "000000001", isa11: str = "^", isa12: str = "00501") -> str:
    """A well-formed 106-character ISA (without terminator) in ``*``/``:`` notation."""
    return "*".join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "S01".ljust(15), "ZZ",
                     "R01".ljust(15), "250315", "1200", isa11, isa12, isa13, "0", "P", ":"])


def transaction(st02: str = "0001", version: str = "005010X222A1", body: str | None = None,
                claim: str = "C1", se01: int | None = None) -> list[str]:
    """ST..SE with a correct SE01 unless ``se01`` is given."""
    segs = [f"ST*837*{st02}*{version}", *(body or BODY_837P.format(claim=claim)).splitlines()]
    return [*segs, f"SE*{len(segs) + 1 if se01 is None else se01}*{st02}"]


def interchange(*sets: list[str], isa13: str = "000000001", gs06: str = "1",
                version: str = "005010X222A1", isa_text: str | None = None) -> list[str]:
    """ISA/GS around the given transaction sets, with correct GE/IEA trailers."""
    sets = sets or (transaction(version=version),)
    st = [seg for t in sets for seg in t]
    return [isa_text or isa(isa13), f"GS*HC*S01*R01*20250315*1200*{gs06}*X*{version}", *st,
            f"GE*{len(sets)}*{gs06}", f"IEA*1*{isa13}"]


def edi(segments: list[str], term: str = "~", after: str = "\n", elem: str = "*",
        comp: str = ":") -> str:
    """Join segments with ``term`` + ``after``; optionally swap the ``*``/``:`` delimiters."""
    text = (term + after).join(segments) + term + after
    return text.translate(str.maketrans({"*": elem, ":": comp})) if (elem, comp) != ("*", ":") \
        else text


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

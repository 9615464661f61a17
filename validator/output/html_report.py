"""The self-contained HTML exception report.

One file with inline CSS, JS and SVG, and no external request of any kind (a strict
Content-Security-Policy forbids them). The server side renders the header, summary,
charts, file list and rule glossary with autoescaping jinja2; the findings travel as one
compact columnar JSON block (``<script type="application/json">``, with ``<``, ``>``, ``&``
and U+2028/2029 escaped so no data can close the script) that the page's script renders
page by page with ``textContent`` only. PHI is masked unless ``show_phi``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zlib
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup, escape

from .. import __version__
from ..data import codesets
from ..engine.result import Result
from ..rules.api import Rule
from ..rules.plugin import Panel
from ..rules.registry import Registry, discover
from . import phi
from .views import files_view, findings_view_slices, summary

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SEVERITIES = ("error", "warning", "info")
CHART_BARS = 12
# Data blocks larger than this are embedded deflated and base64-encoded (about 4x smaller).
COMPRESS_ABOVE = 1_000_000
# Claim columns the claim panel reads (the struct columns of the plugins' panels come along).
CLAIM_PANEL_COLUMNS = (
    "claim_key", "file_id", "st_key", "claim_id", "transaction_type", "segment_index",
    "total_charge", "status", "patient_is_subscriber", "patient_last", "patient_first",
    "patient_birth", "subscriber_last", "subscriber_first", "subscriber_birth", "member_id",
    "payer_name", "payer_id", "plan_name", "claim_filing", "billing_name", "billing_npi",
    "facility_state", "billing_state", "service_date_from", "service_date_to",
)


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


@cache
def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


# -- data block -------------------------------------------------------------------------

def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``</script>``, ``<!--`` and
    line separators cannot appear literally (see :func:`script_json_chunks`)."""
    return "".join(script_json_chunks(data))


def script_json_chunks(data: Any) -> Iterator[str]:
    """:func:`script_json` in pieces: a large page's data (100+ MB of text) is never held
    as one string. Integer ``pl.Series`` become JSON arrays without a round trip through
    Python objects; other series are converted :data:`LIST_SLICE` values at a time."""
    for text in _dumps(data):
        yield (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
               .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


LIST_SLICE = 50_000


def _dumps(obj: Any) -> Iterator[str]:
    if isinstance(obj, pl.Series) and obj.dtype.is_integer():
        yield "[" + (obj.fill_null(-1).cast(pl.String).str.join(",").item() if obj.len() else "") + "]"
    elif isinstance(obj, pl.Series):
        yield "["
        for at in range(0, obj.len(), LIST_SLICE):
            text = json.dumps(obj.slice(at, LIST_SLICE).to_list(), ensure_ascii=False,
                              separators=(",", ":"))
            yield ("," if at else "") + text[1:-1]
        yield "]"
    elif isinstance(obj, dict):
        yield "{"
        for i, (k, v) in enumerate(obj.items()):
            yield ("," if i else "") + json.dumps(str(k)) + ":"
            yield from _dumps(v)
        yield "}"
    else:
        yield json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _counts(columns: list[pl.Series]) -> pl.DataFrame:
    """``v, n``: how often each non-null value of ``columns`` occurs."""
    if not columns:
        return pl.DataFrame(schema={"v": pl.String, "n": pl.UInt32})
    allv = pl.concat(columns).drop_nulls().alias("v")
    return allv.to_frame().group_by("v").len("n")


def _lookup(counts: list[pl.DataFrame]) -> pl.Series:
    """Lookup table of the values counted (in parts, see :func:`_counts`), most frequent
    first (so the common values get the shortest indices)."""
    counts = [c for c in counts if c.height]
    if not counts:
        return pl.Series([], dtype=pl.String)
    total = pl.concat(counts).group_by("v").agg(pl.col("n").sum())
    return total.sort(["n", "v"], descending=[True, False])["v"]


def _codes(s: pl.Series, table: pl.Series) -> pl.Series:
    """Index of each value in ``table`` (-1 for null), by a hash join."""
    lut = pl.DataFrame({"v": table.cast(s.dtype)}).with_row_index("i")
    out = s.alias("v").to_frame().join(lut, on="v", how="left", maintain_order="left")["i"]
    return out.cast(pl.Int32).fill_null(-1)


def _envelope_findings(result: Result) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The codes of the findings on each transaction set (``st_key, _st``) and file
    (``file_id, _fi``)."""
    loose = result.finding_keys(["rule", "file_id", "st_key", "claim_key"]).filter(
        pl.col("claim_key").is_null())
    rules = pl.col("rule").unique().sort()
    return (loose.filter(pl.col("st_key").is_not_null()).group_by("st_key").agg(_st=rules),
            loose.filter(pl.col("st_key").is_null()).group_by("file_id").agg(_fi=rules))


def _envelope_rules(envelope: tuple[pl.DataFrame, pl.DataFrame],
                    claims: pl.DataFrame) -> pl.DataFrame:
    """Per (st_key, file_id) of ``claims``: the codes of findings on the claims' transaction
    set or file (they reject or flag the claim too; ``envelope``: see
    :func:`_envelope_findings`), e.g. ``ENV101, ENV131``; else null."""
    by_st, by_file = envelope
    empty = pl.lit([], pl.List(pl.String))
    pairs = (claims.select("st_key", "file_id").unique()
             .join(by_st, on="st_key", how="left", maintain_order="left")
             .join(by_file, on="file_id", how="left", maintain_order="left"))
    env = (pl.concat_list(pl.col("_st").fill_null(empty), pl.col("_fi").fill_null(empty))
           .list.unique().list.sort().list.join(", "))
    return pairs.select("st_key", "file_id", _env=pl.when(env == "").then(None).otherwise(env))


CLAIMS_SLICE = 20_000  # claims of the page built at a time


def _claims_payload(result: Result, keys: pl.Series, show_phi: bool,
                    file_ids: pl.Series) -> dict[str, Any]:
    """Columnar claim panel data for the claims in ``keys`` (in that order), with the
    columns and descriptions of the plugins' panels (see :func:`_panel_columns`). Built
    :data:`CLAIMS_SLICE` claims at a time, twice: for the lookup table, then coded (the
    page's columns of 100k claims at once took ~2.4 KB a claim)."""
    panels = _panels(result)
    schema = result.claim_schema()
    wanted = [col for col in CLAIM_PANEL_COLUMNS if col in schema]
    wanted += [p.column for p in panels if p.column not in wanted]
    envelope = _envelope_findings(result)

    def pages() -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
        for at in range(0, max(keys.len(), 1), CLAIMS_SLICE):  # (one empty page: no claims)
            yield _claim_page(result, keys.slice(at, CLAIMS_SLICE), wanted, panels, envelope,
                              show_phi, file_ids)

    # Repeated strings (payer, plan, provider, masked names, panel texts such as an appeal
    # address…) are stored once in ``CS``; those columns hold indices into it (-1 = null).
    counts, coded, described = [], [], []
    for out, described in pages():  # noqa: B007 (the panels' descriptions: any page's)
        coded = [n for n, t in out.schema.items() if t == pl.String and n != "id"]
        counts.append(_counts([out[n] for n in coded]))
    table = _lookup(counts)
    del counts
    cols = [{n: (_codes(out[n], table) if n in coded else out[n]) for n in out.columns}
            for out, _ in pages()]
    payload = {n: pl.concat([c[n] for c in cols]) for n in cols[0]}
    return {"cols": payload, "CS": table, "coded": coded, "panels": described}


def _claim_page(result: Result, keys: pl.Series, wanted: list[str], panels: list[Panel],
                envelope: tuple[pl.DataFrame, pl.DataFrame], show_phi: bool,
                file_ids: pl.Series) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """The page's columns of the claims ``keys`` (PHI masked unless ``show_phi``) and the
    panels' descriptions."""
    c = result.claim_frame(wanted, keys)
    subscriber_is_patient = pl.col("patient_is_subscriber").fill_null(False) | (
        pl.col("patient_last").is_null() & pl.col("patient_first").is_null())
    patient = phi.person_expr("patient_last", "patient_first", show_phi)
    subscriber = phi.person_expr("subscriber_last", "subscriber_first", show_phi)
    birth = pl.when(subscriber_is_patient).then(phi.birth_expr("subscriber_birth", show_phi)) \
        .otherwise(phi.birth_expr("patient_birth", show_phi))
    state = pl.coalesce("facility_state", "billing_state")
    c = c.join(_envelope_rules(envelope, c), on=["st_key", "file_id"], how="left",
               maintain_order="left", nulls_equal=True)
    out = c.select(
        id=pl.col("claim_id"),
        file=pl.col("file_id").replace_strict(file_ids, pl.Series(range(file_ids.len())),
                                              default=-1, return_dtype=pl.Int32),
        type=pl.col("transaction_type"),
        seg=pl.col("segment_index").cast(pl.Int64),
        charge=pl.col("total_charge"),
        status=pl.col("status"),
        env=pl.col("_env"),
        patient=pl.when(subscriber_is_patient).then(subscriber).otherwise(patient),
        subscriber=subscriber,
        member=phi.member_id_expr("member_id", show_phi),
        birth=birth,
        payer=pl.col("payer_name"),
        payer_id=pl.col("payer_id"),
        plan=pl.col("plan_name"),
        filing=pl.col("claim_filing"),
        billing=pl.col("billing_name"),
        npi=pl.col("billing_npi"),
        state=state,
        dates=pl.when(pl.col("service_date_from") == pl.col("service_date_to"))
        .then(pl.col("service_date_from").dt.to_string("%Y-%m-%d"))
        .otherwise(pl.concat_str([pl.col("service_date_from").dt.to_string("%Y-%m-%d"),
                                  pl.col("service_date_to").dt.to_string("%Y-%m-%d")],
                                 separator=" – ")),
    )
    described = []
    for panel in panels:
        cols, desc = _panel_columns(panel, c, result)
        out = out.with_columns(cols)
        described.append(desc)
    return out, described


def _panels(result: Result) -> list[Panel]:
    """The registered panels whose struct column the run's claims carry."""
    registry: Registry = result.registry or discover()
    return [p for col, p in registry.panels.items()
            if isinstance(result.claim_schema().get(col), pl.Struct)]


def _as_text(s: pl.Series) -> pl.Series:
    """A panel field as display text: yes/no, lists joined by ", ", structs as JSON."""
    if s.dtype == pl.Boolean:
        return pl.select(pl.when(s).then(pl.lit("yes")).when(s.not_()).then(pl.lit("no"))
                         .otherwise(pl.lit(None, pl.String)).alias(s.name)).to_series()
    if isinstance(s.dtype, pl.Struct):
        return s.struct.json_encode()
    if isinstance(s.dtype, pl.List | pl.Array):
        return s.cast(pl.List(pl.String)).list.join(", ")
    return s.cast(pl.String)


def _panel_columns(panel: Panel, c: pl.DataFrame,
                   result: Result) -> tuple[list[pl.Series], dict[str, Any]]:
    """The page columns of ``panel`` for the claims of ``c`` (named ``<column>.<field>``:
    the flag as a boolean, the other fields as display text) and its description."""
    struct = pl.col(panel.column)
    types = {f.name: f.dtype for f in c.schema[panel.column].fields}
    extras = {k: v for k, v in (panel.extras(result.ruleset) if panel.extras else {}).items()
              if v is not None}
    names = ([n for n in panel.labels if n in types or n in extras]
             + [n for n in types if n not in panel.labels]
             + [n for n in extras if n not in panel.labels and n not in types])
    names = [n for n in names if n != panel.flag]
    overrides = dict(panel.display(struct)) if panel.display else {}
    present = [n for n in names if n in types]
    exprs = [overrides.get(n, struct.struct.field(n)).alias(f"{panel.column}.{n}") for n in present]
    cols = [_as_text(s) for s in c.select(exprs).iter_columns()] if exprs else []
    flag = None
    if _has_flag(panel, result.claim_schema()):
        flag = f"{panel.column}.{panel.flag}"
        cols.insert(0, c.select(struct.struct.field(panel.flag).alias(flag)).to_series())
    fields = [{"name": n, "label": panel.labels.get(n, n.replace("_", " ")),
               "col": f"{panel.column}.{n}" if n in types else None} for n in names]
    return cols, {"title": panel.title, "fields": fields, "flag": flag,
                  "absent": list(panel.absent) if panel.absent else None, "extras": extras}


def _has_flag(panel: Panel, schema: dict[str, pl.DataType]) -> bool:
    """Whether ``panel``'s struct column carries its boolean flag field."""
    fields = {f.name: f.dtype for f in schema[panel.column].fields}  # type: ignore[attr-defined]
    return panel.flag is not None and fields.get(panel.flag) == pl.Boolean


def _flagged(result: Result) -> pl.Series:
    """Keys of the claims a panel's flag marks (the page shows them even without findings)."""
    schema = result.claim_schema()
    keys = [result.claim_frame(["claim_key", p.column],
                               where=pl.col(p.column).struct.field(p.flag).fill_null(False)
                               )["claim_key"]
            for p in _panels(result) if _has_flag(p, schema)]
    return pl.concat(keys) if keys else result.claims["claim_key"].head(0)


# Findings the page's data are built from at a time (a run in units reads them from disk:
# the view of every finding at once took ~1 KB a finding).
FINDINGS_SLICE = 20_000
_STRING_COLUMNS = ("message", "expected", "found", "element", "segment_id")


def report_data(result: Result, show_phi: bool = False) -> dict[str, Any]:
    """Everything the page's script renders, as compact columnar arrays with lookup tables.
    The findings are read twice, a slice at a time: for the lookup tables, then coded."""
    registry = _rules(result)
    rules, claimed, strings, texts = [], [], [], []
    for f in findings_view_slices(result, FINDINGS_SLICE, show_phi):
        rules.append(f["rule"].unique())
        claimed.append(f["claim_key"].drop_nulls())
        strings.append(_counts([f[c] for c in _STRING_COLUMNS]))
        texts.append(_counts([f["segment_text"]]))  # (PHI masked unless show_phi)
    files = result.batch.files.sort("file_id")
    file_ids = files["file_id"]
    rule_codes = pl.concat(rules).unique().sort()
    # Claims the page can show: those with findings, plus every claim a panel flags.
    keys = pl.concat([*claimed, _flagged(result)]).unique(maintain_order=True)
    claim_rows = result.claim_frame(["claim_key", "file_id", "segment_index"], keys=keys).filter(
        pl.col("file_id").is_not_null()).sort("file_id", "segment_index")
    keys = claim_rows["claim_key"]
    string_table, text_table = _lookup(strings), _lookup(texts)
    del rules, claimed, strings, texts
    coded = [_coded(f, rule_codes, file_ids, keys, string_table, text_table)
             for f in findings_view_slices(result, FINDINGS_SLICE, show_phi)]
    return {
        "v": 1,
        "phi": show_phi,
        "sev": list(SEVERITIES),
        "rules": {
            "code": rule_codes.to_list(),
            "title": [registry[r].title if r in registry else r for r in rule_codes],
        },
        "files": files["path"].to_list(),
        "S": string_table,
        "T": text_table,
        "f": {k: pl.concat([c[k] for c in coded]) for k in coded[0]},
        "c": _claims_payload(result, keys, show_phi, file_ids),
    }


def _coded(f: pl.DataFrame, rules: pl.Series, file_ids: pl.Series, keys: pl.Series,
           strings: pl.Series, texts: pl.Series) -> dict[str, pl.Series]:
    """The page's columns of findings ``f``: indices into the lookup tables."""
    sev_idx = pl.Series(range(len(SEVERITIES)), dtype=pl.Int32)
    return {
        "sev": f["severity"].replace_strict(pl.Series(SEVERITIES), sev_idx, default=2,
                                            return_dtype=pl.Int32),
        "rule": _codes(f["rule"], rules),
        "file": _codes(f["file_id"], file_ids),
        "claim": _codes(f["claim_key"], keys),
        "seg": f["segment_index"].cast(pl.Int64).fill_null(-1),
        "sid": _codes(f["segment_id"], strings),
        "el": _codes(f["element"], strings),
        "msg": _codes(f["message"], strings),
        "exp": _codes(f["expected"], strings),
        "fnd": _codes(f["found"], strings),
        # Where: the line, or the byte offset in a file without line breaks (-1: none).
        "line": f["line"].fill_null(-1),
        "off": f.select(pl.when(pl.col("line").is_null()).then(pl.col("offset"))
                        .fill_null(-1)).to_series(),
        "txt": _codes(f["segment_text"], texts),
    }


# -- server-rendered parts ----------------------------------------------------------------

def _doc_html(text: str) -> Markup:
    """Markdown-lite for rule docs: paragraphs, ``- `` lists, fenced blocks, `inline code`."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.startswith("```"):
            body = "\n".join(block.splitlines()[1:]).rstrip("`").rstrip()
            out.append(f"<pre>{escape(body)}</pre>")
            continue
        lines = block.splitlines()
        if all(line.lstrip().startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line.lstrip()[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(x.strip() for x in lines))}</p>")
    return Markup("".join(out))


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))


def _bar_chart(items: list[dict[str, Any]], attr: str) -> Markup:
    """Horizontal SVG bar chart; each item: label, title, n, sev (css class), key."""
    if not items:
        return Markup('<p class="muted">No findings.</p>')
    bar_h, gap, label_w, width = 20, 6, 190, 560
    top = max(i["n"] for i in items if i.get("key") is not None)
    height = len(items) * (bar_h + gap)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'preserveAspectRatio="xMinYMin meet" width="100%">']
    for k, it in enumerate(items):
        y = k * (bar_h + gap)
        w = max(2.0, (width - label_w - 70) * min(1.0, it["n"] / top))  # "more" bar capped
        key = f' data-{attr}="{escape(it["key"])}"' if it.get("key") is not None else ""
        parts.append(
            f'<g class="bar {escape(it["sev"])}"{key} tabindex="0"><title>{escape(it["title"])}'
            f'</title><text x="{label_w - 8}" y="{y + 14}" text-anchor="end">'
            f'{escape(it["label"])}</text><rect x="{label_w}" y="{y}" width="{w:.1f}" '
            f'height="{bar_h}" rx="3"></rect><text class="n" x="{label_w + w + 6:.1f}" '
            f'y="{y + 14}">{it["n"]:,}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(path: str, n: int = 28) -> str:
    name = re.split(r"[\\/]", path)[-1]
    return name if len(name) <= n else name[: n - 1] + "…"


def _more(rest: pl.DataFrame, noun: str) -> dict[str, Any]:
    label = f"{rest.height} more {noun}{'s' if rest.height > 1 else ''}"
    return {"label": label, "title": label, "n": int(rest["n"].sum()), "sev": "other", "key": None}


def _charts(result: Result) -> tuple[Markup, Markup]:
    f = result.finding_keys(["rule", "severity", "file_id"])
    rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=2,
                                             return_dtype=pl.Int8)
    by_rule = f.group_by("rule").agg(n=pl.len(), s=rank.min()).sort(["n", "rule"],
                                                                    descending=[True, False])
    registry = _rules(result)
    rules = [{"label": r, "title": f"{r}: {registry[r].title if r in registry else r} ({n:,})",
              "n": n, "sev": SEVERITIES[s], "key": r}
             for r, n, s in by_rule.head(CHART_BARS).iter_rows()]
    rest = by_rule.slice(CHART_BARS)
    if rest.height:
        rules.append(_more(rest, "rule"))
    paths = result.batch.files.select("file_id", "path")
    by_file = (f.group_by("file_id").agg(n=pl.len(), s=rank.min()).join(paths, on="file_id")
               .sort(["n", "file_id"], descending=[True, False]))
    files = [{"label": _short(p), "title": f"{p} ({n:,})", "n": n, "sev": SEVERITIES[s],
              "key": str(fid)} for fid, n, s, p in by_file.head(CHART_BARS).iter_rows()]
    rest = by_file.slice(CHART_BARS)
    if rest.height:
        files.append(_more(rest, "file"))
    return _bar_chart(rules, "rule"), _bar_chart(files, "file")


def _claims_hit(result: Result) -> pl.DataFrame:
    """Per rule: the number of claims it rejects or flags. A finding inside a claim counts
    that claim; one on a transaction set or file counts every claim inside it."""
    f = result.finding_keys(["rule", "file_id", "st_key", "claim_key"])
    c = result.claims.select("claim_key", "st_key", "file_id")
    own = f.filter(pl.col("claim_key").is_not_null()).select("rule", "claim_key")
    loose = f.filter(pl.col("claim_key").is_null())
    txn = (loose.filter(pl.col("st_key").is_not_null()).select("rule", "st_key").unique()
           .join(c, on="st_key").select("rule", "claim_key"))
    fil = (loose.filter(pl.col("st_key").is_null()).select("rule", "file_id").unique()
           .join(c, on="file_id").select("rule", "claim_key"))
    return pl.concat([own, txn, fil]).group_by("rule").agg(claims=pl.col("claim_key").n_unique())


def _fix_first(result: Result) -> list[dict[str, Any]]:
    """Rules ordered by what blocks the most claims: errors first, then claims affected."""
    f = result.finding_keys(["rule", "severity", "file_id"])
    if not f.height:
        return []
    rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=2,
                                             return_dtype=pl.Int8)
    agg = (f.group_by("rule").agg(sev=rank.min(), n=pl.len(), files=pl.col("file_id").n_unique())
           .join(_claims_hit(result), on="rule", how="left", maintain_order="left")
           .with_columns(pl.col("claims").fill_null(0)))
    agg = agg.sort(["sev", "claims", "n", "rule"], descending=[False, True, True, False])
    out = []
    for code, sev, n, claims, nfiles in agg.select("rule", "sev", "n", "claims", "files").iter_rows():
        r = _rules(result).get(code)
        fix = r.section("How to fix", result.ruleset).split("\n\n")[0] if r else ""
        out.append({"code": code, "title": r.title if r else code, "severity": SEVERITIES[sev],
                    "n": n, "claims": claims, "files": nfiles,
                    "fix": _doc_html(fix) if fix else Markup("")})
    return out


def _glossary(result: Result) -> list[dict[str, Any]]:
    out = []
    # The severities this run gave each rule (a ruleset may override the default).
    used = dict(result.finding_keys(["rule", "severity"]).group_by("rule").agg(
        pl.col("severity").unique()).iter_rows())
    for code in sorted(used):
        r = _rules(result).get(code)
        if r is None:
            out.append({"code": code, "title": code, "severity": "", "snip": "", "family": "",
                        "sections": []})
            continue
        sections = [(label, _doc_html(text)) for label, head in (
            ("What it checks", "What it does"), ("Why it matters", "Why is this bad"),
            ("Example", "Example"), ("How to fix", "How to fix"))
            if (text := r.section(head, result.ruleset))]
        sev = used[code]
        out.append({"code": code, "title": r.title,
                    "severity": sev[0] if len(sev) == 1 else r.severity, "snip": r.snip_level,
                    "family": r.family, "sections": sections})
    return out


def _rules(result: Result) -> dict[str, Rule]:
    """The run's rules (those of this installation for a result made by hand)."""
    return (result.registry or discover()).rules


def _when(epoch: float) -> tuple[str, str]:
    local = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))
    return local, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def render(result: Result, show_phi: bool = False) -> str:
    """The whole report as one HTML string."""
    s = summary(result)
    files = files_view(result)
    counts = result.finding_keys(["file_id", "severity"]).group_by("file_id").agg(
        errors=(pl.col("severity") == "error").sum(), warnings=(pl.col("severity") == "warning").sum())
    files = files.join(counts, on="file_id", how="left", maintain_order="left").with_columns(
        pl.col("errors", "warnings").fill_null(0))
    by_rule, by_file = _charts(result)
    script = _asset("report.js")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    local, utc = _when(result.started)
    rate = (s["claims"] - s["claims_with_errors"]) / s["claims"] * 100 if s["claims"] else None
    return _env().get_template("report.html.j2").render(
        title=f"Claims validation report — {local}",
        tool_version=__version__,
        code_sets=codesets.summary_line(),
        ruleset=result.ruleset,
        inputs=result.inputs or files["path"].to_list(),
        started_local=local, started_utc=utc, elapsed=result.elapsed,
        show_phi=show_phi,
        s=s, pass_rate=rate,
        claims_passed=s["claims"] - s["claims_with_errors"] - s["claims_with_warnings"],
        unreadable=files.filter(pl.col("status") == "unreadable").to_dicts(),
        files=files.to_dicts(), files_total=files.height,
        chart_rules=by_rule, chart_files=by_file,
        fix_first=_fix_first(result),
        glossary=_glossary(result),
        css=Markup(_asset("report.css")),
        script=Markup(script), script_hash=script_hash,
        **_data_block(script_json_chunks(report_data(result, show_phi))),
    )


def _data_block(chunks: Iterable[str]) -> dict[str, Any]:
    """Template variables of the data block: plain JSON, or deflate+base64 when longer
    than :data:`COMPRESS_ABOVE` characters (compressed as the pieces come)."""
    pieces, size = iter(chunks), 0
    head: list[str] = []
    for text in pieces:
        head.append(text)
        size += len(text)
        if size > COMPRESS_ABOVE:
            break
    else:
        return {"data": Markup("".join(head)), "data_type": "application/json",
                "data_encoding": None}
    deflate = zlib.compressobj(3)
    packed = [deflate.compress(text.encode("utf-8")) for text in head]
    del head
    packed += [deflate.compress(text.encode("utf-8")) for text in pieces]
    packed.append(deflate.flush())
    return {"data": Markup(base64.b64encode(b"".join(packed)).decode("ascii")),
            "data_type": "application/octet-stream", "data_encoding": "deflate-base64"}

"""The package's imports run one way, the engine knows no payer, and plugins are explicit."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import REPO, SAMPLES, load_ruleset

from validator.engine import Selection, check
from validator.rules.api import RunOptions
from validator.rules.builtin import plugin as core_plugin
from validator.rules.plugin import Plugin
from validator.rules.registry import build, discover
from validator.ruleset.load import load
from validator.ruleset.model import RulesetError

PACKAGES = ("validator", "validator_kp")
PLUGIN = "validator_kp"
# Layers, lowest first: a module may import its own layer and those before it only.
LAYERS = [
    ("validator.errors", "validator.severity", "validator.data"),
    ("validator.x12",),
    ("validator.model",),
    ("validator.ruleset",),
    ("validator.rules",),
    ("validator.engine",),
    ("validator.output",),
    ("validator.tools",),
    ("validator.cli", "validator.__main__"),
]


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _graph() -> dict[str, set[str]]:
    """module -> modules it imports (anywhere in its body), resolved like Python does."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([base] if base else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _layer(mod: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if any(mod == n or mod.startswith(n + ".") for n in names):
            return i
    return None


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_outside_the_plugin_imports_it():
    graph = _graph()
    # The scan sees imports of the plugin's modules (its own): no leak below means none.
    assert any(t.startswith(PLUGIN) for m, ts in graph.items() if m.startswith(PLUGIN) for t in ts)
    leaks = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts
                   if t.startswith(PLUGIN) and not m.startswith(PLUGIN))
    assert leaks == []


def test_imports_run_one_way():
    """bytes -> segments -> tables -> ruleset -> rules -> engine -> outputs -> tools -> CLI."""
    graph = _graph()
    upward = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts
                    if _layer(m) is not None and _layer(t) is not None and _layer(t) > _layer(m))
    assert upward == []
    unplaced = [m for m in graph if m.startswith("validator.") and _layer(m) is None]
    assert unplaced == []


def test_generic_code_names_no_payer():
    pattern = ("kaiser", "cigna", "62308", "94320", "validator_kp")
    hits = []
    for mod, path in _modules().items():
        text = path.read_text(encoding="utf-8").lower()
        hits += [f"{mod}: {w}" for w in pattern if w in text]
    for asset in (REPO / "validator" / "templates").iterdir():
        text = asset.read_text(encoding="utf-8").lower()
        hits += [f"{asset.name}: {w}" for w in pattern if w in text]
    assert [h for h in hits if not h.startswith(PLUGIN)] == []
    assert f"{PLUGIN}.rules: kaiser" in hits  # the search finds them where they belong


def test_rule_modules_register_nothing_on_import():
    # Importing every rule module again leaves the registry as discover() built it.
    before = list(discover().rules)
    import importlib

    for name in core_plugin().modules:
        importlib.reload(importlib.import_module(name))
    assert list(discover().rules) == before
    assert list(build([core_plugin()]).rules) == [c for c in before if not c.startswith("KP")]


def test_kp_comes_from_its_plugin():
    reg = discover()
    assert "kp" in reg.plugins and reg.default_ruleset == "kp-cigna"
    assert {r.code for r in reg.rules.values() if r.family == "kp"} == {
        c for c in reg.rules if c.startswith("KP")}
    assert [o.flag for o in reg.options] == ["--members"]
    assert "kp" in reg.sections and "kp" in reg.panels
    core = build([core_plugin()])
    assert not any(c.startswith("KP") for c in core.rules) and not core.annotators


def test_a_third_party_plugin_adds_a_rule(tmp_path, monkeypatch):
    # A payer plugin written the way KP's is: its rule runs, its finding reaches the result.
    (tmp_path / "acme_rules.py").write_text(textwrap.dedent('''
        import polars as pl
        from validator.rules.api import emit, rule

        @rule("ACME1", "Claim charge over 1000", severity="warning", snip=7, family="acme")
        def big_charge(ctx):
            """## What it does\\nFlags charges over 1000."""
            big = ctx.claims.filter(pl.col("total_charge").cast(pl.Float64) > 1000)
            return emit(big, segment_id="CLM", element="CLM02", found=pl.col("total_charge"),
                        message=pl.format("charge {} over 1000", "total_charge"))
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = build([core_plugin(), Plugin("acme", modules=("acme_rules",))])
    rs = load_ruleset()
    with pytest.raises(RulesetError, match="kp"):  # without the KP plugin [kp] is unknown
        load(rs.path, reg)
    result = check([SAMPLES / "clean-837i.edi"], rs, Selection(select=["ACME"]), RunOptions(),
                   registry=reg)
    assert set(result.findings["rule"]) == {"ACME1"}
    assert result.findings["message"][0].startswith("charge ")
    sys.modules.pop("acme_rules", None)


def test_undeclared_segment_read_fails_the_rule(tmp_path, monkeypatch):
    (tmp_path / "sneaky_rules.py").write_text(textwrap.dedent('''
        from validator.rules.api import rule

        @rule("SNK1", "Reads HI without saying so", severity="error", snip=4, family="x")
        def sneaky(ctx):
            """## What it does\\nNothing."""
            return ctx.segs("HI").head(0)
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = build([core_plugin(), Plugin("sneaky", modules=("sneaky_rules",))])
    rs = load_ruleset()
    result = check([SAMPLES / "clean-837p.edi"], rs, Selection(select=["SNK", "INT"]), RunOptions(),
                   registry=reg)
    assert result.failed == ["SNK1"]
    assert "reads HI without declaring it" in result.findings["message"][0]
    sys.modules.pop("sneaky_rules", None)


def test_readme_worked_example_runs(tmp_path, monkeypatch):
    # The README's "Adding a rule" example, as written, is a working rule (under 40 lines).
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Adding a rule"):]
    code = section[section.index("```python\n") + 10:section.index("\n```", section.index("```python"))]
    assert len(code.splitlines()) < 40
    (tmp_path / "readme_rule.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = build([core_plugin(), Plugin("readme", modules=("readme_rule",))])
    big = SAMPLES.parent / "sample_edi" / "clean-837p.edi"
    edited = tmp_path / "big.edi"
    original = big.read_text()
    clm = next(seg for seg in original.split("~") if seg.strip().startswith("CLM*"))
    parts = clm.split("*")
    edited.write_text(original.replace(clm, "*".join([parts[0], parts[1], "250000", *parts[3:]])))
    result = check([edited], load_ruleset(), Selection(select=["BAL305"]), RunOptions(),
                   registry=reg)
    assert result.findings["rule"].to_list() == ["BAL305"]
    assert result.findings["message"][0] == "total charge 250000 is above 100000"
    assert reg.rules["BAL305"].summary() == "Flags claims whose total charge (CLM02) is above $100,000."
    sys.modules.pop("readme_rule", None)

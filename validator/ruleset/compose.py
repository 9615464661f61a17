"""Rulesets that extend each other: read the ``extends`` chain, check each file, merge.

``[ruleset] extends = "payer-base"`` names a parent: a ruleset name (a ``<name>.toml`` beside
the file, else a shipped ruleset) or a path relative to the file. Merging, parent first:

* tables merge key by key, recursively; a child's scalar or list replaces the parent's;
* ``extra_<key> = [...]`` appends to the parent's list ``<key>`` (for every list in the
  schema, e.g. ``[kp.identify] extra_patterns``, ``[rules] extra_ignore``);
* the ``[ruleset]`` header is not inherited: name (default: the file's stem), version and
  description are the child's own.

Every file of the chain is checked against the schema on its own (all problems, with
their line); the merged result is then checked for required keys. Cycles and missing
parents are problems at ``ruleset.extends``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import (
    EXTRA_PREFIX,
    Catalog,
    ListOf,
    Problem,
    Table,
    field_at,
    format_path,
    missing_only,
    suggest,
    validate,
)
from .toml import TomlIndex, syntax_position

Path_ = tuple[str | int, ...]


@dataclass
class Layer:
    """One file of an ``extends`` chain."""

    path: Path
    data: dict[str, Any]
    index: TomlIndex

    @property
    def extends(self) -> str | None:
        head = self.data.get("ruleset")
        ref = head.get("extends") if isinstance(head, dict) else None
        return ref if isinstance(ref, str) and ref.strip() else None

    def problem(self, p: Problem) -> Problem:
        return p.at(str(self.path), self.index.locate(p.path)[1])


@dataclass
class Composed:
    path: Path
    data: dict[str, Any]  # the effective ruleset (no ``extends``)
    layers: list[Layer] = field(default_factory=list)  # the file first, then its parents
    problems: list[Problem] = field(default_factory=list)

    @property
    def parents(self) -> list[str]:
        return [str(layer.path) for layer in self.layers[1:]]


def read_layer(path: Path) -> tuple[Layer | None, list[Problem]]:
    """Parse one file; syntax errors (and keys defined twice) become problems with lines."""
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, [Problem((), f"cannot read: {exc.strerror or exc}", kind="syntax", file=where)]
    except UnicodeDecodeError:
        return None, [Problem((), "not UTF-8 text", kind="syntax", file=where)]
    index = TomlIndex(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if index.duplicates:
            return None, [Problem(p, f"defined twice (first on line {first})", kind="duplicate",
                                  file=where, line=line) for p, first, line in index.duplicates]
        msg, line = syntax_position(str(exc))
        return None, [Problem((), f"invalid TOML: {msg}", kind="syntax", file=where, line=line)]
    return Layer(path, data, index), []


def _dirs(catalog: Catalog | None) -> list[Path]:
    return [Path(d) for d in catalog.ruleset_dirs] if catalog is not None else []


def resolve_parent(ref: str, child: Path, catalog: Catalog | None = None) -> Path | None:
    """The file ``extends = ref`` names, seen from ``child`` (None when there is none): a
    path, a ruleset beside ``child``, else one the catalog's plugins ship."""
    p = Path(ref)
    if p.suffix == ".toml" or "/" in ref or "\\" in ref:
        q = p if p.is_absolute() else child.parent / p
        return q if q.is_file() else None
    for q in [child.parent / f"{ref}.toml", *(d / f"{ref}.toml" for d in _dirs(catalog))]:
        if q.is_file():
            return q
    return None


def _known_names(child: Path, catalog: Catalog | None) -> list[str]:
    names = {q.stem for d in (child.parent, *_dirs(catalog)) for q in d.glob("*.toml")}
    names.discard(child.stem)
    return sorted(names)


def compose(path: Path, catalog: Catalog | None = None) -> Composed:
    """Read ``path`` and its parents, check each, merge; problems are collected, not raised."""
    out = Composed(path, {})
    cur = path
    while True:
        layer, problems = read_layer(cur)
        out.problems += problems
        if layer is None:
            break
        out.layers.append(layer)
        ref = layer.extends
        out.problems += [layer.problem(p) for p in
                         validate(layer.data, catalog, partial=ref is not None,
                                  extends=ref is not None)]
        if ref is None:
            break
        parent = resolve_parent(ref, cur, catalog)
        if parent is None:
            names = _known_names(cur, catalog)
            out.problems.append(layer.problem(Problem(
                ("ruleset", "extends"), f"no ruleset {ref!r} to extend (known names: "
                f"{', '.join(names) or 'none'}; or give a path relative to this file)",
                suggest(ref, names), "extends")))
            break
        chain = [lay.path.resolve() for lay in out.layers]
        if parent.resolve() in chain:
            names = " -> ".join(str(lay.path) for lay in out.layers) + f" -> {parent}"
            out.problems.append(layer.problem(Problem(
                ("ruleset", "extends"), f"extends cycle: {names}", kind="extends")))
            break
        cur = parent
    if not out.layers:
        return out
    out.data = _merge_chain(out, catalog)
    if len(out.layers) > 1:
        for p in missing_only(out.data, catalog):
            out.problems.append(_locate_in_chain(out.layers, p))
    unique = {(p.file, p.line, p.key, p.message): p for p in out.problems}
    out.problems = list(unique.values())
    return out


def _locate_in_chain(layers: list[Layer], p: Problem) -> Problem:
    """Attribute a problem of the merged data to the nearest file holding the table the key
    is missing from (else the file that shows most of its path)."""
    for layer in layers:
        if _has(layer.data, p.path[:-1]):
            return layer.problem(p)
    best = max(layers, key=lambda layer: layer.index.locate(p.path)[0])
    return best.problem(p)


def _has(data: Any, path: Path_) -> bool:
    for part in path:
        in_list = isinstance(part, int) and isinstance(data, list) and part < len(data)
        in_table = isinstance(part, str) and isinstance(data, dict) and part in data
        if not (in_list or in_table):
            return False
        data = data[part]
    return True


def _merge_chain(out: Composed, catalog: Catalog | None) -> dict[str, Any]:
    layers = out.layers
    merged = {k: v for k, v in layers[-1].data.items()}
    for layer in reversed(layers[:-1]):
        merged = _merge(merged, layer.data, (), layer, out.problems, catalog)
    head = dict(layers[0].data.get("ruleset") or {}) if isinstance(
        layers[0].data.get("ruleset"), dict) else {}
    head.pop("extends", None)
    head.setdefault("name", out.path.stem)
    merged["ruleset"] = head
    return merged


def _merge(base: dict[str, Any], child: dict[str, Any], path: Path_, layer: Layer,
           problems: list[Problem], catalog: Catalog | None) -> dict[str, Any]:
    out = dict(base)
    spec = field_at(path, catalog)
    extras: list[tuple[str, str, Any]] = []
    for key, value in child.items():
        if path == () and key == "ruleset":
            continue
        target = key[len(EXTRA_PREFIX):] if key.startswith(EXTRA_PREFIX) else None
        if (target and isinstance(spec, Table) and key not in spec.fields
                and isinstance(getattr(spec.fields.get(target), "spec", None), ListOf)):
            extras.append((key, target, value))
        elif isinstance(value, dict) and isinstance(out.get(key, {}), dict):
            out[key] = _merge(out.get(key, {}), value, (*path, key), layer, problems, catalog)
        else:
            out[key] = value
    for key, target, value in extras:
        if not isinstance(value, list):
            continue  # reported by the schema check
        f = spec.fields[target]  # type: ignore[union-attr]
        current = out.get(target, f.default)
        current = list(current) if isinstance(current, list) else []
        lst = f.spec
        norm = lst.normalize or (lambda v: v)
        have = {_hashable(norm(v)) for v in current}
        for i, item in enumerate(value):
            k = _hashable(norm(item))
            if k in have:
                problems.append(layer.problem(Problem(
                    (*path, key, i), f"{item!r} is already in {format_path((*path, target))} "
                    "(inherited)", kind="duplicate")))
                continue
            have.add(k)
            current.append(item)
        out[target] = current
    return out


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)

"""The ruleset schema: one declarative description of every key a ruleset may hold.

The same schema serves the loader (``check --ruleset`` refuses a malformed ruleset, naming
the key) and ``claims-validator ruleset lint`` (which reports every problem, with its line).
A spec node checks one value and yields :class:`Problem` s; :func:`validate` walks a
whole ruleset. Rule families with their own section register it with
:func:`register_section`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from os import PathLike
from typing import Any, Protocol

from ..data import load_list
from ..severity import SEVERITIES

Path_ = tuple[str | int, ...]

# US state and territory codes (USPS), the same list the address rules use.
US_STATES: tuple[str, ...] = tuple(load_list("us_states.txt"))

# Lists a ruleset that extends another may append to with ``extra_<key>``.
EXTRA_PREFIX = "extra_"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a ruleset, at a key path (``kp.patterns[2]``)."""

    path: Path_
    message: str
    suggestion: str | None = None
    kind: str = "value"  # syntax, unknown-key, type, value, missing, duplicate, extends
    file: str | None = None
    line: int | None = None

    @property
    def key(self) -> str:
        return format_path(self.path)

    def at(self, file: str | None, line: int | None) -> Problem:
        return replace(self, file=file, line=line)

    def render(self) -> str:
        where = f"{self.file or '<ruleset>'}" + (f":{self.line}" if self.line else "")
        text = f"{where}: {self.key or '(file)'}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "kind": self.kind,
                "message": self.message, "suggestion": self.suggestion}


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{name}" if out else name
    return out


@dataclass
class Walk:
    """Settings of one validation pass."""

    registry: Mapping[str, Any] | None = None  # rule codes (None: not checked)
    partial: bool = False  # a layer of an ``extends`` chain: required keys may come from a parent
    extends: bool = False  # the file extends another: ``extra_<list>`` keys are allowed


def suggest(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    hit = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not hit:
        lower = {c.lower(): c for c in choices}
        hit = [lower[h] for h in difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.6)]
    return hit[0] if hit else None


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class Spec:
    """A value's expected shape; ``describe`` names it in messages."""

    describe = "a value"

    def check(self, value: Any, path: Path_, w: Walk) -> Iterator[Problem]:
        raise NotImplementedError

    def wrong_type(self, value: Any, path: Path_) -> Problem:
        return Problem(path, f"must be {self.describe}, not {type_name(value)} ({_short(value)})",
                       kind="type")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Str(Spec):
    pattern: str | None = None  # full-match format, e.g. r"\d{5}"
    hint: str = ""  # what the format is, for messages
    nonempty: bool = True

    @property
    def describe(self) -> str:  # type: ignore[override]
        return "a string"

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
        elif self.nonempty and not value.strip():
            yield Problem(path, "must not be empty")
        elif self.pattern and not re.fullmatch(self.pattern, value):
            yield Problem(path, f"{value!r} is not {self.hint or 'in the expected format'}")


@dataclass
class Int(Spec):
    minimum: int | None = None
    maximum: int | None = None
    describe = "an integer"

    def check(self, value, path, w):
        if isinstance(value, bool) or not isinstance(value, int):
            yield self.wrong_type(value, path)
        elif (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum):
            yield Problem(path, f"{value} is out of range {self.minimum}..{self.maximum}")


class Bool(Spec):
    describe = "true or false"

    def check(self, value, path, w):
        if not isinstance(value, bool):
            yield self.wrong_type(value, path)


class Date(Spec):
    """A TOML date (``2023-01-01``); a quoted ``"2023-01-01"`` is accepted too."""

    describe = "a date (YYYY-MM-DD)"

    def check(self, value, path, w):
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
            yield self.wrong_type(value, path)
        elif isinstance(value, str):
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                yield Problem(path, f"{value!r} is not a date (write YYYY-MM-DD)", kind="type")
            else:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    yield Problem(path, f"{value!r} is not a real date")


def to_date(value: Any) -> dt.date:
    """A validated :class:`Date` value as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


@dataclass
class Enum(Spec):
    name: str  # e.g. "product"
    choices: tuple[str, ...]

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"a {self.name} name"

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
        elif value not in self.choices:
            listed = "; expected one of " + ", ".join(self.choices) if len(self.choices) <= 12 else ""
            yield Problem(path, f"unknown {self.name} {value!r}{listed}",
                          suggest(value, self.choices), "value")


class Regex(Spec):
    describe = "a regular expression (string)"

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
            return
        if not value.strip():
            yield Problem(path, "must not be an empty pattern")
            return
        try:
            re.compile(value)
        except re.error as exc:
            yield Problem(path, f"malformed pattern {value!r}: {exc}")


class Keyword(Spec):
    """A literal word or phrase matched whole and case-insensitively (not a regex)."""

    describe = "a word or phrase (string)"
    _META = re.compile(r"[*?|()\[\]{}^$\\+]")

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
        elif not value.strip():
            yield Problem(path, "must not be an empty pattern")
        elif m := self._META.search(value):
            yield Problem(path, f"malformed pattern {value!r}: {m.group()!r} is not allowed; "
                                "patterns are literal words or phrases matched whole and "
                                "case-insensitively, not regular expressions or wildcards")
        elif not re.search(r"[A-Za-z0-9]", value):
            yield Problem(path, f"malformed pattern {value!r}: it has no letters or digits")


@dataclass
class RuleCode(Spec):
    """A rule code or code prefix (ruff style); ``exact`` for severity overrides."""

    exact: bool = False
    allow_all: bool = True
    describe = "a rule code (string)"

    def check(self, value, path, w):
        if not isinstance(value, str):
            yield self.wrong_type(value, path)
            return
        if w.registry is None or (self.allow_all and value == "ALL"):
            return
        if value == "ALL" and not self.exact:
            yield Problem(path, "'ALL' here would switch off every rule", None, "value")
            return
        codes = list(w.registry)
        if self.exact:
            if value not in w.registry:
                near = [c for c in codes if c.startswith(value)]
                msg = f"no rule {value!r}" + (
                    f"; severity overrides take full codes ({', '.join(sorted(near)[:4])}"
                    f"{', ...' if len(near) > 4 else ''})" if near else "")
                yield Problem(path, msg, None if near else suggest(value, codes), "value")
        elif not any(c.startswith(value) for c in codes):
            yield Problem(path, f"no rule code matches {value!r}", suggest(value, codes), "value")


@dataclass
class ListOf(Spec):
    item: Spec
    unique: bool = True
    min_items: int = 0
    # How two entries count as the same (e.g. case-insensitive names).
    normalize: Callable[[Any], Any] | None = None

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"a list of {_plural(self.item.describe)}"

    def check(self, value, path, w):
        if not isinstance(value, list):
            yield self.wrong_type(value, path)
            return
        if len(value) < self.min_items:
            yield Problem(path, f"needs at least {self.min_items} entr"
                                + ("y" if self.min_items == 1 else "ies"))
        seen: dict[Any, int] = {}
        for i, item in enumerate(value):
            yield from self.item.check(item, (*path, i), w)
            if self.unique:
                try:
                    k = self.normalize(item) if self.normalize else item
                    hash(k)
                except (TypeError, AttributeError):
                    continue
                if k in seen:
                    yield Problem((*path, i), f"duplicate entry {item!r} (already at "
                                              f"{format_path((*path, seen[k]))})", kind="duplicate")
                else:
                    seen[k] = i


def _plural(text: str) -> str:
    for article in ("a ", "an "):
        if text.startswith(article):
            text = text[len(article):]
            break
    # The noun is the last word before any parenthesis: "state name" -> "state names".
    head, paren, tail = text.partition(" (")
    *first, word = head.split(" ")
    word = word if word.endswith("s") else word + "s"
    return " ".join([*first, word]) + (paren + tail if paren else "")


@dataclass
class Field:
    spec: Spec
    required: bool = False
    doc: str = ""
    default: Any = None  # the value when absent (what ``extra_<key>`` appends to)


@dataclass
class Table(Spec):
    """A table with known keys; unknown keys are problems with a close-match suggestion."""

    fields: dict[str, Field]
    describe = "a table"
    key_name: str = "key"  # what a key names, for messages ("product", "region")
    # Checks across keys (e.g. from <= to); run only when the keys themselves are fine.
    extra_checks: tuple[Callable[[dict[str, Any], Path_], Iterable[Problem]], ...] = ()

    def check(self, value, path, w):
        if not isinstance(value, dict):
            yield self.wrong_type(value, path)
            return
        found: list[Problem] = []
        for key, item in value.items():
            f = self.fields.get(key)
            if f is not None:
                found.extend(f.spec.check(item, (*path, key), w))
                continue
            base = key[len(EXTRA_PREFIX):] if key.startswith(EXTRA_PREFIX) else None
            bf = self.fields.get(base) if base else None
            if bf is not None and isinstance(bf.spec, ListOf):
                if w.extends:
                    found.extend(bf.spec.check(item, (*path, key), w))
                else:
                    found.append(Problem((*path, key), f"{key} appends to a parent ruleset's "
                                         f"{base}, but this ruleset extends none; use {base}",
                                         kind="extends"))
                continue
            found.append(self.unknown(key, path, w))
        if not w.partial:
            for key, f in self.fields.items():
                if f.required and key not in value:
                    found.append(Problem((*path, key), f"required {self.key_name} {key!r} is missing"
                                         + (f" ({f.doc})" if f.doc else ""), kind="missing"))
        if not found:
            for extra in self.extra_checks:
                found.extend(extra(value, path))
        yield from found

    def unknown(self, key: str, path: Path_, w: Walk) -> Problem:
        names = list(self.fields)
        if w.extends:
            names += [EXTRA_PREFIX + k for k, f in self.fields.items() if isinstance(f.spec, ListOf)]
        where = f"in [{format_path(path)}]" if path else "at the top level"
        return Problem((*path, key), f"unknown {self.key_name} {key!r} {where}", suggest(key, names),
                       "unknown-key")


@dataclass
class MapOf(Spec):
    """A table whose keys are data (e.g. product names, rule codes)."""

    key: Spec
    value: Spec
    describe = "a table"

    def check(self, value, path, w):
        if not isinstance(value, dict):
            yield self.wrong_type(value, path)
            return
        for k, v in value.items():
            for p in self.key.check(k, (*path, k), w):
                yield replace(p, message=f"key {p.message}" if p.kind == "type" else p.message,
                              kind="unknown-key" if p.kind == "value" else p.kind)
            yield from self.value.check(v, (*path, k), w)


@dataclass
class AnyOf(Spec):
    """The first alternative whose type fits decides (e.g. a string or a list of strings)."""

    options: tuple[Spec, ...]
    accepts: tuple[type, ...]  # the Python type each option takes, in order

    @property
    def describe(self) -> str:  # type: ignore[override]
        return " or ".join(o.describe for o in self.options)

    def check(self, value, path, w):
        for spec, kind in zip(self.options, self.accepts, strict=True):
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                yield from spec.check(value, path, w)
                return
        yield self.wrong_type(value, path)


# -- the ruleset ---------------------------------------------------------------------------

RULESET_HEAD = Table({
    "name": Field(Str(r"[A-Za-z0-9][A-Za-z0-9._-]*", "a name (letters, digits, '.', '_', '-')"),
                  doc="the ruleset's name"),
    "version": Field(Str()),
    "description": Field(Str(nonempty=False)),
    "extends": Field(Str(), doc="a shipped ruleset name or a path relative to this file"),
})

RULES = Table({
    # An empty select or ignoring ALL would switch every rule off: a slip, never a setting.
    "select": Field(ListOf(RuleCode(), min_items=1),
                    doc="rule codes or prefixes to run (default ALL)", default=["ALL"]),
    "ignore": Field(ListOf(RuleCode(allow_all=False)), doc="rule codes or prefixes to skip"),
    "severity": Field(MapOf(RuleCode(exact=True, allow_all=False),
                            Enum("severity", SEVERITIES)),
                      doc='CODE = "error" | "warning" | "info"'),
})

# The sections every ruleset may have; plugins add theirs (their ``Section`` objects).
BASE_SECTIONS: dict[str, Field] = {
    "ruleset": Field(RULESET_HEAD),
    "rules": Field(RULES),
}


class Catalog(Protocol):
    """What the ruleset layer needs to know of the registry (validator.rules.registry):
    the rule codes, the plugins' sections and the folders of shipped rulesets."""

    rules: Mapping[str, Any]
    sections: Mapping[str, Any]  # name -> Section (spec, required, doc, check)
    ruleset_dirs: list[PathLike]


def schema(catalog: Catalog | None = None) -> Table:
    fields = dict(BASE_SECTIONS)
    for name, sec in (catalog.sections if catalog else {}).items():
        fields[name] = Field(sec.spec, sec.required, sec.doc)
    return Table(fields)


def validate(data: dict[str, Any], catalog: Catalog | None = None, *,
             partial: bool = False, extends: bool = False) -> list[Problem]:
    """Every problem of ``data`` against the ruleset schema (in document order); rule codes
    are checked against ``catalog.rules`` when a catalog is given."""
    codes = catalog.rules if catalog is not None else None
    return list(schema(catalog).check(data, (), Walk(codes, partial, extends)))


def missing_only(data: dict[str, Any], catalog: Catalog | None = None) -> list[Problem]:
    """Required keys absent from an effective (merged) ruleset."""
    return [p for p in schema(catalog).check(data, (), Walk(None, False, True))
            if p.kind == "missing"]


def field_at(path: Path_, catalog: Catalog | None = None) -> Spec | None:
    """The spec governing ``path`` (None when the path is outside the schema)."""
    spec: Spec | None = schema(catalog)
    for part in path:
        if isinstance(spec, Table) and isinstance(part, str):
            f = spec.fields.get(part)
            spec = f.spec if f else None
        elif isinstance(spec, MapOf):
            spec = spec.value
        elif isinstance(spec, ListOf) and isinstance(part, int):
            spec = spec.item
        else:
            return None
    return spec


__all__ = [
    "SEVERITIES",
    "US_STATES",
    "AnyOf",
    "Bool",
    "Catalog",
    "Date",
    "Enum",
    "Field",
    "Int",
    "Keyword",
    "ListOf",
    "MapOf",
    "Problem",
    "Regex",
    "RuleCode",
    "Spec",
    "Str",
    "Table",
    "format_path",
    "missing_only",
    "schema",
    "to_date",
    "validate",
]

"""What a rule is and what it sees: :class:`Rule`, the ``@rule`` decorator, :class:`Context`
(the batch's tables, the ruleset and the run's options) and :func:`emit`.

A rule is one small function with its code, severity, SNIP level and docs. Decorating it
creates a :class:`Rule` object and registers nothing: a :class:`~validator.rules.registry.Plugin`
lists the modules whose rules it provides, and :func:`~validator.rules.registry.discover`
collects them into a registry.

A rule's docstring is its documentation, written like ruff's: ``## What it does``,
``## Why is this bad?``, ``## Example``, ``## How to fix``. Facts that come from ruleset data
(payer IDs, addresses, dates) are written as Jinja2 expressions over the ruleset's sections
(``{{ kp.routes.insured.payer_id }}``) and filled in from the active ruleset.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import jinja2
import polars as pl
from jinja2 import meta as jinja2meta

from ..model.batch import Batch
from ..model.chunking import CHUNK_BYTES
from ..ruleset.model import Ruleset
from ..severity import SEVERITIES
from . import findings as F
from .earlier import EarlierClaims

CheckFn = Callable[["Context"], pl.DataFrame]
# A fix: the context (tables, ruleset, options) and this rule's findings in, the edits that
# resolve them out (see :mod:`validator.rules.edits`).
FixFn = Callable[["Context", pl.DataFrame], pl.DataFrame]
_SPLIT_KEY = "segs:"  # derived-cache names of segs() results: segs:ID,ID:supported
ANY_SEGMENT = "*"  # ``reads=("*",)``: the rule scans the whole segments table
ALL_TYPES = ("837P", "837I", "837D")


@dataclass(frozen=True)
class RunOptions:
    """The run's options, as the command line or a caller set them."""

    show_phi: bool = False  # unmask PHI in the HTML claim panels
    ig: bool = False  # implementation-guide validation (the CLI turns it on by default)
    ig_engine: str = "native"  # native (compiled guides, polars) or pyx12 (the reference)
    jobs: int = 0  # worker processes for IG validation (0 = one per core)
    chunk_bytes: int = CHUNK_BYTES  # read larger inputs a chunk at a time (0 = at once)
    executor: str = "local"  # local, or dask (work units on a Dask cluster)
    scheduler: str | None = None  # an existing Dask scheduler's address (else a local cluster)
    # Values of the options plugins add (e.g. ``members``), by option name.
    plugin: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # Claims earlier runs passed (``check --state``): DUP401/DUP402 compare with them too.
    earlier: EarlierClaims | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """A plugin option's value (``default`` when the run did not set it)."""
        return self.plugin.get(name, default)


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severity: str
    snip_level: int
    family: str
    check: CheckFn | None
    doc: str
    # Which transaction types the rule applies to; claim tables are pre-filtered to these.
    applies_to: tuple[str, ...] = ALL_TYPES
    # Sibling codes this check also raises (documented by their own ``declare``).
    raises: tuple[str, ...] = ()
    # Compares claims across files: runs once over the whole batch, also when the batch
    # is read in units (see validator.engine.units).
    batch: bool = False
    # Segment IDs the check reads through ``ctx.segs`` (the rest comes from the claims and
    # lines tables); reading another is an error, so the engine knows what to keep split.
    # ``"*"``: any ID, and the whole segments table.
    reads: tuple[str, ...] = ()
    # Safe fix (ruff style): ``fix(ctx, findings)`` gives, for this rule's findings that
    # have exactly one right answer, the segments to rewrite (``claims-validator fix``).
    fix: FixFn | None = None
    # A batch rule's claim keys: expressions over a claim's columns, each a key (a String;
    # null when the claim is not compared) or a Boolean (the claim is read). A run in units
    # gives such a rule only the claims that share a key with another claim of the batch or
    # whose Boolean is true, with their lines (the client does not hold every claim);
    # a batch rule without keys sees every claim. ``() -> []``: it reads no claim.
    batch_keys: Callable[[], Sequence[pl.Expr]] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.code}: bad severity {self.severity!r}")
        if not 1 <= self.snip_level <= 7:
            raise ValueError(f"rule {self.code}: SNIP level must be 1-7")

    def __call__(self, ctx: Context) -> pl.DataFrame:
        if self.check is None:
            raise TypeError(f"rule {self.code} is raised elsewhere; it has no check")
        return self.check(ctx)

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.code, *self.raises)

    @property
    def fixable(self) -> bool:
        """Whether ``claims-validator fix`` can correct (some of) this rule's findings."""
        return self.fix is not None

    def render(self, ruleset: Ruleset | None) -> str:
        """The docs with the ruleset's facts filled in; as written without a ruleset or when
        the ruleset lacks a section they quote (a key missing inside a section is an error)."""
        if ruleset is None or ("{{" not in self.doc and "{%" not in self.doc):
            return self.doc
        if not _quoted_sections(self.doc) <= set(ruleset.data):
            return self.doc
        return _DOCS.from_string(self.doc).render(ruleset.data)

    def section(self, heading: str, ruleset: Ruleset | None = None) -> str:
        """One ``## heading`` section of the docs (empty when absent)."""
        out: list[str] = []
        inside = False
        for line in self.render(ruleset).splitlines():
            if line.startswith("## "):
                inside = line[3:].strip().lower().startswith(heading.lower())
                continue
            if inside:
                out.append(line)
        return "\n".join(out).strip()

    def summary(self, ruleset: Ruleset | None = None) -> str:
        return self.section("What it does", ruleset).split("\n\n")[0].replace("\n", " ")


# Docs name ruleset facts as ``{{ section.key }}``; a fact the ruleset lacks is an error
# (a test renders every rule's docs against the shipped rulesets).
_DOCS = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                           keep_trailing_newline=True)


@functools.cache
def _quoted_sections(doc: str) -> frozenset[str]:
    """The ruleset sections (top-level names) a doc template quotes."""
    return frozenset(jinja2meta.find_undeclared_variables(_DOCS.parse(doc)))


def rule(code: str, title: str, *, severity: str, snip: int, family: str,
         applies_to: tuple[str, ...] = ALL_TYPES, raises: tuple[str, ...] = (),
         batch: bool = False, reads: tuple[str, ...] = (),
         fix: FixFn | None = None,
         batch_keys: Callable[[], Sequence[pl.Expr]] | None = None) -> Callable[[CheckFn], Rule]:
    """Decorator: make ``fn`` the check of rule ``code``; its docstring is the doc.

    A check may return findings for the sibling codes in ``raises`` (set in its ``rule``
    column); it runs when any of its codes is enabled. A ``batch`` rule compares claims
    across files and sees the whole batch even when it is read in chunks. ``fix`` makes
    the rule fixable (``claims-validator fix``): it gets the rule's findings and returns
    the edits (:func:`validator.rules.edits.edits`) for those with one right answer.
    ``batch_keys`` spare a run in units from gathering every claim for a batch rule (see
    :attr:`Rule.batch_keys`).
    """

    def wrap(fn: CheckFn) -> Rule:
        return Rule(code, title, severity, snip, family, fn, inspect.cleandoc(fn.__doc__ or ""),
                    applies_to, raises, batch, reads, fix, batch_keys)

    return wrap


def declare(code: str, title: str, *, severity: str, snip: int, family: str, doc: str,
            fix: FixFn | None = None) -> Rule:
    """A rule raised outside the rule pass (loader, IG validator, a sibling code of another
    rule's check): documented, selectable and, with ``fix``, fixable like any other."""
    return Rule(code, title, severity, snip, family, None, inspect.cleandoc(doc), fix=fix)


@dataclass(frozen=True)
class Annotator:
    """Adds one per-claim column (e.g. ``kp``) to the result: ``fn(ctx)`` returns a table of
    ``claim_key`` and that column. A struct column with a ``compact`` flag field is written
    in JSON as ``{flag: false}`` on the rows where the flag is false."""

    name: str
    column: str
    fn: Callable[[Context], pl.DataFrame]
    compact: str | None = None

    def __call__(self, ctx: Context) -> pl.DataFrame:
        return self.fn(ctx)


def annotator(column: str, *, compact: str | None = None,
              ) -> Callable[[Callable[[Context], pl.DataFrame]], Annotator]:
    """Decorator: ``fn`` annotates each claim with ``column``."""

    def wrap(fn: Callable[[Context], pl.DataFrame]) -> Annotator:
        return Annotator(fn.__name__, column, fn, compact)

    return wrap


@dataclass
class Context:
    batch: Batch
    ruleset: Ruleset
    options: RunOptions = field(default_factory=RunOptions)
    # Whether a rule code is enabled in this run (a check raising several codes may skip
    # costly work none of its enabled codes needs).
    enabled: Callable[[str], bool] = field(default=lambda code: True)
    # The segment IDs the running rule declared (None: not checked, e.g. helpers in tests).
    reads: tuple[str, ...] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, threading.RLock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def fresh(self) -> Context:
        """The same batch and settings with an empty cache of derived tables."""
        return replace(self, _cache={}, _locks={}, _locks_guard=threading.Lock())

    def forget_split(self, seg_ids: Collection[str]) -> None:
        """Drop the tables :meth:`segs` derived from the split rows of any of ``seg_ids``
        (no rule left reads them; one asked for again is derived again)."""
        gone = set(seg_ids)
        with self._locks_guard:
            for name in [n for n in self._cache if n.startswith(_SPLIT_KEY)
                         and gone & set(n.split(":")[1].split(","))]:
                self._cache.pop(name, None)

    def for_rule(self, r: Rule) -> Context:
        """The context a rule runs with: the same tables and cache, its own ``reads``."""
        return replace(self, reads=r.reads)

    def segs(self, *seg_ids: str, supported: bool = True, split: bool = True) -> pl.DataFrame:
        """The segments with these IDs, in document order: the one way rules read segments.

        ``split`` (the default) gives their keys and the ``el`` list column (no ``raw``);
        ``split=False`` gives the unsplit rows with every column of the segments table, and
        ``segs("*", split=False)`` the whole table (for a rule declaring ``reads=("*",)``).
        By default only segments of supported 5010 837 transaction sets; ``supported=False``
        gives every one (envelope checks). Split results are cached per signature.
        """
        if (self.reads is not None and ANY_SEGMENT not in self.reads
                and not set(seg_ids) <= set(self.reads)):
            missing = sorted(set(seg_ids) - set(self.reads))
            raise RuntimeError(f"reads {', '.join(missing)} without declaring it (rule reads=)")
        if ANY_SEGMENT in seg_ids:
            if split or len(seg_ids) > 1:
                raise ValueError('segs("*") gives the whole unsplit table only')
            whole = self.batch.segments
            return whole if not supported else whole.filter(self._supported_keys(whole))
        store = self.batch.split_segments()
        if not split:
            rows = store.rows(seg_ids)
            return rows if not supported else rows.filter(self._supported_keys(rows))

        def build() -> pl.DataFrame:
            if self.reads:  # split every ID the rule reads at once, in parallel
                store.prefetch([r for r in self.reads if r != ANY_SEGMENT])
            s = store.in_order(seg_ids)
            return s if not supported else s.filter(self._supported_keys(s))

        return self.derived(f"{_SPLIT_KEY}{','.join(seg_ids)}:{supported}", build)

    def _supported_keys(self, s: pl.DataFrame) -> pl.Expr:
        if self._all_supported():  # only segments outside every set to drop, if any
            return pl.col("st_key").is_not_null()
        keys = self.transactions.filter(pl.col("supported")).get_column("st_key")
        return pl.col("st_key").is_in(keys.implode())

    @property
    def transactions(self) -> pl.DataFrame:
        return self.batch.transactions

    @property
    def claims(self) -> pl.DataFrame:
        """Claims of supported 5010 837 transactions (the ones content rules check)."""
        def build() -> pl.DataFrame:
            c = self.batch.claims  # (a CLM outside every set has a null ``supported``)
            sup = c.get_column("supported")
            return c if sup.null_count() == 0 and sup.all() else c.filter(pl.col("supported"))

        return self.derived("claims_supported", build)

    @property
    def lines(self) -> pl.DataFrame:
        return self.derived(
            "lines_supported",
            lambda: self.batch.lines if self.claims.height == self.batch.claims.height
            else self.batch.lines.join(self.claims.select("claim_key"), on="claim_key",
                                       how="semi"),
        )

    def _all_supported(self) -> bool:
        """Every transaction set is a supported 5010 837 (the usual case: no filtering)."""
        if "supported" not in self.transactions.columns:  # a batch built by hand
            return False
        sup = self.transactions.get_column("supported")
        return sup.null_count() == 0 and bool(sup.all())

    def derived(self, name: str, build: Callable[[], Any]) -> Any:
        """A table derived once per run and shared by the rules that need it (rules run on
        several threads: the first one to ask builds it, the others wait for it)."""
        if name in self._cache:
            return self._cache[name]
        with self._locks_guard:
            lock = self._locks.setdefault(name, threading.RLock())
        with lock:
            if name not in self._cache:
                self._cache[name] = build()
        return self._cache[name]


Value = pl.Expr | str | None


def _lit(v: Value) -> pl.Expr:
    """Plain strings are literal text; columns are passed as ``pl.col(...)``."""
    if v is None:
        return pl.lit(None, pl.String)
    return v if isinstance(v, pl.Expr) else pl.lit(v)


def emit(df: pl.DataFrame, *, segment_id: Value, message: Value, element: Value = None,
         expected: Value = None, found: Value = None,
         segment_index: pl.Expr | str = "segment_index", rule: Value = None,
         **extra: pl.Expr) -> pl.DataFrame:
    """Findings, one per row of ``df``: the one way a rule builds its output.

    ``df`` carries the keys that place a finding (``file_id``, ``st_key``, ``claim_key``;
    those it lacks are null). ``segment_index`` names a column (or is an expression); the
    other arguments are literal text or expressions (``pl.col("value")``). ``rule`` is set
    only by checks that raise several codes; the engine fills in the rest.
    """
    keys = [pl.col(k) if k in df.columns else pl.lit(None) for k in ("file_id", "st_key",
                                                                      "claim_key")]
    at = pl.col(segment_index) if isinstance(segment_index, str) else segment_index
    cols = {"segment_id": _lit(segment_id), "element": _lit(element), "message": _lit(message),
            "expected": _lit(expected), "found": _lit(found), **extra}
    if rule is not None:
        cols["rule"] = _lit(rule)
    out = df.select(*(k.alias(n) for k, n in zip(keys, ("file_id", "st_key", "claim_key"),
                                                  strict=True)),
                    segment_index=at, **cols)
    return F.conform(out)


def no_findings() -> pl.DataFrame:
    return F.empty()

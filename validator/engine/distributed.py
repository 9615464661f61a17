"""Checking work units on a Dask cluster (``check --executor dask``).

The client plans the units (runs of files, pieces of large files: validator.engine.units),
sends each to a worker with the run's plan, gathers the units' small results and merges
them (batch-wide and envelope trailer rules run here). Workers need this package (and its
plugins) installed, and read the inputs by path: the input files must be on storage every
worker sees under the same path. The ruleset travels with the tasks, and so does the
content of every file a plugin option names (e.g. a member roster), so workers need not
see those.

A unit whose worker dies is rerun by Dask on another worker; a unit that fails twice is
handled as a local run handles a failure (validator.engine.units.check_units).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..rules.api import RunOptions
from ..rules.registry import discover
from ..ruleset.model import Ruleset
from .run import Plan, Selection
from .units import Unit, UnitResult, run_unit

log = logging.getLogger("claims_validator")

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
MIN_UNIT = 8 << 20  # smallest unit worth a task (bytes of input)
UNITS_PER_WORKER = 4  # so that workers even out
RETRIES = 1  # a unit that raises is tried once more before it counts as failed
CONNECT_TIMEOUT = "20s"  # how long an unreachable --scheduler is tried


@dataclass(frozen=True)
class Work:
    """What a worker needs to check units: the plan's parts, with the content of the files
    plugin options name (``files``: option -> (file name, bytes)) instead of their paths."""

    ruleset: Ruleset
    selection: Selection
    options: RunOptions
    codes: tuple[str, ...]  # the enabled rules, which the worker's registry must provide
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> Work:
        files: dict[str, tuple[str, bytes]] = {}
        kinds = {o.name: o.kind for o in plan.registry.options}
        for name, value in plan.options.plugin.items():
            if kinds.get(name) == "file" and value is not None:
                path = Path(str(value))
                try:
                    files[name] = (path.name, path.read_bytes())
                except OSError as exc:
                    raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        options = replace(plan.options, jobs=1, executor="local", scheduler=None,
                          plugin=dict(plan.options.plugin))  # (a mappingproxy does not pickle)
        return cls(plan.ruleset, plan.selection, options, tuple(r.code for r in plan.rules), files)

    def plan(self) -> Plan:
        """The plan on a worker (built once per worker process)."""
        key = hashlib.sha256(pickle.dumps((self.ruleset, self.selection, self.options,
                                           self.codes, sorted(self.files.items())))).hexdigest()
        if key not in _PLANS:
            _PLANS[key] = self._build(key)
        return _PLANS[key]

    def _build(self, key: str) -> Plan:
        plugin = dict(self.options.plugin)
        if self.files:
            folder = Path(tempfile.gettempdir()) / f"claims-validator-{key[:16]}"
            for name, (file_name, data) in self.files.items():
                (folder / name).mkdir(parents=True, exist_ok=True)
                target = folder / name / file_name
                if not target.exists() or target.read_bytes() != data:
                    target.write_bytes(data)
                plugin[name] = target
        options = replace(self.options, plugin=plugin)
        plan = Plan.build(discover(), self.ruleset, self.selection, options)
        missing = sorted(set(self.codes) - {r.code for r in plan.rules})
        if missing:
            raise RuntimeError(f"this worker lacks rules {', '.join(missing[:5])}: install the "
                               "same claims-validator version and plugins on every worker")
        return plan


_PLANS: dict[str, Plan] = {}


def check_remote(work: Work, unit: Unit) -> UnitResult:
    """A worker's task: check one unit."""
    return run_unit(work.plan(), unit)


def _import_dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'claims-validator[dask]'") from None
    return distributed


class Cluster:
    """A Dask client: on ``scheduler`` (an existing cluster) or on a local cluster of
    ``workers`` processes, closed on exit."""

    def __init__(self, scheduler: str | None, workers: int) -> None:
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.workers = workers or os.cpu_count() or 1
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> Cluster:
        distributed = _import_dask()
        try:
            if self.scheduler:
                self.client = self._stack.enter_context(
                    distributed.Client(self.scheduler, timeout=CONNECT_TIMEOUT))
                log.info("dask: connected to %s (%d workers)", self.scheduler, self.size())
            else:
                cluster = self._stack.enter_context(distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR))
                self.client = self._stack.enter_context(distributed.Client(cluster))
                log.info("dask: local cluster of %d workers", self.workers)
        except (OSError, TimeoutError) as exc:
            self._stack.close()
            raise UsageError(f"cannot reach the Dask scheduler {self.scheduler}: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def size(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def unit_bytes(self, paths: Sequence[Path], chunk_bytes: int) -> int:
        """Unit size: a few units per worker, no larger than ``--chunk-size``."""
        total = sum(_size(p) for p in paths)
        share = max(MIN_UNIT, total // (self.size() * UNITS_PER_WORKER) + 1)
        return min(share, chunk_bytes) if chunk_bytes > 0 else share

    def run(self, plan: Plan, units: list[Unit]) -> Iterator[UnitResult | BaseException]:
        """Each unit's result (or the exception it failed with twice), in order, as each
        is needed: the client holds the results it has not merged yet only, the rest wait on
        the workers. Ctrl-C cancels the cluster's tasks."""
        work = self.client.scatter(Work.of(plan), broadcast=True)
        futures = [self.client.submit(check_remote, work, u.absolute(), retries=RETRIES,
                                      pure=False, key=f"claims-unit-{i}-{os.urandom(4).hex()}")
                   for i, u in enumerate(units)]
        try:
            for i, fut in enumerate(futures):
                out: UnitResult | BaseException
                try:
                    out = fut.result()
                except UsageError:
                    raise
                except Exception as exc:
                    log.error("dask: %s failed (%s: %s)", units[i].describe(),
                              type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
                    out = exc
                fut.release()
                yield out
        except BaseException:  # Ctrl-C, a usage error, or the merge gave up: stop the work
            self.client.cancel(futures)
            raise


def _size(path: Path) -> int:
    with contextlib.suppress(OSError):
        return path.stat().st_size
    return 0


@contextlib.contextmanager
def cluster(scheduler: str | None, workers: int) -> Iterator[Cluster]:
    with Cluster(scheduler, workers) as c:
        yield c

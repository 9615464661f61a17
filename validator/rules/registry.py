"""The registry: every rule, annotator, ruleset section, report panel and plugin option of a
run, collected once by :func:`discover` and handed to the ruleset loader and the engine.

Nothing registers itself on import. A :class:`Plugin` names the modules that hold its
rules and annotators (module-level :class:`~validator.rules.api.Rule` and
:class:`~validator.rules.api.Annotator` objects, in the order they are defined) and adds its
ruleset sections, report panels, command-line options and rulesets. The built-in rules are
the ``core`` plugin; others are found through the ``claims_validator.plugins`` entry point
group, so a payer plugin installs the same way KP does::

    [project.entry-points."claims_validator.plugins"]
    acme = "acme_rules:plugin"      # a function returning a Plugin
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from .api import Annotator, Rule
from .builtin import plugin as core_plugin
from .plugin import Option, Panel, Plugin, Section

ENTRY_POINTS = "claims_validator.plugins"
log = logging.getLogger("claims_validator")


@dataclass
class Registry:
    rules: dict[str, Rule] = field(default_factory=dict)
    annotators: list[Annotator] = field(default_factory=list)
    sections: dict[str, Section] = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    panels: dict[str, Panel] = field(default_factory=dict)
    ruleset_dirs: list[Path] = field(default_factory=list)
    default_ruleset: str | None = None
    plugins: list[str] = field(default_factory=list)

    def add(self, plugin: Plugin) -> None:
        for mod in plugin.modules:
            for obj in vars(importlib.import_module(mod)).values():
                if isinstance(obj, Rule):
                    self._add_rule(obj)
                elif isinstance(obj, Annotator) and obj not in self.annotators:
                    self.annotators.append(obj)
        for s in plugin.sections:
            self._unique(self.sections, s.name, "ruleset section")[s.name] = s
        for o in plugin.options:
            if any(o.name == x.name for x in self.options):
                raise ValueError(f"plugin option {o.name} defined twice")
            self.options.append(o)
        for p in plugin.panels:
            self.panels[p.column] = p
        self.ruleset_dirs.extend(plugin.rulesets)
        self.default_ruleset = plugin.default_ruleset or self.default_ruleset
        self.plugins.append(plugin.name)

    def _add_rule(self, r: Rule) -> None:
        if self.rules.get(r.code) is r:  # one module importing another's rule object
            return
        self._unique(self.rules, r.code, "rule code")[r.code] = r

    @staticmethod
    def _unique(table: dict, key: str, what: str) -> dict:
        if key in table:
            raise ValueError(f"{what} {key} defined twice")
        return table

    # -- what the engine and the outputs ask -------------------------------------------
    def __contains__(self, code: object) -> bool:
        return code in self.rules

    def __iter__(self):
        return iter(self.rules)

    def get(self, code: str) -> Rule | None:
        return self.rules.get(code)

    def codes(self) -> list[str]:
        return list(self.rules)

    def checks(self) -> list[Rule]:
        """Rules with a check, in registry order."""
        return [r for r in self.rules.values() if r.check is not None]

    def reads(self, rules: Iterable[Rule]) -> tuple[str, ...]:
        """Every segment ID ``rules`` declare they read."""
        return tuple(dict.fromkeys(s for r in rules for s in r.reads))


def matches(code: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Ruff-style selection: a pattern is a full code or a prefix (``ALL`` matches all)."""
    return any(p == "ALL" or code.startswith(p) for p in patterns)


def build(plugins: Iterable[Plugin]) -> Registry:
    reg = Registry()
    for p in plugins:
        reg.add(p)
    return reg


def installed_plugins() -> list[Plugin]:
    """The core plugin, then every installed plugin by entry-point name. A plugin that
    cannot be loaded is left out with a warning (its rules do not run)."""
    found = [core_plugin()]
    for ep in sorted(entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        if ep.name == "core":
            continue
        try:
            make = ep.load()
            found.append(make() if callable(make) else make)
        except Exception as exc:  # a broken third-party plugin must not stop every run
            log.warning("plugin %s could not be loaded (%s: %s); its rules do not run",
                        ep.name, type(exc).__name__, exc)
    return found


@cache
def discover() -> Registry:
    """The registry of this installation (built once per process)."""
    return build(installed_plugins())

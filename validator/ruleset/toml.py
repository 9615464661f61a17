"""TOML source positions (tomllib gives none) and a small TOML writer for ``ruleset show``.

:class:`TomlIndex` scans the text once and maps every key path it can see — table headers,
``key =`` lines, array items, inline-table keys — to its line number. It is a locator for
messages, not a parser: the data always comes from :mod:`tomllib`.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import re
import tomllib
from typing import Any

from .schema import Path_

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_HEADER = re.compile(rf"(\[\[|\[)[ \t]*({_DOTTED})[ \t]*\]\]?")
_ASSIGN = re.compile(rf"({_DOTTED})[ \t]*=")
_ONE_KEY = re.compile(_KEY)
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _split(dotted: str) -> list[str]:
    out = []
    for k in _ONE_KEY.findall(dotted):
        if k.startswith('"'):
            try:
                k = tomllib.loads(f"k = {k}")["k"]
            except tomllib.TOMLDecodeError:
                k = k[1:-1]
        elif k.startswith("'"):
            k = k[1:-1]
        out.append(k)
    return out


class TomlIndex:
    """Line numbers of the key paths of one TOML text (1-based)."""

    def __init__(self, text: str):
        self.text = text
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int, int]] = []  # path, first line, repeated line
        self._nl = [i for i, c in enumerate(text) if c == "\n"]
        self._aot: dict[tuple[str, ...], int] = {}  # arrays of tables: raw path -> count
        with contextlib.suppress(IndexError):  # truncated text: keep what was found
            self._scan()

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self._nl, pos - 1) + 1

    def locate(self, path: Path_) -> tuple[int, int | None]:
        """(matched depth, line) of the longest known prefix of ``path``."""
        for depth in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:depth]))
            if line is not None:
                return depth, line
        return 0, None

    # -- scanning ------------------------------------------------------------------------

    def _record(self, path: Path_, pos: int, header: bool = False) -> None:
        line = self.line_of(pos)
        if path in self.lines and (not header or path not in self._implicit):
            self.duplicates.append((path, self.lines[path], line))
            return
        self.lines[path] = line

    def _resolve(self, keys: list[str]) -> Path_:
        """Key names -> path with the current index of each array of tables on the way."""
        out: list[str | int] = []
        for i in range(len(keys)):
            out.append(keys[i])
            n = self._aot.get(tuple(keys[: i + 1]))
            if n:
                out.append(n - 1)
        return tuple(out)

    def _scan(self) -> None:
        t, n = self.text, len(self.text)
        self._implicit: set[Path_] = set()
        table: Path_ = ()
        i = 0
        while i < n:
            i = self._skip(i, newlines=True)
            if i >= n:
                break
            if t[i] == "[":
                m = _HEADER.match(t, i)
                if m:
                    keys = _split(m.group(2))
                    if m.group(1) == "[[":
                        self._aot[tuple(keys)] = self._aot.get(tuple(keys), 0) + 1
                    table = self._resolve(keys)
                    for d in range(1, len(table)):  # parents are defined implicitly
                        if table[:d] not in self.lines:
                            self.lines[table[:d]] = self.line_of(m.start())
                            self._implicit.add(table[:d])
                    self._record(table, m.start(), header=True)
                    self._implicit.discard(table)
                    i = m.end()
                else:
                    i = self._eol(i)
                continue
            m = _ASSIGN.match(t, i)
            if not m:
                i = self._eol(i)
                continue
            path = (*table, *_split(m.group(1)))
            self._record(path, m.start())
            i = self._value(m.end(), path)

    def _eol(self, i: int) -> int:
        j = self.text.find("\n", i)
        return len(self.text) if j < 0 else j + 1

    def _skip(self, i: int, newlines: bool) -> int:
        t, n = self.text, len(self.text)
        while i < n:
            c = t[i]
            if c in " \t\r" or (newlines and c == "\n"):
                i += 1
            elif c == "#":
                j = t.find("\n", i)
                i = n if j < 0 else (j + 1 if newlines else j)
            else:
                break
        return i

    def _string_end(self, i: int) -> int:
        t = self.text
        for quote in ('"""', "'''"):
            if t.startswith(quote, i):
                j = i + 3
                while True:
                    j = t.find(quote, j)
                    if j < 0:
                        return len(t)
                    if quote == '"""' and _escaped(t, j):
                        j += 1
                        continue
                    while t.startswith(quote[0], j + 3):  # up to two extra quotes belong inside
                        j += 1
                    return j + 3
        q = t[i]
        j = i + 1
        while j < len(t) and t[j] != q and t[j] != "\n":
            j += 2 if (q == '"' and t[j] == "\\") else 1
        return j + 1

    def _value(self, i: int, path: Path_) -> int:
        t, n = self.text, len(self.text)
        i = self._skip(i, newlines=False)
        if i >= n:
            return i
        c = t[i]
        if c in "\"'":
            return self._string_end(i)
        if c == "[":
            i += 1
            idx = 0
            while i < n:
                i = self._skip(i, newlines=True)
                if i >= n or t[i] == "]":
                    return i + 1
                if t[i] == ",":
                    i += 1
                    continue
                self._record((*path, idx), i)
                i = self._value(i, (*path, idx))
                idx += 1
            return i
        if c == "{":
            i += 1
            while i < n:
                i = self._skip(i, newlines=False)
                if i >= n or t[i] in "}\n":
                    return i + 1
                if t[i] == ",":
                    i += 1
                    continue
                m = _ASSIGN.match(t, i)
                if not m:
                    return self._eol(i)
                sub = (*path, *_split(m.group(1)))
                self._record(sub, m.start())
                i = self._value(m.end(), sub)
            return i
        j = i
        while j < n and t[j] not in ",]}\n#":
            j += 1
        return j


def _escaped(text: str, j: int) -> bool:
    k = j - 1
    count = 0
    while k >= 0 and text[k] == "\\":
        count += 1
        k -= 1
    return count % 2 == 1


def syntax_position(message: str) -> tuple[str, int | None]:
    """tomllib's message without its ``(at line N, column M)`` part, and N."""
    m = _POSITION.search(message)
    if not m:
        return message.replace(" (at end of document)", ""), None
    return message[: m.start()].rstrip(), int(m.group(1))


# -- writing -------------------------------------------------------------------------------

def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        items = [_scalar(x) for x in v]
        one = "[" + ", ".join(items) + "]"
        if len(one) <= 90:
            return one
        return "[\n" + "".join(f"    {x},\n" for x in items) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_aot(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: dict[str, Any]) -> str:
    """``data`` as TOML text (tables after plain keys, arrays of tables as ``[[...]]``)."""
    out: list[str] = []

    def table(d: dict[str, Any], prefix: tuple[str, ...]) -> None:
        plain = [(k, v) for k, v in d.items() if not isinstance(v, dict) and not _is_aot(v)]
        if prefix and (plain or not d):
            out.append(f"\n[{'.'.join(_key(p) for p in prefix)}]")
        for k, v in plain:
            out.append(f"{_key(k)} = {_scalar(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                table(v, (*prefix, k))
            elif _is_aot(v):
                for item in v:
                    out.append(f"\n[[{'.'.join(_key(p) for p in (*prefix, k))}]]")
                    for ik, iv in item.items():
                        out.append(f"{_key(ik)} = {_scalar(iv)}")

    table(data, ())
    return "\n".join(out).lstrip("\n") + "\n"

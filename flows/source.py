"""Where things are in a TOML file, so that content errors can name file and line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

Key = tuple[str | int, ...]

_ARRAY = re.compile(r"^\[\[\s*(.+?)\s*\]\]")
_TABLE = re.compile(r"^\[\s*(.+?)\s*\]")
_BARE = r"""(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
_ASSIGN = re.compile(rf"^({_BARE}(?:\s*\.\s*{_BARE})*)\s*=(.*)$")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([^.\s]+)""")
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


class PackError(ValueError):
    """A content pack that cannot be used; the message names file and line."""


def _keys(dotted: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(dotted))


class Source:
    """A parsed TOML file that remembers the line of each table and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            self.text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PackError(f"{self.name}: cannot read ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise PackError(f"{self.name}: not UTF-8 text ({exc.reason})") from exc
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            at = _AT.search(str(exc))
            where = f"{at.group(1)}:{at.group(2)}:" if at else ""
            raise PackError(f"{self.name}:{where} {exc}") from exc
        self._lines: dict[Key, int] = {}
        self._scan()

    def _scan(self) -> None:
        table: Key = ()
        counts: dict[Key, int] = {}
        closing: str | None = None
        for number, raw in enumerate(self.text.splitlines(), 1):
            line = raw.strip()
            if closing:
                if closing in line:
                    closing = None
                continue
            if not line or line.startswith("#"):
                continue
            if m := _ARRAY.match(line):
                path: Key = _keys(m.group(1))
                index = counts.get(path, 0)
                counts[path] = index + 1
                table = (*path, index)
                self._note(table, number)
            elif m := _TABLE.match(line):
                table = _keys(m.group(1))
                self._note(table, number)
            elif m := _ASSIGN.match(line):
                self._note((*table, *_keys(m.group(1))), number)
                rest = m.group(2)
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2:
                        closing = quote

    def _note(self, key: Key, number: int) -> None:
        for n in range(1, len(key) + 1):
            self._lines.setdefault(key[:n], number)

    def line(self, key: Key) -> int:
        """The line of `key`, or of its nearest enclosing table or key that is written down."""
        for n in range(len(key), 0, -1):
            if key[:n] in self._lines:
                return self._lines[key[:n]]
        return 1

    def error(self, key: Key, message: str) -> PackError:
        return PackError(f"{self.name}:{self.line(key)}: {message}")

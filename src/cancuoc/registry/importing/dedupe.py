"""Remember which ID numbers a file has already used, in bounded memory.

Up to ``limit`` numbers live in a dict (number -> first row); past that they spill to
a temporary SQLite file, so a file of any size keeps the importer's memory flat.

Pure: standard library only.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile


class SeenIds:
    def __init__(self, *, limit: int = 2_000_000) -> None:
        self.limit = limit
        self._memory: dict[int, int] = {}
        self._disk: sqlite3.Connection | None = None
        self._path = ""

    def first_row(self, number: str, row_number: int) -> int | None:
        """The row where ``number`` first appeared, or None (and remember this row)."""
        key = int(number)
        first = self._memory.get(key)
        if first is not None:
            return first
        if self._disk is not None:
            found = self._disk.execute("SELECT row FROM seen WHERE id = ?", (key,)).fetchone()
            if found:
                return int(found[0])
        self._memory[key] = row_number
        if len(self._memory) >= self.limit:
            self._spill()
        return None

    def _spill(self) -> None:
        if self._disk is None:
            handle, self._path = tempfile.mkstemp(prefix="cancuoc-import-ids-", suffix=".db")
            os.close(handle)
            self._disk = sqlite3.connect(self._path)
            self._disk.execute("PRAGMA journal_mode=OFF")
            self._disk.execute("PRAGMA synchronous=OFF")
            self._disk.execute("CREATE TABLE seen (id INTEGER PRIMARY KEY, row INTEGER)")
        with self._disk:
            self._disk.executemany("INSERT INTO seen VALUES (?, ?)", self._memory.items())
        self._memory.clear()

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
            os.unlink(self._path)

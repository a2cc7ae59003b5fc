"""One durable SQLite file: the shared way stores open and close their connection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists, before SQLite opens it: SQLite
    would create it with the umask (0644), and gives its -wal and -shm files the main file's
    mode. An existing file keeps its mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class SqliteFile:
    """Base of the stores in <data_dir>/flowengine.db: WAL, synchronous=FULL (an answered
    write survives a power cut), the store's schema applied at open."""

    schema = ""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: Any = None

    async def connect(self) -> None:
        import aiosqlite  # deferred: opened once at start

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_private(self.path)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=FULL")
        if self.schema:
            await self._db.executescript(self.schema)
        await self._db.commit()

    @property
    def is_open(self) -> bool:
        return self._db is not None

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

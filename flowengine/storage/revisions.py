"""Flow revisions: every deploy is a row (who, when, hash, parent, status, the document).

Statuses: `pending` (written before the flows start), `active` (the one running; exactly one),
`failed` (its start failed and the previous one was restored), `superseded` (was active). Boot
starts the last active revision. A run that starts without the previous one having ended
cleanly counts as a crash; after `max_crashes` in a row the engine should come up in safe mode.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .db import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revision (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rev TEXT NOT NULL,
    parent TEXT,
    created_at REAL NOT NULL,
    author TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS revision_rev ON revision (rev);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def document_rev(doc: Any) -> str:
    """A stable hash of a flow document (Node-RED's `rev`): same content, same rev."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Revision:
    id: int
    rev: str
    parent: str | None
    created_at: float
    author: str
    status: str
    doc: list
    error: list | None

    def summary(self) -> dict:
        return {"id": self.id, "rev": self.rev, "parent": self.parent, "created_at": self.created_at,
                "author": self.author, "status": self.status, "nodes": len(self.doc), "error": self.error}


class RevisionStore(SqliteFile):
    schema = _SCHEMA

    def __init__(self, path: Path, max_crashes: int = 3):
        super().__init__(path)
        self.max_crashes = max_crashes

    async def open(self) -> None:
        await self.connect()
        # Pending rows belong to a deploy that never finished (power cut mid-deploy).
        await self._db.execute("UPDATE revision SET status = 'failed', error = ? WHERE status = 'pending'",
                               (json.dumps([{"message": "interrupted before it finished starting"}]),))
        await self._db.commit()


    # ------------------------------------------------------------------ revisions
    async def add(self, doc: list, author: str, parent: str | None) -> Revision:
        rev = document_rev(doc)
        now = time.time()
        cur = await self._db.execute(
            "INSERT INTO revision (rev, parent, created_at, author, status, doc) VALUES (?, ?, ?, ?, 'pending', ?)",
            (rev, parent, now, author, json.dumps(doc, ensure_ascii=False)))
        await self._db.commit()
        return Revision(cur.lastrowid, rev, parent, now, author, "pending", doc, None)

    async def activate(self, revision: Revision) -> None:
        await self._db.execute("UPDATE revision SET status = 'superseded' WHERE status = 'active'")
        await self._db.execute("UPDATE revision SET status = 'active' WHERE id = ?", (revision.id,))
        await self._db.commit()
        revision.status = "active"

    async def fail(self, revision: Revision, errors: list[dict]) -> None:
        await self._db.execute("UPDATE revision SET status = 'failed', error = ? WHERE id = ?",
                               (json.dumps(errors), revision.id))
        await self._db.commit()
        revision.status, revision.error = "failed", errors

    async def active(self) -> Revision | None:
        rows = await self._query("SELECT * FROM revision WHERE status = 'active' ORDER BY id DESC LIMIT 1")
        return rows[0] if rows else None

    async def get(self, rev_or_id: str | int) -> Revision | None:
        text = str(rev_or_id)
        if isinstance(rev_or_id, int) or (text.isascii() and text.isdigit() and len(text) <= 18):
            rows = await self._query("SELECT * FROM revision WHERE id = ?", (int(text),))
        else:
            rows = await self._query("SELECT * FROM revision WHERE rev = ? ORDER BY id DESC LIMIT 1", (rev_or_id,))
        return rows[0] if rows else None

    async def list(self, limit: int = 50) -> list[Revision]:
        return await self._query("SELECT * FROM revision ORDER BY id DESC LIMIT ?", (limit,))

    async def _query(self, sql: str, args: tuple = ()) -> list[Revision]:
        async with self._db.execute(sql, args) as cur:
            rows = await cur.fetchall()
        return [Revision(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]) if r[7] else None)
                for r in rows]

    # ------------------------------------------------------------------ run bookkeeping
    async def begin_run(self) -> int:
        """Record a start; returns how many runs in a row ended without a clean shutdown."""
        crashes = int(await self._meta("unclean_runs", "0"))
        if await self._meta("running", "0") == "1":
            crashes += 1
        await self._set_meta("unclean_runs", str(crashes))
        await self._set_meta("running", "1")
        return crashes

    async def mark_healthy(self) -> None:
        """The flows have run long enough: a later power cut is not a crash at start."""
        await self._set_meta("unclean_runs", "0")

    async def end_run(self) -> None:
        """A clean shutdown: the crash count starts again."""
        await self._set_meta("running", "0")
        await self._set_meta("unclean_runs", "0")

    async def should_start_safe(self) -> bool:
        return int(await self._meta("unclean_runs", "0")) >= self.max_crashes

    async def _meta(self, key: str, default: str) -> str:
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else default

    async def _set_meta(self, key: str, value: str) -> None:
        await self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        await self._db.commit()

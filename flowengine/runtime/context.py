"""Context stores: node, flow and global key/value state.

`memory` keeps values in RAM. `file` is persistent: values live in RAM for fast synchronous
reads and every change is written to SQLite (WAL, synchronous=FULL) by a background flusher
within `flush_interval` seconds, so a power cut loses at most that window (Node-RED's file
store flushes every 30 s and has emptied files on power loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from .. import msgpath
from ..jsvalue import UNDEFINED, js_json_dumps, json_loads
from ..message import clone_message
from ..storage.db import create_private

log = logging.getLogger("flowengine.context")


class MemoryStore:
    persistent = False

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def scope(self, scope: str) -> dict[str, Any]:
        d = self.data.get(scope)
        if d is None:
            d = self.data[scope] = {}
        return d

    def changed(self, scope: str, key: str) -> None:
        """Memory needs no write-back."""

    def delete_scope(self, scope: str) -> None:
        self.data.pop(scope, None)

    def scopes(self) -> list[str]:
        return list(self.data)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


class SqliteStore(MemoryStore):
    persistent = True

    def __init__(self, path: Path, flush_interval: float = 0.1):
        super().__init__()
        self.path = Path(path)
        self.flush_interval = flush_interval
        self._dirty: set[tuple[str, str]] = set()
        self._deleted_scopes: set[str] = set()
        self._db: Any = None
        self._flusher: asyncio.Task | None = None
        self._wake = asyncio.Event()

    async def open(self) -> None:
        import aiosqlite

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_private(self.path)  # 0600 before SQLite creates it (and so its -wal/-shm) with the umask
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=FULL")
        await self._db.execute("CREATE TABLE IF NOT EXISTS context (scope TEXT NOT NULL, key TEXT NOT NULL, "
                               "value TEXT NOT NULL, PRIMARY KEY (scope, key))")
        await self._db.commit()
        async with self._db.execute("SELECT scope, key, value FROM context") as cur:
            async for scope, key, value in cur:
                try:
                    self.scope(scope)[key] = json_loads(value)
                except ValueError:
                    log.error("context %s/%s in %s is not valid JSON; ignored", scope, key, self.path)
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    def changed(self, scope: str, key: str) -> None:
        self._dirty.add((scope, key))
        self._wake.set()

    def delete_scope(self, scope: str) -> None:
        super().delete_scope(scope)
        self._deleted_scopes.add(scope)
        self._dirty = {d for d in self._dirty if d[0] != scope}
        self._wake.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.flush_interval)  # coalesce bursts of writes
            try:
                await self.flush()
            except Exception:
                log.exception("context flush to %s failed; will retry", self.path)
                self._wake.set()
                await asyncio.sleep(1.0)

    async def flush(self) -> None:
        """Write every changed key. A value that cannot be stored as JSON is logged and skipped
        (the others are written); on a database error everything stays queued for next time."""
        if self._db is None or not (self._dirty or self._deleted_scopes):
            return
        dirty, self._dirty = self._dirty, set()
        deleted, self._deleted_scopes = self._deleted_scopes, set()
        rows_set, rows_del = [], []
        for scope, key in dirty:
            value = self.data.get(scope, {}).get(key, UNDEFINED)
            if value is UNDEFINED:
                rows_del.append((scope, key))
                continue
            try:
                rows_set.append((scope, key, js_json_dumps(value)))
            except (TypeError, ValueError, RecursionError) as exc:
                log.error("context %s/%s cannot be stored persistently (%s); kept in memory only",
                          scope, key, exc)
        try:
            for scope in deleted:
                await self._db.execute("DELETE FROM context WHERE scope = ?", (scope,))
            if rows_del:
                await self._db.executemany("DELETE FROM context WHERE scope = ? AND key = ?", rows_del)
            if rows_set:
                await self._db.executemany("INSERT OR REPLACE INTO context (scope, key, value) VALUES (?, ?, ?)",
                                           rows_set)
            await self._db.commit()
        except BaseException:  # includes cancellation: nothing taken off the queue is lost
            self._dirty |= dirty
            self._deleted_scopes |= deleted
            raise

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._db is not None:
            await self.flush()  # whatever the cancelled flusher had not written
            await self._db.close()
            self._db = None


class ContextStores:
    """The configured stores; `default` names the one used when a key names none."""

    def __init__(self, stores: dict[str, MemoryStore], default: str = "memory"):
        if default not in stores:
            raise ValueError(f"default context store {default!r} is not configured")
        self.stores = stores
        self.default = default

    def get_store(self, name: str | None) -> MemoryStore:
        if not name:
            return self.stores[self.default]
        store = self.stores.get(name)
        if store is None:
            log.warning("unknown context store %r; using %r", name, self.default)
            return self.stores[self.default]
        return store

    async def open(self) -> None:
        for s in self.stores.values():
            await s.open()

    async def close(self) -> None:
        for s in self.stores.values():
            await s.close()

    def delete_scope(self, scope: str) -> None:
        for s in self.stores.values():
            s.delete_scope(scope)


class ScopedContext:
    """What a node sees as `context`, `flow` or `global`: get/set/keys on one scope."""

    __slots__ = ("_stores", "_scope", "parent")

    def __init__(self, stores: ContextStores, scope: str, parent: ScopedContext | None = None):
        self._stores = stores
        self._scope = scope
        self.parent = parent  # flow context of the enclosing flow, for `$parent.` keys

    def _target(self, key: str) -> tuple[ScopedContext, str]:
        ctx = self
        while key.startswith("$parent."):
            if ctx.parent is None:
                return ctx, key[len("$parent."):]
            ctx, key = ctx.parent, key[len("$parent."):]
        return ctx, key

    def get(self, key: str | list, store: str | None = None) -> Any:
        if isinstance(key, list):
            return [self.get(k, store) for k in key]
        ctx, key = self._target(key)
        data = ctx._stores.get_store(store).scope(ctx._scope)
        if key in data:
            return data[key]
        return msgpath.get(data, key)

    def set(self, key: str | list, value: Any = UNDEFINED, store: str | None = None) -> None:
        if isinstance(key, list):
            values = value if isinstance(value, list) else [value]
            for i, k in enumerate(key):
                self.set(k, values[i] if i < len(values) else UNDEFINED, store)
            return
        ctx, key = self._target(key)
        st = ctx._stores.get_store(store)
        data = st.scope(ctx._scope)
        top = msgpath.parse(key)[0]
        if value is UNDEFINED and top == key:
            data.pop(key, None)
        elif top == key:
            data[key] = clone_message(value) if st.persistent else value
        else:
            msgpath.set(data, key, value)
        st.changed(ctx._scope, str(top))

    def keys(self, store: str | None = None) -> list[str]:
        return list(self._stores.get_store(store).scope(self._scope).keys())

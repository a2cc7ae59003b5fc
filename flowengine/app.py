"""The application: settings -> node registry, context stores, engine, flows from disk."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .credentials import CredentialsError, credentials_path, load_credentials
from .errors import FlowValidationError
from .flowdoc import parse_text
from .registry import default_registry
from .runtime.context import ContextStores, MemoryStore, SqliteStore
from .runtime.engine import Engine
from .settings import Settings

log = logging.getLogger("flowengine.app")

FLOWS_FILE = "flows.json"


class Application:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry = default_registry()
        for pack in self.registry.packs.values():
            if pack.error:
                log.error("node pack %r is unavailable: %s", pack.name, pack.error)
        data_dir = settings.data_dir
        self.contexts = ContextStores(
            {"memory": MemoryStore(),
             "file": SqliteStore(data_dir / "context.db", flush_interval=settings.context_flush_interval)},
            default=settings.context_default_store)
        self.engine = Engine(self.registry, contexts=self.contexts, inbox_capacity=settings.inbox_capacity,
                             stop_timeout=settings.stop_timeout,
                             settings={"code_nodes": settings.code_nodes,
                                       "function_timeout": settings.function_timeout,
                                       "function_init_timeout": settings.function_init_timeout,
                                       "max_buffered": settings.max_buffered,
                                       "data_dir": str(data_dir)})

    @property
    def flows_path(self) -> Path:
        return self.settings.data_dir / FLOWS_FILE

    async def start(self, flows_file: Path | None) -> bool:
        """Open storage and start the flows; False (with the errors logged) if they are invalid."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.engine.open()
        source = flows_file or (self.flows_path if self.flows_path.exists() else None)
        if source is None:
            log.info("no flows to run (data dir %s holds none)", self.settings.data_dir)
            return True
        try:
            text = source.read_bytes()
        except OSError as exc:
            log.error("cannot read %s: %s", source, exc.strerror)
            return False
        data, issues = parse_text(text)
        if data is None:
            for issue in issues:
                log.error("%s: %s", source, issue)
            return False
        if source is not None:
            cred_file = credentials_path(source)
            if cred_file.exists():
                try:
                    self.engine.credentials = load_credentials(cred_file, self.settings.credential_secret)
                except CredentialsError as exc:
                    log.error("%s", exc)
                    return False
                log.info("read credentials for %d nodes from %s", len(self.engine.credentials), cred_file)
        if self.settings.safe:
            log.warning("safe mode: flows from %s loaded but not started", source)
            return True
        try:
            warnings = await self.engine.deploy(data)
        except FlowValidationError as exc:
            for issue in exc.issues:
                log.error("%s: %s", source, issue)
            return False
        for w in warnings:
            log.warning("%s: %s", source, w)
        if flows_file is not None:
            self._remember(data)
        log.info("running %d nodes from %s", len(self.engine.nodes), source)
        return True

    def _remember(self, data: list) -> None:
        """A flows file given on the command line becomes the data dir's flows."""
        text = json.dumps(data, indent=4, ensure_ascii=False)
        path = self.flows_path
        try:
            if path.exists() and path.read_text(encoding="utf-8") == text:
                return
            tmp = path.with_suffix(".json.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not save flows to %s: %s", path, exc)

    async def stop(self) -> None:
        await self.engine.close(drain=self.settings.drain_timeout)

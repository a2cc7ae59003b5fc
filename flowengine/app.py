"""The application: settings -> node registry, storage, engine, HTTP server; flows from disk.

Where the flows come from at start: a FILE on the command line wins (it becomes a new revision
when it differs from the active one); otherwise the last active revision; otherwise the data
dir's `flows.json`; otherwise nothing. Every deploy is recorded as a revision and written back
(atomically) to the data dir's `flows.json` and to the FILE the engine was started with.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import stat
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .credentials import CredentialsError, credentials_path, load_credentials
from .errors import FlowValidationError, ValidationIssue
from .flowdoc import errors_only, parse_text
from .registry import default_registry
from .runtime.context import ContextStores, MemoryStore, SqliteStore
from .runtime.engine import Engine
from .security import Security, SecurityError
from .settings import Settings
from .storage import RevisionStore, document_rev

log = logging.getLogger("flowengine.app")

FLOWS_FILE = "flows.json"
HEALTHY_AFTER = 60.0  # seconds of running flows after which a later crash is not a crash at start
CRED_FILE_DIGEST = "imported_cred_file_sha256"  # secret_meta key: SHA-256 of the flows_cred.json last imported


class StartupError(Exception):
    """The application cannot start as configured (the message says why and what to do)."""


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
        self.revisions = RevisionStore(data_dir / "flowengine.db")
        self.security = Security(settings)
        self.flows_file: Path | None = None
        self.safe_mode = False
        self.active_rev: str | None = None
        self.started_at = time.time()
        self.server: Any = None
        self.port: int | None = None
        self._healthy_timer: asyncio.TimerHandle | None = None
        self._deploying = False
        self._deploy_lock = asyncio.Lock()  # one deploy at a time: credentials are staged and rolled back
        self.deploy_results: Counter[str] = Counter()  # for /metrics

    @property
    def flows_path(self) -> Path:
        return self.settings.data_dir / FLOWS_FILE

    # ------------------------------------------------------------------ start / stop
    async def start(self, flows_file: Path | None, serve: bool = True) -> bool:
        """Open storage, start the flows and the server; False (with the errors logged) if the
        flows are invalid or the server cannot listen."""
        self._prepare_data_dir()
        try:
            await self.security.open()  # a wrong secret key stops here, never empty credentials
            await self.security.check_bind(self.settings.host)  # non-loopback only with an admin account
        except SecurityError as exc:
            raise StartupError(str(exc)) from exc
        self.engine.credentials.update(await self.security.credentials.get_all())
        await self.engine.open()
        await self.revisions.open()
        crashes = await self.revisions.begin_run()
        self.safe_mode = self.settings.safe
        if not self.safe_mode and await self.revisions.should_start_safe():
            log.error("the last %d runs ended without a clean shutdown: starting in safe mode (flows stopped); "
                      "fix the flows through the API, or start without --safe once fixed", crashes)
            self.safe_mode = True
        self.flows_file = flows_file
        ok = await self._start_flows(flows_file)
        if ok and serve:
            ok = await self._start_server()
        return ok

    def _prepare_data_dir(self) -> None:
        """The data dir holds password and token hashes, revisions and context: it is created
        0700, and an existing one that others can read (made by an earlier version, which used
        the umask) is made private when this user owns it; otherwise it is only reported. The
        user's FILE is never touched here."""
        data_dir = self.settings.data_dir
        try:
            data_dir.mkdir(parents=True, mode=0o700)
            return
        except FileExistsError:
            if not data_dir.is_dir():
                raise
        if os.name != "posix":
            return
        st = data_dir.stat()
        mode = stat.S_IMODE(st.st_mode)
        if not mode & 0o077:
            return
        if st.st_uid == os.getuid():
            try:
                os.chmod(data_dir, mode & 0o700)
                log.warning("the data dir %s could be read by other users (mode %o): made it private (%o)",
                            data_dir, mode, mode & 0o700)
                return
            except OSError as exc:
                log.warning("cannot make the data dir %s private: %s", data_dir, exc.strerror)
        log.warning("the data dir %s can be read by other users (mode %o): chmod 700 %s", data_dir, mode, data_dir)

    async def _start_flows(self, flows_file: Path | None) -> bool:
        data: Any = None
        author = "boot"
        if flows_file is not None:
            data = self._read_flows(flows_file)
            if data is None:
                return False
            author = f"file:{flows_file}"
            if not await self._load_credentials(flows_file):
                return False
        else:
            active = await self.revisions.active()
            if active is not None:
                data, self.active_rev, author = active.doc, active.rev, "boot"
            elif self.flows_path.exists():
                data = self._read_flows(self.flows_path)
                if data is None:
                    return False
                author = f"file:{self.flows_path}"
        if data is None:
            log.info("no flows to run (data dir %s holds none)", self.settings.data_dir)
            return True
        if self.safe_mode:
            active = await self.revisions.active()
            self.active_rev = active.rev if active is not None else None
            log.warning("safe mode: flows loaded but not started")
            return True
        try:
            await self.deploy(data, author=author, mode="full", boot=True)
        except FlowValidationError as exc:
            for issue in exc.issues:
                log.error("%s", issue)
            return False
        log.info("running %d nodes (rev %s)", len(self.engine.nodes), self.active_rev)
        self._healthy_timer = asyncio.get_running_loop().call_later(
            HEALTHY_AFTER, lambda: asyncio.ensure_future(self.revisions.mark_healthy()))
        return True

    def _read_flows(self, path: Path) -> Any:
        try:
            text = path.read_bytes()
        except OSError as exc:
            log.error("cannot read %s: %s", path, exc.strerror)
            return None
        data, issues = parse_text(text)
        for issue in issues:
            log.error("%s: %s", path, issue)
        return data

    async def _load_credentials(self, flows_file: Path) -> bool:
        """Import Node-RED's `<flows>_cred.json` beside FILE into the encrypted store, so the
        secrets are there for later runs without FILE (and never copied in clear).

        Only when the file differs from the one imported last (its SHA-256 is kept in the
        store): credentials changed through the API since are not written back to the file, so
        importing the same file again at every start would undo them (a rotated password
        would come back). A changed file is a deliberate update, and wins."""
        cred_file = credentials_path(flows_file)
        if not cred_file.exists():
            return True
        store = self.security.credentials
        try:
            digest = hashlib.sha256(cred_file.read_bytes()).hexdigest().encode("ascii")
        except OSError as exc:
            log.error("cannot read %s: %s", cred_file, exc.strerror)
            return False
        if store.is_open and await store.get_meta(CRED_FILE_DIGEST) == digest:
            log.info("%s is unchanged since it was imported: keeping the stored credentials", cred_file)
            return True
        try:
            imported = load_credentials(cred_file, self.settings.credential_secret)
        except CredentialsError as exc:
            log.error("%s", exc)
            return False
        for nid, values in imported.items():
            merged = {**self.engine.credentials.get(nid, {}), **values}
            if store.is_open:
                await store.put(nid, merged)
            self.engine.credentials[nid] = merged
        if store.is_open:
            await store.set_meta(CRED_FILE_DIGEST, digest)
        log.info("imported credentials for %d nodes from %s (new or changed since the last import)",
                 len(imported), cred_file)
        return True

    async def _start_server(self) -> bool:
        from .api import create_app
        from .api.server import HttpServer

        self.server = HttpServer(create_app(self), self.settings.host, self.settings.port)
        try:
            self.port = await self.server.start()
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", self.settings.host, self.settings.port, exc)
            self.server = None
            return False
        log.info("serving the API at http://%s:%d/ (health: /healthz)", self.settings.host, self.port)
        return True

    async def stop(self) -> None:
        if self._healthy_timer is not None:
            self._healthy_timer.cancel()
        if self.server is not None:
            await self.server.stop()
        await self.engine.close(drain=self.settings.drain_timeout)
        if self.revisions.is_open:
            await self.revisions.end_run()
            await self.revisions.close()
        await self.security.close()

    # ------------------------------------------------------------------ deploys
    async def deploy(self, data: Any, author: str, mode: str = "full", boot: bool = False) -> str | None:
        """Validate, record a revision, start it; the previous flows keep running if anything
        fails. Returns the new rev. `nodes`/`flows` restart only what changed."""
        try:
            rev = await self._deploy(data, author, mode, boot)
        except FlowValidationError:
            self.deploy_results["invalid"] += 1
            raise
        except Exception:
            self.deploy_results["error"] += 1
            raise
        self.deploy_results["success"] += 1
        return rev

    async def _deploy(self, data: Any, author: str, mode: str, boot: bool) -> str | None:
        async with self._deploy_lock:
            return await self._deploy_locked(data, author, mode, boot)

    async def _deploy_locked(self, data: Any, author: str, mode: str, boot: bool) -> str | None:
        data, new_credentials = self._split_credentials(data)
        doc, issues = self.engine.validate(data)
        errors = errors_only(issues) if doc is not None else issues
        if errors:
            raise FlowValidationError(errors)  # nothing deployed: the credentials were not touched
        rev = document_rev(data)
        if boot or rev != self.active_rev:
            revision = await self.revisions.add(data, author, self.active_rev)
        else:
            revision = None
        # The nodes read their credentials when they are made: the new ones are in the engine's
        # map for this deploy only, until it succeeds; they reach the store after that.
        if new_credentials and self.security.credentials.is_open:
            await self.security.credentials.ensure_key()  # a missing or unusable key fails before the deploy
        self._deploying = True
        try:
            # The engine puts the old map back itself if the deploy fails, before the previous
            # flows restart, so they never run with credentials that were not stored.
            await self.engine.deploy(data, mode=mode if mode in ("nodes", "flows") else "full",
                                     validated=(doc, issues),
                                     credentials={**self.engine.credentials, **new_credentials})
        except FlowValidationError as exc:
            if revision is not None:
                await self.revisions.fail(revision, [i.as_dict() for i in exc.issues])
            raise
        finally:
            self._deploying = False
        if revision is not None:
            await self.revisions.activate(revision)
        await self._commit_credentials(data, new_credentials)
        self.active_rev = rev
        self.safe_mode = False
        self._write_back(data, to_file=not boot)  # a boot deploy leaves the user's FILE as it is
        self.engine.events.publish("deploy", None, {"rev": rev, "author": author, "mode": mode,
                                                    "nodes": len(self.engine.nodes)})
        return rev

    def _split_credentials(self, data: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
        """Node-RED's admin API carries secrets in a `credentials` object on a node: they are
        taken out of the flows (never kept in the flows, revisions or exports) and returned by
        node id, merged over the current ones, to be stored once the deploy succeeded.
        `__PWRD__` (Node-RED's placeholder for "unchanged") keeps the stored value."""
        if not isinstance(data, list) or not any(isinstance(n, dict) and "credentials" in n for n in data):
            return data, {}
        cleaned: list = []
        taken: dict[str, dict[str, Any]] = {}
        for node in data:
            if isinstance(node, dict) and "credentials" in node:
                creds = node["credentials"]
                node = {k: v for k, v in node.items() if k != "credentials"}
                nid = node.get("id")
                if isinstance(creds, dict) and isinstance(nid, str):
                    merged = dict(taken.get(nid) or self.engine.credentials.get(nid, {}))
                    merged.update({k: v for k, v in creds.items() if v != "__PWRD__"})
                    taken[nid] = merged
            cleaned.append(node)
        return cleaned, taken

    async def _commit_credentials(self, data: list, new_credentials: dict[str, dict[str, Any]]) -> None:
        """After a successful deploy: store the deploy's credentials, and forget those of every
        node that is no longer in the flows (as Node-RED's credentials.clean does), so that a
        later node given the same id does not inherit them."""
        store = self.security.credentials
        for nid, values in new_credentials.items():
            if store.is_open:
                await store.put(nid, values)
        deployed = {n["id"] for n in data if isinstance(n, dict) and isinstance(n.get("id"), str)}
        stale = set(self.engine.credentials) - deployed
        if store.is_open:
            stale |= await store.node_ids() - deployed
        for nid in sorted(stale):
            self.engine.credentials.pop(nid, None)
            if store.is_open:
                await store.delete(nid)
        if stale:
            log.info("removed the stored credentials of %d nodes that are no longer deployed", len(stale))

    async def reload(self, author: str) -> str | None:
        """Node-RED's `reload` deploy: start the stored flows again."""
        active = await self.revisions.active()
        if active is None:
            raise FlowValidationError([ValidationIssue(None, None, "", "there are no stored flows to reload")])
        return await self.deploy(active.doc, author=author, mode="reload", boot=True)

    def _write_back(self, data: list, to_file: bool = True) -> None:
        """Deployed flows are written, pretty and atomically, to the data dir and to the FILE."""
        text = json.dumps(data, indent=4, ensure_ascii=False) + "\n"
        paths = [self.flows_path] + ([self.flows_file] if to_file and self.flows_file is not None else [])
        for path in paths:
            try:
                exists = path.exists()
                if exists and path.read_text(encoding="utf-8") == text:
                    continue
                # The data dir's copy is private (0600); the user's FILE keeps the mode it has.
                mode = 0o600 if path == self.flows_path else (stat.S_IMODE(path.stat().st_mode) if exists else None)
                tmp = path.with_name(f".{path.name}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    if mode is not None and os.name == "posix":
                        os.fchmod(fh.fileno(), mode)  # also when a stale temp file was left behind
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("could not write the flows to %s: %s", path, exc)

    # ------------------------------------------------------------------ read side (API)
    def current_flows(self) -> list:
        return self.engine.document.raw if self.engine.document is not None else []

    def current_rev(self) -> str | None:
        return self.active_rev

    def state_summary(self, details: bool = False) -> dict:
        if self.safe_mode:
            state = "safe"
        elif self._deploying:
            state = "deploying"
        elif self.engine.started:
            state = "running"
        else:
            state = "stopped"
        out: dict[str, Any] = {"state": state, "rev": self.active_rev,
                               "uptime": round(time.time() - self.started_at, 3)}
        if details:
            out["nodes"] = {nid: {"type": n.type, "name": n.name, "status": n._last_status,
                                  "queued": len(n._inbox), "dropped": n._inbox.dropped}
                            for nid, n in self.engine.nodes.items()}
            out["errors"] = self.engine.error_count
        return out

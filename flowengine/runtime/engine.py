"""The Engine: validate -> build -> start -> run -> stop a flow document.

It is the `NodeHost` every node talks to: it routes errors to catch nodes, status to status
nodes and finished messages to complete nodes, resolves env vars through the scope chain and
hands out context. Deploys are atomic: a document that fails validation or whose nodes fail
to start leaves the previous flows running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from ..clock import Clock, RealClock
from ..envsubst import substitute_properties
from ..errors import FlowValidationError, ValidationIssue
from ..flowdoc import (
    JS_FUNCTION_TYPE,
    JS_FUNCTION_WARNING,
    FlowDocument,
    check_graph,
    errors_only,
    is_flow_node,
    load_document,
    validate_node,
)
from ..inbox import Inbox
from ..jsvalue import UNDEFINED, json_loads, to_number
from ..message import Message, clone_message, new_msgid
from ..node import Node
from ..registry import Registry
from .builder import SUBFLOW_IN, SUBFLOW_OUT, Plan, Scope, build_plan
from .changes import changed_nodes
from .context import ContextStores, MemoryStore, ScopedContext
from .events import EventBus
from .graph import strongly_connected
from .internal import InertNode, SubflowIn, SubflowOut

log = logging.getLogger("flowengine.engine")

# Env var names never handed to flows (they carry the process's own secrets).
_HIDDEN_PREFIX = "FLOWENGINE_"  # our own settings, secrets included, are not the flows' business
_ERROR_LOOP_LIMIT = 10


_ENGINE_ATTRIBUTES = {"_inbox": Inbox, "_wires": list, "_tasks": set, "_handling": bool, "_cycle": int,
                      "_watched_complete": bool, "_handled": int, "_errors": int}


def _engine_attribute_clash(node: Node) -> str | None:
    """The name of an engine-owned attribute a node's own code replaced, if any (third-party
    nodes share the instance namespace with the engine's private fields)."""
    for name, kind in _ENGINE_ATTRIBUTES.items():
        if not isinstance(getattr(node, name, None), kind):
            return name
    return None


class Engine:
    def __init__(self, registry: Registry, *, clock: Clock | None = None,
                 contexts: ContextStores | None = None, inbox_capacity: int = 64,
                 settings: dict[str, Any] | None = None, stop_timeout: float = 5.0,
                 blocking_workers: int = 4):
        self.registry = registry
        self.clock: Clock = clock or RealClock()
        self.contexts = contexts or ContextStores({"memory": MemoryStore()})
        self.inbox_capacity = inbox_capacity
        self.settings = dict(settings or {})
        self.stop_timeout = stop_timeout
        self.events = EventBus()
        self.nodes: dict[str, Node] = {}
        # Secrets by node id, kept apart from the flow document (Node-RED's flows_cred.json).
        self.credentials: dict[str, dict[str, Any]] = {}
        self.document: FlowDocument | None = None
        self.plan: Plan | None = None
        self.started = False
        self._node_scope: dict[str, Scope] = {}
        self._contexts_cache: dict[tuple[str, str], ScopedContext] = {}
        self._complete_watchers: dict[str, list[Node]] = {}
        self._tasks: list[asyncio.Task] = []
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=blocking_workers,
                                                               thread_name_prefix="flowengine-blocking")
        self._deploy_lock = asyncio.Lock()
        self.error_count = 0

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        await self.contexts.open()

    async def close(self, drain: float = 0.0) -> None:
        await self.stop_flows(drain=drain)
        await self.contexts.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def validate(self, data: Any) -> tuple[FlowDocument | None, list[ValidationIssue]]:
        """Every problem in `data`, as the deploy would meet it: graph checks, then each node as
        it will run (subflow clones with their instance env, `${NAME}` resolved) parsed by its
        type's model and compiled."""
        doc, issues = load_document(data)
        if doc is None:
            return None, issues
        issues += check_graph(doc, self.registry)
        try:  # even with graph errors: every problem is reported at once
            plan = build_plan(doc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            if not errors_only(issues):  # else the graph errors above already say why
                issues.append(ValidationIssue(None, None, "", f"cannot expand the flows: {exc}"))
            return doc, issues
        config_nodes = {nid: np_.spec for nid, np_ in plan.nodes.items() if not is_flow_node(np_.spec)}
        config_nodes.update(doc.config_nodes)
        reported: set[str] = set()
        for nid, np_ in plan.nodes.items():
            spec = np_.spec
            ntype = spec["type"]
            if ntype in (SUBFLOW_IN, SUBFLOW_OUT):
                continue
            origin = spec.get("_alias") or nid
            cls = self.registry.get(ntype)
            if cls is None:
                if origin not in reported:  # once per definition node, not per subflow instance
                    reported.add(origin)
                    if ntype == JS_FUNCTION_TYPE:
                        issues.append(ValidationIssue(nid, ntype, "func", JS_FUNCTION_WARNING, "warning"))
                    else:
                        issues.append(ValidationIssue(nid, ntype, "type", f"unknown node type {ntype!r} "
                                                      "(is its node pack installed?)"))
                continue
            props = substitute_properties(spec, lambda name, np_=np_, spec=spec: self._env_lookup(
                np_.scope, spec, name, doc.groups))
            issues += validate_node(cls, props, config_nodes)
        return doc, issues

    async def deploy(self, data: Any, mode: str = "full",
                     validated: tuple[FlowDocument, list[ValidationIssue]] | None = None,
                     credentials: dict[str, dict[str, Any]] | None = None) -> list[ValidationIssue]:
        """Validate and start `data`, replacing what runs. Raises FlowValidationError (and
        keeps the old flows running) when anything is wrong. Returns the warnings.

        mode `full` restarts everything; `nodes` restarts only nodes whose properties, wiring
        or env changed (and users of changed config nodes), while untouched nodes keep running
        and keep their queued messages; `flows` restarts every node of a tab or subflow instance
        in which anything changed. `validated` is what `validate(data)` returned, when the
        caller already has it (validation compiles every expression: not twice per deploy).
        `credentials` replaces the credentials map for the new flows (nodes read theirs when they
        are made); a failed deploy puts the old map back before the previous flows restart."""
        async with self._deploy_lock:
            doc, issues = validated or self.validate(data)  # the caller may have validated already
            if doc is None or errors_only(issues):
                raise FlowValidationError(errors_only(issues) or issues)
            kept_credentials = self.credentials
            if credentials is not None:
                self.credentials = credentials
            try:
                return await self._deploy_valid(doc, issues, mode, kept_credentials)
            except BaseException:
                self.credentials = kept_credentials
                raise

    async def _deploy_valid(self, doc: FlowDocument, issues: list[ValidationIssue], mode: str,
                            kept_credentials: dict[str, dict[str, Any]]) -> list[ValidationIssue]:
        if mode in ("nodes", "flows") and self.nodes and self.plan is not None:
            await self._deploy_changes(doc, mode, kept_credentials)
            return [i for i in issues if i.severity != "error"]
        previous, previous_plan = self.document, self.plan
        await self.stop_flows()
        try:
            await self._start(doc)
        except Exception as exc:
            log.error("deploy failed, restoring the previous flows: %s", exc)
            await self.stop_flows()
            self.credentials = kept_credentials
            if previous is not None:
                await self._start(previous)
            if isinstance(exc, FlowValidationError):
                raise
            raise FlowValidationError([ValidationIssue(None, None, "", f"deploy failed: {exc}")]) from exc
        self._forget_removed_context(previous_plan, self.plan)
        self.events.publish("deploy", None, {"nodes": len(self.nodes)})
        return [i for i in issues if i.severity != "error"]

    def _forget_removed_context(self, old: Plan | None, new: Plan | None) -> None:
        """Node context of nodes that are gone, and flow context of tabs and subflow instances
        that are gone, is deleted (as Node-RED does); everything still deployed keeps its state."""
        if old is None or new is None:
            return

        def node_scopes(plan: Plan) -> set[str]:
            return {f"{nid}:{np_.scope.id}" for nid, np_ in plan.nodes.items()}

        for scope in node_scopes(old) - node_scopes(new):
            self.contexts.delete_scope(scope)
        for scope in set(old.scopes) - set(new.scopes) - {"global"}:
            self.contexts.delete_scope(scope)

    async def _start(self, doc: FlowDocument) -> None:
        plan = build_plan(doc)
        self.plan = plan  # env lookups while instantiating read this plan's groups
        nodes: dict[str, Node] = {}
        issues: list[ValidationIssue] = []
        for nid, np_ in plan.nodes.items():
            node = self._instantiate(np_.spec, np_.scope, issues)
            if node is not None:
                nodes[nid] = node
                self._node_scope[nid] = np_.scope
        if issues:
            raise FlowValidationError(issues)
        self.document, self.nodes = doc, nodes
        self._wire(plan)
        await self._start_nodes(list(nodes.values()))  # config nodes first: their users expect them ready
        self.started = True

    # ------------------------------------------------------------------ partial deploys
    async def _deploy_changes(self, doc: FlowDocument, mode: str,
                              kept_credentials: dict[str, dict[str, Any]]) -> None:
        old_plan, old_nodes, previous = self.plan, self.nodes, self.document
        assert old_plan is not None
        new_plan = build_plan(doc)
        restart = changed_nodes(old_plan, new_plan, mode)
        removed = set(old_plan.nodes) - set(new_plan.nodes)
        # 1. Build the replacements first: a node that cannot be made leaves everything running.
        self.plan = new_plan
        fresh: dict[str, Node] = {}
        issues: list[ValidationIssue] = []
        for nid in restart:
            node = self._instantiate(new_plan.nodes[nid].spec, new_plan.nodes[nid].scope, issues)
            if node is not None:
                fresh[nid] = node
        if issues:
            self.plan = old_plan
            raise FlowValidationError(issues)
        # 2. Rewire everything to the new graph: untouched nodes now send to the replacements,
        #    whose inboxes hold messages until they start.
        merged = {nid: fresh.get(nid) or old_nodes[nid] for nid in new_plan.nodes}
        self.nodes, self.document = merged, doc
        self._node_scope = {nid: np_.scope for nid, np_ in new_plan.nodes.items()}
        self._contexts_cache = {}
        self._wire(new_plan)
        # 3. Retire the old versions; what they still held moves to their replacement.
        retiring = [old_nodes[nid] for nid in (restart | removed) if nid in old_nodes]
        await self._retire(retiring, fresh)
        # 4. Start the replacements.
        try:
            await self._start_nodes(list(fresh.values()))
        except FlowValidationError:
            log.error("partial deploy failed to start; restoring the previous flows in full")
            await self.stop_flows()
            self.plan = old_plan
            self.credentials = kept_credentials
            if previous is not None:
                await self._start(previous)
            raise
        self._forget_removed_context(old_plan, new_plan)
        self.events.publish("deploy", None, {"nodes": len(self.nodes), "restarted": len(fresh),
                                             "removed": len(removed), "mode": mode})

    async def _retire(self, nodes: list[Node], replacements: dict[str, Node]) -> None:
        for node in nodes:
            node._stopping = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(node.quiesce(), timeout=self.stop_timeout)
            for task in (getattr(node, "_source_task", None), node._worker_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                    if task in self._tasks:
                        self._tasks.remove(task)
            successor = replacements.get(node.id)
            node._inbox.retire(successor._inbox if successor is not None else None)
            for task in list(node._tasks):
                task.cancel()
            for hook in (node.stop, node.safe_state):
                try:
                    await asyncio.wait_for(hook(), timeout=self.stop_timeout)
                except Exception:
                    log.exception("node %s (%s) did not stop cleanly", node.id, node.type)

    async def _start_nodes(self, nodes: list[Node]) -> None:
        order = sorted(nodes, key=lambda n: 0 if n.is_config else 1)
        issues: list[ValidationIssue] = []
        for node in order:
            try:
                await asyncio.wait_for(node.start(), timeout=self.settings.get("start_timeout", 15.0))
            except Exception as exc:
                issues.append(ValidationIssue(node.id, node.type, getattr(exc, "field", ""),
                                              f"failed to start: {exc}"))
        if issues:
            raise FlowValidationError(issues)
        loop = asyncio.get_running_loop()
        for node in order:
            if not node.is_config:
                node._worker_task = loop.create_task(node._work(), name=f"node:{node.id}")
                self._tasks.append(node._worker_task)
            if node.run is not None:
                node._source_task = loop.create_task(self._run_source(node), name=f"source:{node.id}")
                self._tasks.append(node._source_task)

    def _instantiate(self, spec: dict, scope: Scope, issues: list[ValidationIssue]) -> Node | None:
        ntype = spec["type"]
        if ntype == SUBFLOW_IN:
            cls: type[Node] | None = SubflowIn
        elif ntype == SUBFLOW_OUT:
            cls = SubflowOut
        else:
            cls = self.registry.get(ntype)
            if cls is None:
                cls = InertNode  # JS function nodes: kept, inert, reported by validation
        props = substitute_properties(spec, lambda name: self._env_lookup(scope, spec, name))
        secret = self.credentials.get(spec.get("id", "")) or self.credentials.get(spec.get("_alias") or "")
        if secret:
            props = {**props, "credentials": {**(props.get("credentials") or {}), **secret}}
        try:
            config = cls.Config.model_validate(props)
            node = cls(props, config, self)
            node.setup()
        except Exception as exc:
            issues.append(ValidationIssue(spec.get("id"), ntype, getattr(exc, "field", ""), str(exc)))
            return None
        clash = _engine_attribute_clash(node)
        if clash:
            issues.append(ValidationIssue(spec.get("id"), ntype, "", f"node type {ntype!r} ({cls.__module__}) "
                                          f"overwrites the engine's attribute {clash!r}; rename it in the node"))
            return None
        node._inbox.capacity = self.inbox_capacity
        node._inbox.drop_oldest = node.overflow == "drop_oldest"
        return node

    def _wire(self, plan: Plan) -> None:
        nodes = self.nodes
        link_ins_by_out: dict[str, list[str]] = {}
        for nid, node in nodes.items():
            if node.type == "link in":
                for src in node.spec.get("links") or []:
                    link_ins_by_out.setdefault(src, []).append(nid)
        edges: dict[str, set[str]] = {nid: set() for nid in nodes}
        for node in nodes.values():  # a rewire after a partial deploy starts from scratch
            node._watched_complete = False
            node._cycle = -1
        for nid, np_ in plan.nodes.items():
            node = nodes.get(nid)
            if node is None:
                continue
            wires = [[nodes[t] for t in port if t in nodes] for port in np_.wires]
            if node.type == "link out" and node.spec.get("mode", "link") == "link":
                targets = list(dict.fromkeys(list(node.spec.get("links") or []) + link_ins_by_out.get(nid, [])))
                wires = [[nodes[t] for t in targets if t in nodes and nodes[t].type == "link in"]]
            node._wires = wires
            node._single = wires[0][0] if len(wires) == 1 and len(wires[0]) == 1 else None
            for port in wires:
                edges[nid].update(t.id for t in port)
        # catch / status / complete scopes
        for scope in plan.scopes.values():
            scope.catch_nodes, scope.status_nodes = [], []
        self._complete_watchers = {}
        for node in nodes.values():
            scope = self._node_scope[node.id]
            if node.type == "catch":
                scope.catch_nodes.append(node)
            elif node.type == "status":
                scope.status_nodes.append(node)
            elif node.type == "complete":
                for target in node.spec.get("scope") or []:
                    self._complete_watchers.setdefault(target, []).append(node)
        for target_id in self._complete_watchers:
            if target_id in nodes:
                nodes[target_id]._watched_complete = True
        # Error, status and complete deliveries never wait (they are posted, bounded), so they
        # cannot close a deadlocking cycle and are not edges here: a retry loop through a catch
        # node keeps its backpressure.
        calls = [n.id for n in nodes.values() if n.type == "link call"]
        for node in nodes.values():
            if node.type == "link out" and node.spec.get("mode") == "return":
                edges[node.id].update(calls)
            if node.type == "link call":
                edges[node.id].update(n.id for n in nodes.values() if n.type == "link in")
        for index, component in enumerate(strongly_connected(edges)):
            if len(component) > 1 or next(iter(component)) in edges[next(iter(component))]:
                for nid in component:
                    nodes[nid]._cycle = index

    async def _run_source(self, node: Node) -> None:
        try:
            await node.run()  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("source node %s stopped with an error", node.id)
            node.error(exc)

    async def stop_flows(self, drain: float = 0.0) -> None:
        """Stop everything: sources first, then let messages in flight finish for up to `drain`
        seconds, then workers, then each node's stop() with a timeout."""
        if not self.nodes:
            return
        for node in self.nodes.values():
            try:
                await asyncio.wait_for(node.quiesce(), timeout=self.stop_timeout)
            except Exception:
                log.exception("node %s (%s) failed to quiesce", node.id, node.type)
        tasks, self._tasks = self._tasks, []
        sources = [t for t in tasks if t.get_name().startswith("source:")]
        for t in sources:
            t.cancel()
        await asyncio.gather(*sources, return_exceptions=True)
        if drain > 0:
            await self._drain(drain)
        for node in self.nodes.values():
            node._stopping = True  # timers that still fire cannot start new work
        workers = [t for t in tasks if t not in sources]
        for t in workers:
            t.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for node in self.nodes.values():
            for t in list(node._tasks):
                t.cancel()
        for node in sorted(self.nodes.values(), key=lambda n: 1 if n.is_config else 0):
            try:
                await asyncio.wait_for(node.stop(), timeout=self.stop_timeout)
            except Exception:
                log.exception("node %s (%s) did not stop cleanly", node.id, node.type)
            try:
                await asyncio.wait_for(node.safe_state(), timeout=self.stop_timeout)
            except Exception:
                log.exception("node %s (%s) failed to reach its safe state", node.id, node.type)
            leftover = list(node._tasks)
            for t in leftover:
                t.cancel()
            if leftover:
                _, stuck = await asyncio.wait(leftover, timeout=self.stop_timeout)
                if stuck:
                    log.error("node %s (%s): %d tasks ignored cancellation", node.id, node.type, len(stuck))
        self.nodes = {}
        self._node_scope = {}
        self._contexts_cache = {}
        self.started = False

    async def _drain(self, deadline_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while loop.time() < deadline:
            if not any(len(n._inbox) or n._handling for n in self.nodes.values()):
                return
            await asyncio.sleep(0.01)
        pending = sum(len(n._inbox) for n in self.nodes.values())
        log.warning("shutdown: %d messages still queued after %.1f s; dropping them", pending, deadline_s)

    # ------------------------------------------------------------------ NodeHost
    def handle_error(self, node: Node, error: BaseException | str, msg: Message | None) -> None:
        self.error_count += 1
        node._errors += 1
        text = str(error) if not isinstance(error, BaseException) else (str(error) or type(error).__name__)
        count = 1
        if msg is not None:
            prev = msg.get("error")
            if isinstance(prev, dict) and isinstance(prev.get("source"), dict) \
                    and prev["source"].get("id") == node.id:
                count = int(prev["source"].get("count", 0)) + 1
                if count >= _ERROR_LOOP_LIMIT:
                    log.warning("node %s: error loop detected, message dropped", node.id)
                    return
        log.error("[%s:%s] %s", node.type, node.name or node.id, text)
        self.events.publish("log", node.id, {"level": "error", "msg": text})
        if msg is None:
            return  # as in Node-RED: only an error tied to a message reaches catch nodes
        scope: Scope | None = self._node_scope.get(node.id)
        reporter_ids = {node.id}
        while scope is not None:
            if self._deliver_error(scope, node, reporter_ids, text, msg, count, error):
                return
            if scope.kind == "subflow" and scope.instance_id:
                reporter_ids.add(scope.instance_id)
            scope = scope.parent

    def _deliver_error(self, scope: Scope, node: Node, reporter_ids: set[str], text: str,
                       msg: Message | None, count: int, error: Any) -> bool:
        if not scope.catch_nodes:
            return False
        groups = self._group_chain(node)
        candidates: list[Node] = []
        uncaught: list[Node] = []
        for catch in scope.catch_nodes:
            if catch.id == node.id:
                continue  # a catch node never catches its own error
            sc = catch.spec.get("scope")
            if isinstance(sc, list):
                if not reporter_ids.intersection(sc):
                    continue
            elif sc == "group" and (catch.g is None or catch.g not in groups):
                continue
            if catch.spec.get("uncaught"):
                uncaught.append(catch)
            else:
                candidates.append(catch)
        targets = candidates or uncaught
        if not targets:
            return False
        base = clone_message(msg)
        for i, catch in enumerate(targets):
            m = base if i == 0 else clone_message(base)
            if "error" in m:
                m["_error"] = m.pop("error")
            source = {"id": node.id, "type": node.type, "count": count}
            if node.name:
                source["name"] = node.name
            err = {"message": text, "source": source}
            if isinstance(error, BaseException):
                err["stack"] = f"{type(error).__name__}: {text}"
            m["error"] = err
            m.setdefault("_msgid", new_msgid())
            self._post(catch, m)
        return True

    def _group_chain(self, node: Node) -> list[str]:
        chain, g = [], node.g
        groups = self.plan.groups if self.plan else {}
        while g and g not in chain:
            chain.append(g)
            g = (groups.get(g) or {}).get("g")
        return chain

    def handle_status(self, node: Node, status: dict) -> None:
        self.events.publish("status", node.id, status)
        scope = self._node_scope.get(node.id)
        if scope is None or not scope.status_nodes:
            return
        groups = self._group_chain(node)
        source = {"id": node.id, "type": node.type, "name": node.name}
        for st in scope.status_nodes:
            sc = st.spec.get("scope")
            if isinstance(sc, list) and node.id not in sc:
                continue
            if sc == "group" and (st.g is None or st.g not in groups):
                continue
            if st.id == node.id:
                continue
            self._post(st, {"_msgid": new_msgid(), "status": {**status, "source": dict(source)}})

    def handle_complete(self, node: Node, msg: Message) -> None:
        for watcher in self._complete_watchers.get(node.id, ()):
            m = clone_message(msg)
            source = {"id": node.id, "type": node.type}
            if node.name:
                source["name"] = node.name
            m["complete"] = {"source": source}
            self._post(watcher, m)

    def _post(self, node: Node, msg: Message) -> None:
        """Deliver an engine-made message (error, status, complete) without waiting; past a bound
        the message is dropped and counted, so an error storm cannot grow memory."""
        inbox = node._inbox
        if len(inbox) >= max(4 * inbox.capacity, 256):
            inbox.dropped += 1
            if inbox.dropped in (1, 10, 100, 1000) or inbox.dropped % 10_000 == 0:
                log.warning("node %s (%s) is not keeping up: %d messages dropped", node.id, node.type,
                            inbox.dropped)
            return
        inbox.put_nowait(msg)

    def context_for(self, node: Node, scope_name: str) -> ScopedContext:
        key = (node.id, scope_name)
        ctx = self._contexts_cache.get(key)
        if ctx is not None:
            return ctx
        scope = self._node_scope.get(node.id)
        if scope_name == "global":
            ctx = ScopedContext(self.contexts, "global")
        elif scope_name == "flow":
            ctx = self._flow_context(scope)
        else:
            ctx = ScopedContext(self.contexts, f"{node.id}:{scope.id if scope else node.z}")
        self._contexts_cache[key] = ctx
        return ctx

    def _flow_context(self, scope: Scope | None) -> ScopedContext:
        if scope is None or scope.kind == "global":
            return ScopedContext(self.contexts, "global")
        parent = self._flow_context(scope.parent) if scope.parent is not None else None
        return ScopedContext(self.contexts, scope.id, parent)

    def env_get(self, node: Node, name: str) -> Any:
        scope = self._node_scope.get(node.id)
        value = self._env_lookup(scope, node.spec, name)
        return UNDEFINED if value is None else value

    def _env_lookup(self, scope: Scope | None, spec: dict, name: str, groups: dict | None = None) -> Any:
        special = self._special_env(scope, spec, name)
        if special is not None:
            return special
        if groups is None:
            groups = self.plan.groups if self.plan else {}
        g = spec.get("g")
        seen: set[str] = set()
        while g and g not in seen:
            seen.add(g)
            grp = groups.get(g) or {}
            found = self._env_entry(grp.get("env") or [], name, scope)
            if found is not None:
                return found
            g = grp.get("g")
        while scope is not None:
            found = self._env_entry(scope.env, name, scope.parent)
            if found is not None:
                return found
            if scope.kind == "subflow" and scope.definition is not None:
                found = self._env_entry(scope.definition.get("env") or [], name, scope.parent)
                if found is not None:
                    return found
            scope = scope.parent
        if name.startswith(_HIDDEN_PREFIX):
            return None
        return os.environ.get(name)

    def _special_env(self, scope: Scope | None, spec: dict, name: str) -> Any:
        if not name.startswith("NR_"):
            return None
        if name == "NR_NODE_ID":
            return spec.get("id")
        if name == "NR_NODE_NAME":
            return spec.get("name", "")
        if name == "NR_NODE_PATH":
            return f"{scope.path}/{spec.get('id')}" if scope else spec.get("id")
        tab = scope
        while tab is not None and tab.kind != "tab":
            tab = tab.parent
        if name == "NR_FLOW_ID":
            return tab.id if tab else None
        if name == "NR_FLOW_NAME":
            return tab.name if tab else None
        if name in ("NR_SUBFLOW_ID", "NR_SUBFLOW_NAME", "NR_SUBFLOW_PATH"):
            sub = scope
            while sub is not None and sub.kind != "subflow":
                sub = sub.parent
            if sub is None:
                return None
            return {"NR_SUBFLOW_ID": sub.id, "NR_SUBFLOW_NAME": sub.name, "NR_SUBFLOW_PATH": sub.path}[name]
        if name in ("NR_GROUP_ID", "NR_GROUP_NAME"):
            g = spec.get("g")
            groups = self.plan.groups if self.plan else {}
            if not g:
                return None
            return g if name == "NR_GROUP_ID" else (groups.get(g) or {}).get("name", "")
        return None

    def _env_entry(self, entries: list[dict], name: str, outer: Scope | None) -> Any:
        for entry in entries:
            if entry.get("name") != name:
                continue
            etype, value = entry.get("type", "str"), entry.get("value")
            if etype == "num":
                return to_number(value)
            if etype == "bool":
                return value is True or str(value).lower() == "true"
            if etype == "json":
                try:
                    return json_loads(value) if isinstance(value, str) else value
                except ValueError:
                    return value
            if etype == "env":
                return self._env_lookup(outer, {}, str(value))
            return value
        return None

    def emit_event(self, kind: str, node: Node | None, data: Any) -> None:
        self.events.publish(kind, node.id if node else None, data)

    def config_node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def find_node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def find_link_in(self, target: str) -> Node | None:
        node = self.nodes.get(target)
        if node is not None and node.type == "link in":
            return node
        matches = [n for n in self.nodes.values() if n.type == "link in" and n.name == target]
        return matches[0] if len(matches) == 1 else None

    def run_blocking(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    # ------------------------------------------------------------------ driving from outside
    async def inject(self, node_id: str, msg: Message) -> None:
        """Deliver `msg` to a node's inbox as if it came down a wire (tests, API)."""
        node = self.nodes[node_id]
        msg.setdefault("_msgid", new_msgid())
        await node._inbox.put(msg)

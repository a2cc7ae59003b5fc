"""The Node API: one base class every node type implements.

A node type is a subclass with a `type` name, a pydantic `Config` model (which validates the
node's properties, drives the editor form and documents the node), and async hooks:

    start()            after every node of the deploy exists; open connections here
    on_message(msg)    one message from the node's inbox; `await self.send(...)` to emit
    run()              optional: a source loop owned and cancelled by the engine
    stop()             on undeploy/shutdown; release everything
    safe_state()       actuators only: put hardware in its safe position

Everything a node touches comes through `self`: send, done, error, warn, status, context,
env, clock, run_blocking, spawn. This module imports nothing from the runtime: the engine
hands each node a `NodeHost` that implements routing, context and events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from .clock import Clock
from .inbox import Inbox
from .message import Message, clone_message, new_msgid


class NodeConfig(BaseModel):
    """Base of every node's config model. Unknown properties are kept (Node-RED exports carry
    editor-only fields), and Node-RED's string-typed numbers are accepted."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    name: str = ""


class Context(Protocol):
    """One context scope (node, flow or global). `store` picks a configured store."""

    def get(self, key: str, store: str | None = None) -> Any: ...
    def set(self, key: str, value: Any, store: str | None = None) -> None: ...
    def keys(self, store: str | None = None) -> list[str]: ...


class NodeHost(Protocol):
    """What the engine provides to a node; implemented in flowengine.runtime."""

    clock: Clock

    def handle_error(self, node: Node, error: BaseException | str, msg: Message | None) -> None: ...
    def handle_status(self, node: Node, status: dict) -> None: ...
    def handle_complete(self, node: Node, msg: Message) -> None: ...
    def context_for(self, node: Node, scope: str) -> Context: ...
    def env_get(self, node: Node, name: str) -> Any: ...
    def emit_event(self, kind: str, node: Node | None, data: Any) -> None: ...
    def config_node(self, node_id: str) -> Node | None: ...
    def find_node(self, node_id: str) -> Node | None: ...
    def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]: ...
    def setting(self, name: str, default: Any = None) -> Any: ...


# Sends from a node to a target in the same cycle never wait: waiting there can deadlock.
_YIELD_EVERY = 64


class Node:
    type: ClassVar[str] = ""
    category: ClassVar[str] = "function"
    inputs: ClassVar[int] = 1
    outputs: ClassVar[int] = 1
    Config: ClassVar[type[NodeConfig]] = NodeConfig
    # True when the node calls self.done(msg) itself (e.g. delay, once the message leaves).
    manual_done: ClassVar[bool] = False
    # "block" waits for space; "drop_oldest" keeps the newest (camera frames).
    overflow: ClassVar[str] = "block"
    # Config nodes (no x/y in flows.json, e.g. mqtt-broker) are not wired.
    is_config: ClassVar[bool] = False
    # Secret fields: stored apart from the flow, never exported (flows_cred.json split).
    credentials: ClassVar[dict[str, str]] = {}
    # Short help for the editor and README.
    help: ClassVar[str] = ""
    # How the editor draws the node: a CSS colour, an icon name (web_editor/src/icons, unknown
    # names fall back to a generic one), and a palette label (default: the type).
    color: ClassVar[str | None] = None
    icon: ClassVar[str | None] = None
    palette_label: ClassVar[str | None] = None

    def __init__(self, spec: dict, config: NodeConfig, host: NodeHost | None = None):
        self.id: str = spec["id"]
        self.z: str | None = spec.get("z")
        self.g: str | None = spec.get("g")
        self.alias: str | None = spec.get("_alias")  # id inside a subflow definition
        self.spec = spec
        self.config = config
        self.name: str = config.name or ""
        self.host: NodeHost = host  # type: ignore[assignment]
        self.log = logging.getLogger(f"flowengine.node.{self.type or 'node'}")
        self.creds: dict[str, Any] = dict(spec.get("credentials") or {})
        # Wiring, filled in by the engine: per output port, the target nodes.
        self._wires: list[list[Node]] = []
        self._single: Node | None = None  # the only target of a node with one wire
        self._inbox = Inbox(64)
        self._cycle: int = -1  # strongly-connected component id; -1 = not in a cycle
        self._watched_complete = False
        self._worker_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._last_status: dict | None = None
        self._handling = False  # handling a message right now (shutdown drains until idle)
        self._stopping = False
        self._handled = 0  # messages handled (read by GET /metrics at scrape time)
        self._errors = 0  # errors reported (counted by the engine)

    # ------------------------------------------------------------------ hooks
    def setup(self) -> None:
        """Compile what can be compiled (regex, cron, JSONata); raise ConfigError(field, why).

        Runs at validation and at deploy, before start(); must not do I/O."""

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        """Number of output ports for this config (switch: one per rule)."""
        return cls.outputs

    async def start(self) -> None:
        """Called once every node of the deploy exists."""

    async def on_message(self, msg: Message) -> None:
        """Handle one message; the default passes it through."""
        await self.send(msg)

    run: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def quiesce(self) -> None:
        """Shutdown begins: stop taking new input (unsubscribe, pause reading) and hand anything
        already accepted to the flow (e.g. into the next inboxes), so the drain delivers it.
        Called on every node before sources are cancelled."""

    async def stop(self) -> None:
        """Release resources; the engine cancels run() and spawned tasks itself."""

    async def safe_state(self) -> None:
        """Actuators: go to the safe position. Called at boot, stop, removal, fatal error."""

    # ------------------------------------------------------------------ sending
    async def send(self, msg: Message | list | None) -> None:
        """Emit `msg` on port 0, or a list with one entry per port (None, a msg, or a list of
        msgs). The first delivery gets the original object, every other one a deep copy."""
        if msg is None:
            return
        single = self._single
        if single is not None and type(msg) is dict:
            if "_msgid" not in msg:
                msg["_msgid"] = new_msgid()
            await self._deliver(single, msg)
            return
        for target, m in self._routes(msg):
            await self._deliver(target, m)

    def send_nowait(self, msg: Message | list | None) -> None:
        """Emit without waiting for space: for timer callbacks and other sync code. The node
        is responsible for bounding how much it sends this way."""
        if msg is None:
            return
        for target, m in self._routes(msg):
            target._inbox.put_nowait(m)

    def _routes(self, msg: Message | list) -> list[tuple[Node, Message]]:
        ports = [msg] if type(msg) is dict else msg
        routes: list[tuple[Node, Message]] = []
        wires = self._wires
        first_id = None
        sent = False
        for port, out in enumerate(ports):
            if out is None or port >= len(wires):
                continue
            targets = wires[port]
            if not targets:
                continue
            batch = [out] if type(out) is dict else out
            for m in batch:
                if m is None:
                    continue
                if "_msgid" not in m:
                    m["_msgid"] = first_id or new_msgid()
                first_id = first_id or m["_msgid"]
                for target in targets:
                    routes.append((target, clone_message(m) if sent else m))
                    sent = True
        return routes

    async def _deliver(self, target: Node, msg: Message) -> None:
        inbox = target._inbox
        if (not inbox._putters and len(inbox._items) + inbox._reserved < inbox.capacity) \
                or (self._cycle >= 0 and self._cycle == target._cycle):
            inbox.put_nowait(msg)
        else:
            await inbox.put(msg)

    # ------------------------------------------------------------------ reporting
    def done(self, msg: Message | None = None, error: BaseException | str | None = None) -> None:
        """Finished with `msg`: with an error it goes to catch nodes, else to complete nodes.
        Only nodes with manual_done = True need to call this."""
        if error is not None:
            self.error(error, msg)
        elif msg is not None and self._watched_complete:
            self.host.handle_complete(self, msg)

    def error(self, err: BaseException | str, msg: Message | None = None) -> None:
        """Report an error; catch nodes in scope receive `msg` with `msg.error` set."""
        self.host.handle_error(self, err, msg)

    def warn(self, text: str) -> None:
        self.log.warning("[%s:%s] %s", self.type, self.name or self.id, text)
        self.host.emit_event("log", self, {"level": "warn", "msg": str(text)})

    def status(self, status: dict | None = None, **kw: Any) -> None:
        """`status(fill="green", shape="dot", text="connected")`; `status({})` clears."""
        st = dict(status or {}, **kw)
        if "text" in st and st["text"] is not None and not isinstance(st["text"], str):
            from .jsvalue import to_js_string
            st["text"] = to_js_string(st["text"])  # Node-RED delivers status text as a string
        self._last_status = st
        self.host.handle_status(self, st)

    # ------------------------------------------------------------------ services
    @property
    def context(self) -> Context:
        return self.host.context_for(self, "node")

    @property
    def flow_context(self) -> Context:
        return self.host.context_for(self, "flow")

    @property
    def global_context(self) -> Context:
        return self.host.context_for(self, "global")

    def env(self, name: str) -> Any:
        """An environment variable seen through this node's group/subflow/tab chain."""
        return self.host.env_get(self, name)

    @property
    def clock(self) -> Clock:
        return self.host.clock

    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run blocking work (camera read, inference, GPIO, file I/O) on the bounded pool."""
        return await self.host.run_blocking(fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
        """Start a task the node owns: cancelled when the node stops, errors reported. Once the
        node is stopping nothing new starts (None is returned)."""
        if self._stopping:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.error(task.exception())  # type: ignore[arg-type]

    # ------------------------------------------------------------------ engine side
    async def _work(self) -> None:
        """The node's worker: drain the inbox one message at a time, in order."""
        inbox = self._inbox
        items = inbox._items
        handle = self.on_message
        auto_done = not self.manual_done
        n = 0
        while True:
            if not items:
                n = 0
                await inbox.wait()
                continue
            msg = inbox.pop()
            self._handling = True
            try:
                await handle(msg)
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                    raise  # the engine is stopping this worker
                self._report(RuntimeError("cancelled while handling the message"), msg)
            except Exception as exc:  # a node error goes to catch nodes, never kills the worker
                self._report(exc, msg)
            else:
                if auto_done and self._watched_complete:
                    self.host.handle_complete(self, msg)
            self._handling = False
            self._handled += 1
            n += 1
            if n >= _YIELD_EVERY:  # let other nodes and I/O run during long bursts
                n = 0
                await asyncio.sleep(0)

    def _report(self, exc: BaseException, msg: Message) -> None:
        try:
            self.error(exc, msg)
        except Exception:
            self.log.exception("node %s: reporting an error failed", self.id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type} {self.id}>"

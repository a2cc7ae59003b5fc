"""python-function: run a Python function body on each message, in a worker process.

Each node owns one worker process (nodes/function/worker.py) that runs the user's code, so a
runaway loop never blocks the engine: after `timeout` seconds the worker is killed (SIGKILL to
its process group), the message is reported to catch nodes, and a fresh worker (re-running
`initialize`) takes the next message. Messages cross as pickles over pipes, one round trip per
message; context and env reads from the code are RPCs answered here, on the event loop.

Messages are numbered; node.send and node.done frames carry the number of the message whose
handling started the calling code (threads inherit it, see worker.inherit_context), so calls made
after the body returned act for the right message. Messages still waiting for node.done() are
kept in `_open`, bounded by the max_buffered setting.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import itertools
import os
import pickle
import re
import signal
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig
from flowengine.fields import OptionalInt, OptionalNumber, Text
from flowengine.jsvalue import UNDEFINED

from . import worker as _worker_mod
from .worker import HEADER, compile_sources, syntax_error_text

WORKER_SCRIPT = str(Path(_worker_mod.__file__).resolve())
# Seconds (real time) for the stop sequence: finalize, then a clean exit, then SIGKILL.
FINALIZE_TIMEOUT = 2.0
EXIT_TIMEOUT = 1.0
MAX_HANDLES = 10_000
# The engine hides these from env.get (its settings and secrets); the worker must not see them either.
HIDDEN_ENV_PREFIX = "FLOWENGINE_"
_USES_DONE = re.compile(r"\bnode\s*\.\s*done\b")
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None), bytes, bytearray, tuple})


def uses_done(code: str) -> bool:
    """Whether the code refers to node.done (a call, or the method handed to a callback): then the
    code finishes its messages itself. Read from the syntax tree, so a comment or a string that
    mentions node.done() does not count; code that does not parse falls back to the text."""
    body = "def _body():\n" + "".join(f"    {line}\n" for line in code.splitlines()) + "    pass\n"
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return bool(_USES_DONE.search(code))
    return any(isinstance(n, ast.Attribute) and n.attr == "done" and isinstance(n.value, ast.Name)
               and n.value.id == "node" for n in ast.walk(tree))


class PythonFunctionConfig(NodeConfig):
    func: Text = Field("return msg", description="the function body: receives `msg`, returns what to send")
    outputs: OptionalInt = Field(1, ge=0, description="number of output ports")
    timeout: OptionalNumber = Field(None, ge=0, description="seconds before a running call is killed; "
                                                            "0 or blank = the function_timeout setting")
    initialize: Text = Field("", description="code run once when the node starts")
    finalize: Text = Field("", description="code run once when the node stops")


class _Died(Exception):
    """The worker process ended while handling a message."""


class _TimedOut(Exception):
    pass


class _Worker:
    """One worker process and the state of the conversation with it."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.proc: asyncio.subprocess.Process | None = None
        self.ready: asyncio.Future = loop.create_future()  # result: None, or the init error text
        self.pending: asyncio.Future | None = None  # the current message's outcome
        self.finalized: asyncio.Future | None = None
        self.task: asyncio.Task | None = None
        self.killed = False
        self.dead = False

    def write(self, frame: tuple[bytes, bytes]) -> None:
        """Send a pickled (head, body); never waits (one message at a time bounds the buffer)."""
        proc = self.proc
        if self.dead or proc is None or proc.stdin is None or proc.stdin.is_closing():
            raise BrokenPipeError("the worker process is gone")
        head, body = frame
        proc.stdin.write(HEADER.pack(len(head) + len(body)))
        proc.stdin.write(head)
        proc.stdin.write(body)

    def kill(self) -> None:
        """SIGKILL the worker and anything it started (it runs in its own process group)."""
        self.killed = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):  # already gone
                    proc.kill()


@dataclass(slots=True)
class _Open:
    """A message the worker may still send for or finish."""

    msg: Message
    worker: _Worker
    handles: list[int] = field(default_factory=list)  # its unpicklable values, kept until it is finished


class _Pickler(pickle.Pickler):
    """Maps UNDEFINED to a marker; with `handles`, anything unpicklable becomes a handle that
    comes back as the same object (msg.res of an http-in, sockets); new handle ids go to `ids`."""

    def __init__(self, file: Any, handles: dict[int, Any] | None, counter: list[int], ids: list[int]):
        super().__init__(file, protocol=5)
        self._handles, self._counter, self._ids = handles, counter, ids

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) in _PLAIN:
            return None
        if obj is UNDEFINED:
            return "U"
        if self._handles is None:
            return None
        try:
            pickle.dumps(obj, protocol=5)
            return None
        except Exception:
            self._counter[0] += 1
            self._handles[self._counter[0]] = obj
            self._ids.append(self._counter[0])
            return ("H", self._counter[0], type(obj).__name__)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, handles: dict[int, Any]):
        super().__init__(file)
        self._handles = handles

    def persistent_load(self, pid: Any) -> Any:
        if pid == "U":
            return UNDEFINED
        if isinstance(pid, tuple) and pid[0] == "H":
            return self._handles.get(pid[1])  # a handle from an earlier message: gone
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


class PythonFunction(Node):
    type = "python-function"
    color = "#fdd0a2"
    icon = "function"
    category = "function"
    Config = PythonFunctionConfig
    manual_done = True
    help = ("Runs a Python function body on each message, in its own worker process. In scope: `msg` "
            "(a dict), `node` (send, status, warn, error, log, done, id, name), `context` (this node), "
            "`flow` and `global_context` (the global context; `global` is a Python keyword), each with "
            "get(key)/set(key, value)/keys() (get gives None for a missing key; set(key) deletes), and "
            "`env.get(name)`. `return msg` sends on port 1, `return [a, b]` one per port, "
            "`return [[a1, a2], None]` several on port 1, `return None` nothing. `initialize` runs once at "
            "start in the node's module namespace (its imports and helpers are visible to the body; "
            "assign them in the body with `global`), `finalize` at stop. A call running longer than "
            "`timeout` seconds (0 = the function_timeout setting) is killed, reported to catch nodes, "
            "and a fresh worker re-runs `initialize`. Values cross to the worker as pickles (bytes keep "
            "their type). node.send and node.done called later from a thread, threading.Timer or "
            "ThreadPoolExecutor task started while handling a message act for that message (threads "
            "start in a copy of the starter's contextvars context; the worker patches Thread.start and "
            "ThreadPoolExecutor.submit for it); at most max_buffered messages wait for node.done(), "
            "then the oldest is dropped. Processes the code starts are killed when the node stops. "
            "The worker's environment has no FLOWENGINE_* variables. This isolates runaway code; it "
            "is not a security sandbox.")

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        outputs = getattr(config, "outputs", 1)
        return 1 if outputs is None else int(outputs)

    def setup(self) -> None:
        cfg: PythonFunctionConfig = self.config  # type: ignore[assignment]
        try:
            compile_sources(cfg.func, cfg.initialize, cfg.finalize)
        except SyntaxError as exc:
            raise ConfigError(getattr(exc, "field", "func"), syntax_error_text(exc)) from exc
        self._uses_done = uses_done(cfg.func)
        self._worker: _Worker | None = None
        self._runs: dict[asyncio.Task, _Worker] = {}  # every worker's task, killed ones included
        self._seqs = itertools.count(1)
        self._open: OrderedDict[int, _Open] = OrderedDict()  # by seq, oldest first
        self._inflight: int | None = None  # the seq being handled by on_message
        self._warned_full = False
        self._stopping = False
        self._handles: dict[int, Any] = {}
        self._handle_counter = [0]
        self._loose: list[int] = []  # handles made outside a message frame (RPC replies)
        self._timeout = 0.0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if not self.host.setting("code_nodes", True):
            raise ConfigError("func", "code nodes are disabled by the code_nodes setting")
        cfg: PythonFunctionConfig = self.config  # type: ignore[assignment]
        timeout = cfg.timeout or 0.0
        if timeout <= 0:
            timeout = float(self.host.setting("function_timeout", 10) or 0)
        self._timeout = max(0.0, timeout)
        self._launch()  # not awaited: messages wait for `initialize`, the deploy does not

    def _launch(self) -> _Worker:
        loop = asyncio.get_running_loop()
        worker = _Worker(loop)
        self._worker = worker
        worker.task = loop.create_task(self._run_worker(worker), name=f"python-function:{self.id}")
        self._runs[worker.task] = worker
        worker.task.add_done_callback(lambda t: self._runs.pop(t, None))
        return worker

    async def _run_worker(self, worker: _Worker) -> None:
        """Start the process, then read its frames until it ends."""
        cfg: PythonFunctionConfig = self.config  # type: ignore[assignment]
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith(HIDDEN_ENV_PREFIX)}
            worker.proc = await asyncio.create_subprocess_exec(
                sys.executable, WORKER_SCRIPT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env=env, start_new_session=True, limit=1 << 20)
            init = {"id": self.id, "name": self.name, "outputs": self.output_count(cfg),
                    "func": cfg.func, "initialize": cfg.initialize, "finalize": cfg.finalize}
            worker.write(self._frame(("init",), init))
        except Exception as exc:  # cannot start a process (fd or process limits)
            worker.dead = True
            self._resolve(worker.ready, f"cannot start the worker process: {exc}")
            if worker.proc is not None:
                worker.kill()
                await self._reap(worker)
            return
        if worker.killed:  # stopped while the process was being started
            worker.kill()
        init_timer = asyncio.get_running_loop().call_later(
            float(self.host.setting("function_init_timeout", 60.0)), self._init_timed_out, worker)
        proc = worker.proc
        assert proc.stdout is not None
        try:
            while True:
                (n,) = HEADER.unpack(await proc.stdout.readexactly(HEADER.size))
                f = io.BytesIO(await proc.stdout.readexactly(n))
                head = pickle.load(f)  # plain values; the body is decoded by _dispatch
                if worker.killed:
                    break  # a killed worker's last words are dropped
                try:
                    await self._dispatch(worker, head, f)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad frame must not end the conversation
                    self.error(exc, self._inflight_msg())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the process ended
        except Exception as exc:  # an unreadable frame head: the conversation cannot go on
            self.error(f"bad data from the worker process: {exc!r}", self._inflight_msg())
        finally:
            init_timer.cancel()
            worker.dead = True
            try:
                await self._reap(worker)
            finally:
                self._worker_ended(worker)

    async def _reap(self, worker: _Worker) -> None:
        proc = worker.proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            worker.kill()
            await proc.wait()
        # Processes the code started (the worker's process group) must not outlive the node. The
        # group's id is not reused while a member lives, so this reaches only what the code left.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def _worker_ended(self, worker: _Worker) -> None:
        """Fail whatever still waits on this worker; report a crash nobody caused."""
        code = worker.proc.returncode if worker.proc is not None else None
        crashed = not worker.killed and not self._stopping
        if not worker.ready.done():
            text = f"the worker process exited during initialize (exit code {code})"
            self._resolve(worker.ready, text)
            if crashed:
                self.error(f"initialize failed: {text}")
        if worker.pending is not None and not worker.pending.done():
            worker.pending.set_exception(_Died(f"the worker process exited (exit code {code}) "
                                               "while handling the message"))
            crashed = False  # reported with the message
        if worker.finalized is not None and not worker.finalized.done():
            worker.finalized.set_result(None)
        for seq, entry in list(self._open.items()):
            if entry.worker is worker and seq != self._inflight:  # on_message settles its own
                self._finish(seq)  # nothing can call node.done() for it any more
        if crashed and worker.ready.done() and worker.ready.result() is None:
            self.error(f"the worker process exited unexpectedly (exit code {code})")

    def _init_timed_out(self, worker: _Worker) -> None:
        if not worker.ready.done():
            worker.kill()
            text = f"initialize did not finish within {self.host.setting('function_init_timeout', 60.0):g} s"
            self._resolve(worker.ready, text)
            self.error(f"initialize failed: {text}")

    @staticmethod
    def _resolve(fut: asyncio.Future, value: Any) -> None:
        if not fut.done():
            fut.set_result(value)

    async def stop(self) -> None:
        self._stopping = True
        worker = self._worker
        if worker is None:
            return
        cfg: PythonFunctionConfig = self.config  # type: ignore[assignment]
        if not worker.ready.done():
            worker.kill()  # still starting: there is nothing to finalize
        elif not worker.dead and worker.ready.result() is None and cfg.finalize.strip():
            worker.finalized = asyncio.get_running_loop().create_future()
            try:
                worker.write(self._frame(("finalize",)))
                err = await asyncio.wait_for(worker.finalized, FINALIZE_TIMEOUT)
                if err:
                    self.error(f"finalize: {err}")
            except TimeoutError:
                self.warn(f"finalize did not finish within {FINALIZE_TIMEOUT:g} s; the worker was stopped")
            except BrokenPipeError:
                pass  # the worker is already gone: nothing to finalize
        if worker.proc is not None and worker.proc.stdin is not None:
            worker.proc.stdin.close()  # the worker exits when its input closes
        for task, w in list(self._runs.items()):  # this worker, and killed ones still being reaped
            try:
                await asyncio.wait_for(asyncio.shield(task), EXIT_TIMEOUT + 0.5)
            except TimeoutError:  # e.g. stuck sending to a stopped node: end it the hard way
                w.kill()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._worker = None
        self._open.clear()
        self._handles.clear()
        self._loose.clear()

    # ------------------------------------------------------------------ messages
    async def _ready_worker(self) -> tuple[_Worker, str | None]:
        """The worker for the next message: a dead one is replaced, unless its initialize failed
        (that needs a new deploy; each message is reported meanwhile)."""
        worker = self._worker
        failed = worker is not None and worker.ready.done() and worker.ready.result() is not None
        if worker is None or (worker.dead and not failed):
            worker = self._launch()
        return worker, await asyncio.shield(worker.ready)

    async def on_message(self, msg: Message) -> None:
        worker, init_error = await self._ready_worker()
        if init_error is not None:
            self.error(f"initialize failed: {init_error}", msg)
            return
        seq = next(self._seqs)
        entry = _Open(msg, worker)
        self._track(seq, entry)
        self._inflight = seq
        try:
            await self._call(worker, seq, entry)
        finally:
            self._inflight = None
            self._release(self._loose)
            if seq in self._open and (not self._uses_done or worker.dead):
                self._finish(seq)  # nothing can call node.done() for it any more

    async def _call(self, worker: _Worker, seq: int, entry: _Open) -> None:
        """Run the body on one message and send what it returns."""
        msg = entry.msg
        loop = asyncio.get_running_loop()
        fut = worker.pending = loop.create_future()
        # Real time, not self.clock: the worker runs in real time, and a runaway must be bounded
        # in real seconds even when tests drive the engine's clock.
        timer = asyncio.get_running_loop().call_later(self._timeout, self._timed_out, worker, fut) \
            if self._timeout > 0 else None
        try:
            try:
                worker.write(self._frame(("msg", seq), msg, entry.handles))
            except BrokenPipeError:
                worker.kill()
                self._resolve(fut, ("fail", "the worker process is gone; restarting it"))
            except Exception as exc:
                self._resolve(fut, ("fail", f"cannot pass the message to the function: {exc}"))
            kind, value = await fut
        except _TimedOut:
            self._finish(seq)
            self.error(f"timed out after {self._timeout:g} s; the worker was restarted", msg)
            return
        except _Died as exc:
            self._finish(seq)
            self.error(str(exc), msg)
            return
        finally:
            if timer is not None:
                timer.cancel()
            worker.pending = None
        if kind == "fail":
            self._finish(seq)
            self.error(value, msg)
            return
        await self._send_out(value, msg, msg.get("_msgid"))
        if not self._uses_done and self._finish(seq) is not None:  # None: the code called done itself
            self.done(msg)

    def _track(self, seq: int, entry: _Open) -> None:
        """Open a message; past max_buffered open ones (node.done() never called) the oldest goes."""
        limit = int(self.host.setting("max_buffered", 10_000) or 0)
        while limit > 0 and len(self._open) >= limit:
            _, old = self._open.popitem(last=False)
            self._release(old.handles)
            if not self._warned_full:
                self._warned_full = True
                self.warn(f"more than {limit} messages wait for node.done(): dropping the oldest")
        self._open[seq] = entry

    def _finish(self, seq: int | None) -> _Open | None:
        """Close a message (None if it is not open) and free its handles."""
        entry = self._open.pop(seq, None) if seq is not None else None
        if entry is not None:
            self._release(entry.handles)
        return entry

    def _release(self, ids: list[int]) -> None:
        for hid in ids:
            self._handles.pop(hid, None)
        ids.clear()

    def _inflight_msg(self) -> Message | None:
        entry = self._open.get(self._inflight) if self._inflight is not None else None
        return entry.msg if entry is not None else None

    def _timed_out(self, worker: _Worker, fut: asyncio.Future) -> None:
        if fut.done():
            return
        worker.kill()
        fut.set_exception(_TimedOut())
        if not self._stopping:
            self._launch()  # ready for the next message

    async def _send_out(self, value: Any, source: Message | None, msgid: Any) -> None:
        """Send what the code returned or passed to node.send: a msg, a list per port, lists of
        msgs per port. Every message gets the input's _msgid, as in Node-RED. `source` is the
        input when it is still open (errors name it)."""
        if value is None:
            return
        ports = [value] if isinstance(value, dict) else value
        if not isinstance(ports, (list, tuple)):
            self.error(f"function tried to send a message of type {type(value).__name__}", source)
            return
        out: list[Any] = []
        for port in ports:
            batch = [port] if isinstance(port, dict) else port
            if batch is None:
                out.append(None)
                continue
            if not isinstance(batch, (list, tuple)):
                self.error(f"function tried to send a message of type {type(batch).__name__}", source)
                return
            good = []
            for m in batch:
                if m is None:
                    continue
                if not isinstance(m, dict):
                    self.error(f"function tried to send a message of type {type(m).__name__}", source)
                    continue
                if msgid is not None:
                    m["_msgid"] = msgid
                good.append(m)
            out.append(good)
        if any(out):
            await self.send(out)

    async def _dispatch(self, worker: _Worker, head: tuple, f: io.BytesIO) -> None:
        kind = head[0]
        if kind in ("result", "fail"):
            if worker.pending is not None:
                try:
                    value = self._body(f)
                except Exception as exc:  # a result this process cannot load
                    kind, value = "fail", f"cannot read the result: {type(exc).__name__}: {exc}"
                self._resolve(worker.pending, (kind, value))
            return
        if kind == "done":
            entry = self._finish(head[1])  # None: already finished, dropped, or outside a message
            if entry is not None:
                self.done(entry.msg)
            return
        value = self._body(f)
        if kind == "send":
            entry = self._open.get(head[1])
            source = entry.msg if entry is not None else None
            await self._send_out(value, source, source.get("_msgid") if source is not None else head[2])
        elif kind == "rpc":
            try:
                reply = (True, self._rpc(head[2], value))
            except Exception as exc:  # a bad key: raised in the user's code
                reply = (False, f"{type(exc).__name__}: {exc}")
            try:
                frame = self._frame(("reply", head[1], reply[0]), reply[1])
            except Exception as exc:
                frame = self._frame(("reply", head[1], False), f"cannot pass the value to the function: {exc}")
            worker.write(frame)
        elif kind == "status":
            self.status(value)
        elif kind == "warn":
            self.warn(value)
        elif kind == "log":
            self.log.info("[%s:%s] %s", self.type, self.name or self.id, value)
            self.host.emit_event("log", self, {"level": "info", "msg": value})
        elif kind == "error":
            self.error(value[0], value[1])
        elif kind in ("ready", "init_error"):
            self._resolve(worker.ready, None if kind == "ready" else value)
            if kind == "init_error":
                self.error(f"initialize failed: {value}")
        elif kind == "finalized" and worker.finalized is not None:
            self._resolve(worker.finalized, value)

    def _rpc(self, op: str, args: tuple) -> Any:
        if op == "env_get":
            return self.env(args[0])
        scope, *rest = args
        ctx = {"node": self.context, "flow": self.flow_context, "global": self.global_context}[scope]
        if op == "ctx_get":
            return ctx.get(rest[0], rest[1])
        if op == "ctx_set":
            ctx.set(rest[0], rest[1], rest[2])
            return None
        if op == "ctx_keys":
            return ctx.keys(rest[0])
        raise ValueError(f"unknown request {op!r}")

    # ------------------------------------------------------------------ pickling
    def _frame(self, head: tuple, body: Any = None, owner: list[int] | None = None) -> tuple[bytes, bytes]:
        """Pickle a frame. Anything unpicklable in the body crosses as a handle, freed with
        `owner` (a message's list) or else after the current message."""
        buf = io.BytesIO()
        ids = self._loose if owner is None else owner
        try:
            _Pickler(buf, None, self._handle_counter, ids).dump(body)
        except Exception:
            if len(self._loose) > MAX_HANDLES:  # only RPCs outside messages pile them up
                self._release(self._loose)
            buf = io.BytesIO()
            _Pickler(buf, self._handles, self._handle_counter, ids).dump(body)
        return pickle.dumps(head, protocol=5), buf.getvalue()

    def _body(self, f: io.BytesIO) -> Any:
        return _Unpickler(f, self._handles).load()

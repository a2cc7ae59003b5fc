"""python-function: run a Python function body on each message, in a worker process.

Each node owns one worker process (nodes/function/worker.py) that runs the user's code, so a
runaway loop never blocks the engine: after `timeout` seconds the worker is killed (SIGKILL to
its process group), the message is reported to catch nodes, and a fresh worker (re-running
`initialize`) takes the next message. Messages cross as pickles over pipes, one round trip per
message; context and env reads from the code are RPCs answered here, on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pickle
import re
import signal
import sys
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
_USES_DONE = re.compile(r"\bnode\s*\.\s*done\s*\(")
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None), bytes, bytearray, tuple})


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


class _Pickler(pickle.Pickler):
    """Maps UNDEFINED to a marker; with `handles`, anything unpicklable becomes a handle that
    comes back as the same object (msg.res of an http-in, sockets)."""

    def __init__(self, file: Any, handles: dict[int, Any] | None, counter: list[int]):
        super().__init__(file, protocol=5)
        self._handles, self._counter = handles, counter

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
            "their type). This isolates runaway code; it is not a security sandbox.")

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
        self._uses_done = bool(_USES_DONE.search(cfg.func))
        self._worker: _Worker | None = None
        self._runs: dict[asyncio.Task, _Worker] = {}  # every worker's task, killed ones included
        self._current: Message | None = None
        self._done_called = False
        self._stopping = False
        self._handles: dict[int, Any] = {}
        self._handle_counter = [0]
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
            worker.proc = await asyncio.create_subprocess_exec(
                sys.executable, WORKER_SCRIPT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, start_new_session=True, limit=1 << 20)
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
                    self.error(exc, self._current)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the process ended
        except Exception as exc:  # an unreadable frame head: the conversation cannot go on
            self.error(f"bad data from the worker process: {exc!r}", self._current)
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
        loop = asyncio.get_running_loop()
        fut = worker.pending = loop.create_future()
        self._current, self._done_called = msg, False
        # Real time, not self.clock: the worker runs in real time, and a runaway must be bounded
        # in real seconds even when tests drive the engine's clock.
        timer = asyncio.get_running_loop().call_later(self._timeout, self._timed_out, worker, fut) \
            if self._timeout > 0 else None
        try:
            try:
                worker.write(self._frame(("msg",), msg))
            except BrokenPipeError:
                worker.kill()
                self._resolve(fut, ("fail", "the worker process is gone; restarting it"))
            except Exception as exc:
                self._resolve(fut, ("fail", f"cannot pass the message to the function: {exc}"))
            kind, value = await fut
        except _TimedOut:
            self.error(f"timed out after {self._timeout:g} s; the worker was restarted", msg)
            return
        except _Died as exc:
            self.error(str(exc), msg)
            return
        finally:
            if timer is not None:
                timer.cancel()
            worker.pending = None
            self._current = None
            self._handles.clear()
        if kind == "fail":
            self.error(value, msg)
            return
        await self._send_out(value, msg)
        if not self._uses_done:
            self.done(msg)

    def _timed_out(self, worker: _Worker, fut: asyncio.Future) -> None:
        if fut.done():
            return
        worker.kill()
        fut.set_exception(_TimedOut())
        if not self._stopping:
            self._launch()  # ready for the next message

    async def _send_out(self, value: Any, source: Message | None) -> None:
        """Send what the code returned or passed to node.send: a msg, a list per port, lists of
        msgs per port. Every message gets the input's _msgid, as in Node-RED."""
        if value is None:
            return
        ports = [value] if isinstance(value, dict) else value
        if not isinstance(ports, (list, tuple)):
            self.error(f"function tried to send a message of type {type(value).__name__}", source)
            return
        out: list[Any] = []
        msgid = source.get("_msgid") if source is not None else None
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
            if self._current is not None and not self._done_called:
                self._done_called = True
                self.done(self._current)
            return
        value = self._body(f)
        if kind == "send":
            await self._send_out(value, self._current)
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
    def _frame(self, head: tuple, body: Any = None) -> tuple[bytes, bytes]:
        """Pickle a frame. Anything unpicklable in the body crosses as a handle."""
        buf = io.BytesIO()
        try:
            _Pickler(buf, None, self._handle_counter).dump(body)
        except Exception:
            if len(self._handles) > MAX_HANDLES:  # only RPCs outside messages pile them up
                self._handles.clear()
            buf = io.BytesIO()
            _Pickler(buf, self._handles, self._handle_counter).dump(body)
        return pickle.dumps(head, protocol=5), buf.getvalue()

    def _body(self, f: io.BytesIO) -> Any:
        return _Unpickler(f, self._handles).load()

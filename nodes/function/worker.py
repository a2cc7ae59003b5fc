"""The worker process of a python-function node: runs the user's code apart from the engine.

Started by the node as `python worker.py` (by path, so it imports nothing but the standard
library and starts in a few tens of milliseconds). It talks to its node over stdin/stdout with
length-prefixed frames, each a small pickled head then the pickled body (decoded only where it is
used, so a body that cannot be read fails that one message, not the conversation):

    node -> worker   init: cfg   (msg, seq): msg   (reply, id, ok): value   finalize
    worker -> node   ready   init_error: text   result: value   fail: text   (send, seq, msgid): msgs
                     status: dict   warn/log: text   error: (text, msg)   (done, seq)
                     (rpc, id, op): args   finalized: text | None

`seq` numbers the node's messages. The message being handled is kept in a contextvar, which
threads and executor tasks started while handling it inherit (see `inherit_context`), so a
node.send or node.done from a timer that fires after the body returned acts for its own message
(None outside any message: initialize, and threads it started).

Context and env reads are RPCs: the calling thread blocks until the node replies. A reader
thread owns stdin, so code in background threads (timers started in `initialize`) can use the
same API. When the node goes away (stdin closes) the worker exits at once, even mid-loop.

This module is also imported by the node for `compile_sources` (so validation and the worker
compile the code the same way); it must stay free of side effects at import.
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import io
import itertools
import json
import os
import pickle
import queue
import struct
import sys
import threading
import traceback
from typing import Any

HEADER = struct.Struct(">I")
FUNC_NAME = "__flowengine_func__"
FILENAMES = {"func": "<func>", "initialize": "<initialize>", "finalize": "<finalize>"}
# (seq, _msgid) of the message whose handling started the running code; None outside messages.
CURRENT: contextvars.ContextVar[tuple[int, Any] | None] = contextvars.ContextVar("flowengine_msg", default=None)


# ---------------------------------------------------------------------------- compiling
def compile_sources(func: str, initialize: str = "", finalize: str = "") -> dict[str, Any]:
    """Compile the three code fields. Raises SyntaxError with `.field` naming the bad one.

    The body becomes a function `(msg)` so `return` works; its statements keep their own line
    numbers. initialize/finalize are module-level code of the node's namespace, so imports and
    helpers they define are visible to the body."""
    out: dict[str, Any] = {}
    for field, src in (("func", func), ("initialize", initialize), ("finalize", finalize)):
        filename = FILENAMES[field]
        try:
            if field == "func":
                body = ast.parse(src or "", filename=filename)
                tree = ast.parse(f"def {FUNC_NAME}(msg):\n    pass\n", filename=filename)
                wrapper = tree.body[0]
                assert isinstance(wrapper, ast.FunctionDef)
                if body.body:
                    wrapper.body = body.body
                ast.fix_missing_locations(tree)
                out[field] = compile(tree, filename, "exec")
            else:
                out[field] = compile(src, filename, "exec") if (src or "").strip() else None
        except SyntaxError as exc:
            exc.field = field  # type: ignore[attr-defined]
            raise
    return out


def syntax_error_text(exc: SyntaxError) -> str:
    where = f" (line {exc.lineno})" if exc.lineno else ""
    return f"SyntaxError: {exc.msg}{where}"


def error_text(exc: BaseException) -> str:
    """`Type: text (line N)` with N the line of the innermost frame in the user's code."""
    name = type(exc).__name__
    text = str(exc)
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        field = next((f for f, fn in FILENAMES.items() if fn == frame.filename), None)
        if field is not None:
            where = f" (line {frame.lineno})" if field == "func" else f" ({field} line {frame.lineno})"
            break
    return f"{name}: {text}{where}" if text else f"{name}{where}"


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, default=repr)
        except (TypeError, ValueError):
            return repr(value)
    return str(value)


# ---------------------------------------------------------------------------- wire
class Undefined:
    """JavaScript `undefined` as other nodes may put it in a message."""

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED = Undefined()


class Opaque:
    """Stands for a value the node could not pickle (a live HTTP response, a socket): it comes
    back as the original object when the code returns or sends it."""

    __slots__ = ("hid", "kind")

    def __init__(self, hid: int, kind: str):
        self.hid, self.kind = hid, kind

    def __repr__(self) -> str:
        return f"<opaque {self.kind}>"


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if obj is UNDEFINED:
            return "U"
        if type(obj) is Opaque:
            return ("H", obj.hid, obj.kind)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid == "U":
            return UNDEFINED
        if isinstance(pid, tuple) and pid[0] == "H":
            return Opaque(pid[1], pid[2])
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=5).dump(obj)
    return buf.getvalue()


class Channel:
    """Frames over the two pipes; any thread may write, one reader thread reads."""

    def __init__(self, rfile: Any, wfile: Any):
        self._r, self._w = rfile, wfile
        self._wlock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiters: dict[int, queue.SimpleQueue] = {}
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()

    def write(self, head: tuple, body: Any = None) -> None:
        """Send a frame; raises (before writing anything) when `body` cannot be pickled."""
        h, b = dumps(head), dumps(body)
        with self._wlock:
            self._w.write(HEADER.pack(len(h) + len(b)))
            self._w.write(h)
            self._w.write(b)
            self._w.flush()

    def read(self) -> tuple[tuple, io.BytesIO] | None:
        """The next frame's head, and a file positioned at its body (see `body`)."""
        size = self._r.read(HEADER.size)
        if len(size) < HEADER.size:
            return None
        (n,) = HEADER.unpack(size)
        data = self._r.read(n)
        if len(data) < n:
            return None
        f = io.BytesIO(data)
        return _Unpickler(f).load(), f

    def call(self, op: str, *args: Any) -> Any:
        """An RPC to the node; blocks this thread until the reply."""
        rid = next(self._ids)
        slot: queue.SimpleQueue = queue.SimpleQueue()
        self._waiters[rid] = slot
        try:
            self.write(("rpc", rid, op), args)
            ok, f = slot.get()
        finally:
            self._waiters.pop(rid, None)
        value = body(f)  # a value this process cannot load raises here, in the caller
        if not ok:
            raise RuntimeError(value)
        return value

    def reader(self) -> None:
        """Route replies to their callers, everything else to the main loop."""
        while True:
            try:
                frame = self.read()
            except Exception as exc:  # a corrupt frame: nothing sane is left to do
                sys.stderr.write(f"python-function worker: bad frame from the node: {exc!r}\n")
                frame = None
            if frame is None:
                # The node closed the pipe (stop, or the engine died): exit now, even if the
                # main thread is stuck in user code.
                os._exit(0)
            head, f = frame
            if head[0] == "reply":
                slot = self._waiters.get(head[1])
                if slot is not None:
                    slot.put((head[2], f))
            else:
                self.inbox.put(frame)


def body(f: io.BytesIO) -> Any:
    return _Unpickler(f).load()


# ---------------------------------------------------------------------------- user API
def _plain(value: Any) -> Any:
    return None if value is UNDEFINED else value


class ContextProxy:
    """`context`, `flow` and `global_context` in the code: get/set/keys, served by the node."""

    def __init__(self, chan: Channel, scope: str):
        self._chan, self._scope = chan, scope

    def get(self, key: str | list[str], store: str | None = None) -> Any:
        """The value, or None when the key is not set (a list of keys gives a list)."""
        value = self._chan.call("ctx_get", self._scope, key, store)
        if isinstance(key, list) and isinstance(value, list):
            return [_plain(v) for v in value]
        return _plain(value)

    def set(self, key: str | list[str], value: Any = UNDEFINED, store: str | None = None) -> None:
        """Store a value; `set(key)` without a value deletes the key."""
        self._chan.call("ctx_set", self._scope, key, value, store)

    def keys(self, store: str | None = None) -> list[str]:
        return self._chan.call("ctx_keys", self._scope, store)

    def __repr__(self) -> str:
        return f"<{self._scope} context>"


class Env:
    """`env.get(name)`: flow/group/subflow env vars, then the process environment."""

    def __init__(self, chan: Channel):
        self._chan = chan

    def get(self, name: str) -> Any:
        return _plain(self._chan.call("env_get", name))


class NodeAPI:
    """`node` in the code."""

    def __init__(self, chan: Channel, node_id: str, name: str, outputs: int):
        self._chan = chan
        self.id, self.name, self.outputs = node_id, name, outputs

    def send(self, msg: Any, clone: bool = True) -> None:
        """Send now: a msg (port 1), or a list with one entry per port. The message is copied
        as it is at this moment (`clone` is accepted for Node-RED familiarity)."""
        if msg is not None:
            seq, msgid = CURRENT.get() or (None, None)
            self._chan.write(("send", seq, msgid), msg)

    def status(self, status: Any = None, **kw: Any) -> None:
        """`node.status(fill="green", shape="dot", text="ok")`, a dict, or a text; `status({})` clears."""
        st = {"text": status} if isinstance(status, str) else dict(status or {})
        st.update(kw)
        self._chan.write(("status",), st)

    def warn(self, text: Any) -> None:
        self._chan.write(("warn",), to_text(text))

    def log(self, text: Any) -> None:
        self._chan.write(("log",), to_text(text))

    def error(self, text: Any, msg: dict | None = None) -> None:
        """Report an error; with `msg`, catch nodes receive that message."""
        self._chan.write(("error",), (to_text(text), msg))

    def done(self) -> None:
        """Finish the message being handled, also from a timer or thread the body started (only
        needed when the code mentions node.done())."""
        current = CURRENT.get()
        if current is not None:  # outside a message there is nothing to finish
            self._chan.write(("done", current[0]))

    def __repr__(self) -> str:
        return f"<node {self.id}>"


# ---------------------------------------------------------------------------- main
def inherit_context() -> None:
    """Make the message a thread works for follow it: a Thread (threading.Timer included) runs
    in a copy of the context of the code that called start(), as Python 3.14 does with
    -X thread_inherit_context, and a ThreadPoolExecutor task in a copy of the submitter's (its
    pool threads outlive the message that created them), as asyncio.to_thread does. Patching
    the classes is acceptable here: this process exists only to run one node's code."""
    from concurrent.futures import thread as _futures_thread  # here: a few ms the deploy need not wait for

    start = threading.Thread.start

    def start_in_context(self: threading.Thread) -> None:
        ctx = contextvars.copy_context()
        run = self.run
        self.run = lambda: ctx.run(run)  # type: ignore[method-assign]
        start(self)

    submit = _futures_thread.ThreadPoolExecutor.submit

    def submit_in_context(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    threading.Thread.start = start_in_context  # type: ignore[method-assign]
    _futures_thread.ThreadPoolExecutor.submit = submit_in_context  # type: ignore[method-assign]


def _open_pipes() -> tuple[Any, Any]:
    """Move the protocol off fds 0/1, so print() and input() in user code cannot corrupt it."""
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)  # print() goes to the engine's stderr
    return os.fdopen(rfd, "rb", buffering=1 << 16), os.fdopen(wfd, "wb", buffering=1 << 16)


def run(chan: Channel) -> None:
    threading.Thread(target=chan.reader, name="flowengine-reader", daemon=True).start()
    head, f = chan.inbox.get()
    if head[0] != "init":
        chan.write(("init_error",), f"expected init, got {head[0]!r}")
        return
    cfg = body(f)
    node = NodeAPI(chan, cfg["id"], cfg.get("name", ""), cfg.get("outputs", 1))
    ns: dict[str, Any] = {"__name__": "__flowfunc__", "__builtins__": builtins, "node": node,
                          "context": ContextProxy(chan, "node"), "flow": ContextProxy(chan, "flow"),
                          "global_context": ContextProxy(chan, "global"), "env": Env(chan)}
    try:
        code = compile_sources(cfg["func"], cfg.get("initialize", ""), cfg.get("finalize", ""))
    except SyntaxError as exc:
        chan.write(("init_error",), syntax_error_text(exc))
        return
    try:
        exec(code["func"], ns)
        func = ns.pop(FUNC_NAME)
        if code["initialize"] is not None:
            exec(code["initialize"], ns)
    except BaseException as exc:  # the user's initialize failed: the node reports it
        chan.write(("init_error",), error_text(exc))
        return
    chan.write(("ready",))
    inherit_context()  # after `ready`: its imports need not delay the deploy; before any message
    while True:
        head, f = chan.inbox.get()
        kind = head[0]
        if kind == "msg":
            try:
                msg = body(f)
            except Exception as exc:  # e.g. an instance of a class this process cannot import
                chan.write(("fail",), f"cannot read the message in the worker: {type(exc).__name__}: {exc}")
                continue
            token = CURRENT.set((head[1], msg.get("_msgid") if isinstance(msg, dict) else None))
            try:
                result = func(msg)
            except BaseException as exc:  # user code: report and carry on with the next message
                chan.write(("fail",), error_text(exc))
                continue
            finally:
                CURRENT.reset(token)
            try:
                chan.write(("result",), result)
            except Exception as exc:  # unpicklable result (a generator, a lock, ...)
                chan.write(("fail",), f"cannot send the result: {type(exc).__name__}: {exc}")
        elif kind == "finalize":
            err = None
            if code["finalize"] is not None:
                try:
                    exec(code["finalize"], ns)
                except BaseException as exc:  # reported by the node; the worker ends anyway
                    err = error_text(exc)
            chan.write(("finalized",), err)
            return


def main() -> None:
    # Running by path put this folder first on sys.path: user imports must not see it.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    rfile, wfile = _open_pipes()
    chan = Channel(rfile, wfile)
    try:
        run(chan)
    finally:
        wfile.flush()
    # Non-daemon threads the user started would keep us alive: the work is over.
    os._exit(0)


if __name__ == "__main__":
    main()

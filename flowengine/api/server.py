"""uvicorn embedded in the engine's event loop (one process, one loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

log = logging.getLogger("flowengine.server")


class HttpServer:
    def __init__(self, app: Any, host: str, port: int):
        import uvicorn

        class _Embedded(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Generator[None, None, None]:
                yield  # the engine owns SIGTERM/SIGINT and stops the server itself

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off", ws_max_size=4 * 1024 * 1024,
                                # X-Forwarded-For would let any local client pick its address (and
                                # dodge the per-address login limit): we are not behind a proxy.
                                proxy_headers=False, forwarded_allow_ips="")
        self._server = _Embedded(config)
        self._task: asyncio.Task | None = None
        self.host = host
        self.port = port

    async def start(self) -> int:
        """Listen; returns the port (the one the OS picked when asked for 0). Raises OSError
        when the address cannot be bound (we bind it ourselves: uvicorn would exit the process)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]), name="http-server")
        while not self._server.started:
            if self._task.done():
                exc = self._task.exception()
                raise OSError(f"cannot listen on {self.host}:{self.port}: {exc or 'server exited'}")
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        except Exception:
            log.exception("HTTP server stopped with an error")
        self._task = None

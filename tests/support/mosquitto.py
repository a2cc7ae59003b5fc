"""A private mosquitto broker on a free 127.0.0.1 port, for integration tests.

A missing ``mosquitto`` binary is an error, never a skip: the MQTT tests are the point of the suite.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .certs import CertPaths

_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin")
_START_TIMEOUT = 5.0
_STOP_TIMEOUT = 5.0


class MosquittoError(RuntimeError):
    pass


def find_binary(name: str) -> str:
    """Locate a mosquitto tool; Debian installs the broker in /usr/sbin, often not on a user's PATH."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SEARCH_DIRS))
    if not found:
        raise MosquittoError(
            f"`{name}` not found on PATH or in {', '.join(_SEARCH_DIRS)}: install it "
            "(Debian/Ubuntu: `apt-get install -y mosquitto`) - the MQTT integration tests need a real broker")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """Start/stop/restart a mosquitto process; ports stay the same across restarts."""

    host = "127.0.0.1"

    def __init__(self, *, users: dict[str, str] | None = None, tls: CertPaths | None = None,
                 require_client_cert: bool = False, extra_config: str = "") -> None:
        self.binary = find_binary("mosquitto")
        self.users = dict(users or {})
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.extra_config = extra_config
        self.port = free_port()
        self.tls_port: int | None = free_port() if tls is not None else None
        self._tmp = Path(tempfile.mkdtemp(prefix="flowengine-mosquitto-"))
        self.config_path = self._tmp / "mosquitto.conf"
        self.log_path = self._tmp / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        self._write_config()

    # -- lifecycle
    def start(self) -> Mosquitto:
        if self._proc is not None and self._proc.poll() is None:
            return self
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self._log_file = log
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        ports = [p for p in (self.port, self.tls_port) if p is not None]
        while True:
            if self._proc.poll() is not None:
                self._close_log()
                raise MosquittoError(f"mosquitto exited with {self._proc.returncode}:\n{self.log()}")
            if all(self._accepts(p) for p in ports):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise MosquittoError(f"mosquitto did not listen on {ports} within {_START_TIMEOUT}s:\n"
                                     f"{self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused broker cannot handle SIGTERM
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT)
        self._close_log()

    def restart(self) -> Mosquitto:
        self.stop()
        return self.start()

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is read - for backpressure tests."""
        if self._proc is None:
            raise MosquittoError("mosquitto is not running")
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"

    # -- helpers
    def _close_log(self) -> None:
        log, self._log_file = self._log_file, None
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.2):
                return True
        except OSError:
            return False

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            # Burst tests push tens of thousands of QoS 0 messages faster than a Python subscriber
            # reads them; the default queue limit (1000) would let the broker drop some.
            "max_queued_messages 100000",
        ]
        if os.geteuid() == 0:
            # As root mosquitto drops to user "mosquitto", which cannot read our private temp dir.
            lines.append(f"user {getpass.getuser()}")
        if self.users:
            passwd = self._tmp / "passwd"
            passwd.touch(mode=0o600)
            tool = find_binary("mosquitto_passwd")
            for user, password in self.users.items():
                subprocess.run([tool, "-b", str(passwd), user, password], check=True,
                               capture_output=True, timeout=10)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls is not None:
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.tls.ca_cert}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                f"require_certificate {'true' if self.require_client_cert else 'false'}",
            ]
        if self.extra_config:
            lines.append(self.extra_config)
        self.config_path.write_text("\n".join(lines) + "\n")

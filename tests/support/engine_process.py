"""A flowengine server in a child process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .mosquitto import free_port


class EngineProcess:
    """`flowengine run FLOWS --data-dir DIR --port P` with helpers to call its API."""

    def __init__(self, workdir: Path, flows: list[dict[str, Any]] | None = None,
                 env: dict[str, str] | None = None, editor_dir: str | None = None):
        self.workdir = workdir
        self.flows_file = workdir / "flows.json"
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._flows = flows if flows is not None else []
        self._env = env or {}
        self._editor_dir = editor_dir or os.environ.get("FLOWENGINE_EDITOR_DIR")
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "engine.log"

    def start(self, timeout: float = 20.0) -> EngineProcess:
        self.flows_file.write_text(json.dumps(self._flows))
        env = {**os.environ, "FLOWENGINE_SECRET_KEY_FILE": str(self.workdir / "secret.key"), **self._env}
        if self._editor_dir:
            env["FLOWENGINE_EDITOR_DIR"] = self._editor_dir
        with self.log_path.open("wb") as log:
            command = [str(Path(sys.executable).parent / "flowengine"), "run", str(self.flows_file),
                       "--data-dir", str(self.data_dir), "--port", str(self.port)]
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"flowengine exited with {self._proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.05)
        raise RuntimeError(f"flowengine did not answer within {timeout} s:\n{self.log()}")

    def add_user(self, name: str, password: str, role: str = "admin") -> None:
        """`flowengine user add` against this engine's data dir (before start(): accounts are
        read at start-up)."""
        env = {**os.environ, "FLOWENGINE_SECRET_KEY_FILE": str(self.workdir / "secret.key")}
        subprocess.run([str(Path(sys.executable).parent / "flowengine"), "user", "add", name, "--password-stdin",
                        "--role", role, "--data-dir", str(self.data_dir)], input=password + "\n", text=True,
                       env=env, check=True, capture_output=True)

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=10, **kwargs)

    def active_flows(self) -> list[dict[str, Any]]:
        r = self.api("GET", "/api/v1/flows")
        r.raise_for_status()
        return r.json()["flows"]

    def deploy(self, flows: list[dict[str, Any]]) -> str:
        r = self.api("PUT", "/api/v1/flows", json=flows)
        r.raise_for_status()
        return r.json()["rev"]

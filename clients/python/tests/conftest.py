"""Fixtures: the real `vigil` binary on a free loopback port, stopped by PID."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))


def vigil_binary() -> str:
    binary = os.environ.get("VIGIL_BINARY") or str(ROOT / ".build" / "debug" / "vigil")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no vigil binary at {binary} (swift build, or set VIGIL_BINARY)")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `vigil serve` child process."""

    def __init__(self, directory: str, port: Optional[int] = None, config: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.config = config
        self.env = env or {}
        self.process: Optional[subprocess.Popen] = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        arguments = [vigil_binary(), "serve", "--db", os.path.join(self.directory, "vigil.db"),
                     "--host", "127.0.0.1", "--port", str(self.port)]
        if self.config is not None:
            path = os.path.join(self.directory, "vigil.yaml")
            with open(path, "w") as f:
                f.write(self.config)
            arguments += ["--config", path]
        log = open(os.path.join(self.directory, "vigil.log"), "ab")
        self.process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vigil exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("vigil did not become ready in 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        with open(os.path.join(self.directory, "vigil.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get(self, path: str, token: Optional[str] = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for _ in range(20):
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as error:  # a rate-limited test server
                if error.code != 429:
                    raise
                time.sleep(float(error.headers.get("Retry-After", "1")))
        raise RuntimeError(f"GET {path}: still 429 after 20 tries")

    def model(self, name: str, token: Optional[str] = None) -> Dict[str, Any]:
        models = self.get("/v1/models", token)
        for model in models.get("models", []):
            if model.get("name") == name:
                return model
        return {}

    def metrics_text(self, token: Optional[str] = None) -> str:
        request = urllib.request.Request(self.url + "/metrics")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.read().decode()


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="vigil-client-test-") as directory:
        yield directory


@pytest.fixture
def server(workdir):
    s = Server(workdir).start()
    yield s
    s.stop()

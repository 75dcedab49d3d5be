"""What the benchmark scripts share: a `vigil serve` on loopback on a fresh SQLite file, stopped
by PID; one request to it; a GET timed as the median of several runs; a process's resident
memory. Standard library only."""
import http.client
import os
import signal
import sqlite3
import statistics
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIGIL = os.path.join(ROOT, ".build/release/vigil")


def rss_mib(pid):
    """VmRSS of process `pid`, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """`vigil serve` on loopback, on a SQLite file in `work`, stopped by PID."""

    def __init__(self, work, port, config=None, db="bench.db", binary=VIGIL, env=None):
        """`db=None` runs without `--db` (the configuration names the storage, e.g. PostgreSQL)."""
        self.work, self.port, self.binary, self.env = work, port, binary, env
        self.db = os.path.join(work, db) if db else None
        self.config = None
        if config:
            self.config = os.path.join(work, f"vigil-{port}.yaml")
            with open(self.config, "w") as f:
                f.write(config)
        self.process = None

    def start(self):
        """Starts the server; returns the seconds from exec to `/readyz` answering 200."""
        args = [self.binary, "serve", "--port", str(self.port), "--log-level", "warning"]
        if self.db:
            args += ["--db", self.db]
        if self.config:
            args += ["--config", self.config]
        t0 = time.perf_counter()
        self.process = subprocess.Popen(args, env={**os.environ, **(self.env or {})})
        while time.perf_counter() - t0 < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"vigil exited with {self.process.returncode}")
            time.sleep(0.01)
        raise SystemExit("vigil was not ready within 120 s")

    def rss_mib(self):
        return rss_mib(self.process.pid)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)
        self.process = None

    def counts(self):
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT count(*), count(labeled_at) FROM predictions").fetchone()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self.stop()



def request(port, method, path, body=None, content_type="application/json", timeout=120):
    """(status, body bytes) of one request on a new connection to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers={"Content-Type": content_type} if body else {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def timed(port, path, runs=21):
    """(median milliseconds, last body) of `runs` GETs of `path`, each asserted 200."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        status, body = request(port, "GET", path)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, body[:300]
    return statistics.median(times), body

#!/usr/bin/env python3
"""Ingestion on PostgreSQL with 1 and 2 replicas beside SQLite: the same workload, the same run
(issue 16, acceptance 3). Usage: tools/bench/replicas.sh [--predictions N] [--runs R]

Starts a private PostgreSQL cluster (Debian's server binaries; initdb as the `postgres` user when
run as root; fsync and synchronous_commit on, as in production) on a free loopback port, stopped by
PID. For each configuration, on a fresh database (or SQLite file): predictions in batches of 1,000
over 4 connections (with 2 replicas, 2 connections to each, half of the bodies each), then labels
for the same ids — with 2 replicas every label goes to the *other* replica than its prediction.
Throughput is each load generator's items per second after its warm-up, summed over the two
generators that run at once (each drives half of the same bodies).
Every prediction and label is checked stored before a figure is kept. Prints a markdown table.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchhttp import Server  # noqa: E402
from all import LOAD, bodies, load, log  # noqa: E402

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args, **kw):
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kw)


class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-bench-pg-")
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        as_postgres([f"{BIN}/initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        as_postgres([f"{BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                     f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                     "-c shared_buffers=512MB", "start"])

    def createdb(self, name):
        as_postgres([f"{BIN}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def scalar(self, name, sql):
        out = subprocess.run([f"{BIN}/psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                              "postgres", "-d", name, "-c", sql], check=True, capture_output=True, text=True)
        return int(out.stdout.strip())

    def stop(self):
        with open(f"{self.dir}/data/postmaster.pid") as f:
            pid = int(f.readline())
        os.kill(pid, 3)  # SIGQUIT: immediate shutdown
        for _ in range(250):
            try:
                os.kill(pid, 0)
                time.sleep(0.02)
            except ProcessLookupError:
                break
        shutil.rmtree(self.dir, ignore_errors=True)


def parallel(jobs):
    """Runs `load` jobs at once; returns their results."""
    results = [None] * len(jobs)

    def run(i, job):
        results[i] = load(*job[0], **job[1])

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


PG_CONFIG = "storage: {postgres: {url_env: VIGIL_DATABASE_URL, replica_id_env: VIGIL_REPLICA, pool_size: 4}}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not BIN:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    work = tempfile.mkdtemp(prefix="vigil-bench-replicas-")
    per = args.predictions // 2000  # requests per half
    halves = {}
    for half in "ab":
        p, l = os.path.join(work, f"p{half}.bodies"), os.path.join(work, f"l{half}.bodies")
        bodies("predictions", p, per + 4, prefix=f"r{half}")
        bodies("labels", l, per + 4, prefix=f"r{half}")
        halves[half] = (p, l)
    total = 2 * (per + 4) * 1000
    cluster = Cluster()
    results = {"sqlite": [], "pg1": [], "pg2": []}
    try:
        for run in range(args.runs):
            for kind in ["sqlite", "pg1", "pg2"]:
                base = 19900 + run * 10
                if kind == "sqlite":
                    servers = [Server(tempfile.mkdtemp(dir=work), base)]
                else:
                    url = cluster.createdb(f"bench_{kind}_{run}")
                    count = 1 if kind == "pg1" else 2
                    servers = [Server(tempfile.mkdtemp(dir=work), base + i, config=PG_CONFIG, db=None,
                                      env={"VIGIL_DATABASE_URL": url, "VIGIL_REPLICA": f"r{i}"}) for i in range(count)]
                for s in servers:
                    s.start()
                try:
                    target = [servers[0], servers[-1]]  # half a → first, half b → last
                    p_jobs = [((target[i].port, halves[h][0], 2), {"items": 1000}) for i, h in enumerate("ab")]
                    p_res, p_secs = parallel(p_jobs)
                    # Labels: with two replicas, to the other one than their predictions'.
                    other = [target[1], target[0]]
                    l_jobs = [((other[i].port, halves[h][1], 2), {"items": 1000, "path": "/v1/labels"})
                              for i, h in enumerate("ab")]
                    l_res, l_secs = parallel(l_jobs)
                    if kind == "sqlite":
                        stored, labeled = servers[0].counts()
                    else:
                        name = f"bench_{kind}_{run}"
                        stored = cluster.scalar(name, "SELECT count(*) FROM predictions")
                        labeled = cluster.scalar(name, "SELECT count(*) FROM predictions WHERE labeled_at IS NOT NULL")
                    acked = sum(r["ok"] for r in p_res), sum(r["ok"] for r in l_res)
                    # vigil-load counts requests after its warm-up (2 per connection, stored too).
                    if stored != total or labeled != total or acked != (2 * per, 2 * per):
                        raise SystemExit(f"{kind} run {run}: stored {stored}, labeled {labeled}, acknowledged {acked}")
                    # Each generator's rate after its warm-up, summed over the two running at once.
                    pr = sum(r["items_per_second"] for r in p_res)
                    lr = sum(r["items_per_second"] for r in l_res)
                    results[kind].append((pr, lr, total / p_secs, total / l_secs))
                    log(f"{kind} run {run + 1}: {pr:,.0f} predictions/s, {lr:,.0f} labels/s "
                        f"(wall, warm-ups included: {total / p_secs:,.0f} / {total / l_secs:,.0f})")
                finally:
                    for s in servers:
                        s.stop()
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    names = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 replica", "pg2": "PostgreSQL, 2 replicas"}
    print(f"Command: `tools/bench/replicas.sh --predictions {args.predictions} --runs {args.runs}` — "
          f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; PostgreSQL {os.path.basename(os.path.dirname(BIN))} "
          "on the same machine (fsync on).\n")
    print("| storage | predictions/s (median) | labels/s (median) | per run (predictions/s) |")
    print("| --- | ---: | ---: | --- |")
    for kind, rows in results.items():
        pr = statistics.median(r[0] for r in rows)
        lr = statistics.median(r[1] for r in rows)
        print(f"| {names[kind]} | {pr:,.0f} | {lr:,.0f} | {', '.join(f'{r[0]:,.0f}' for r in rows)} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Window-engine benchmark (DESIGN §8, issue 5): resident memory while 10 M predictions over 3
models are ingested, and the time to build a 24 h window's metrics document.

Starts nothing itself: run it through tools/bench/run-windows.sh, which starts the release
binary on a fresh SQLite file and passes --pid. Predictions carry 10 numeric + 3 categorical
features and 2 segments, event times spread over the last 24 h, half of them labelled later.
RSS is read from /proc/PID/status after the service has folded what it acknowledged. The
document time is the median over repeated GETs of an unconfigured width (`window=1440m`), which
the service merges from its buckets and builds on request (configured windows are served from
the evaluation snapshot and cost only serialisation; their time is reported too).
Standard library only.
"""
import argparse
import http.client
import json
import random
import statistics
import threading
import time

from benchhttp import rss_mib  # noqa: E402 (tools/bench, the script's own directory)


def templates(rng, now, count, batch):
    """NDJSON bodies whose ids carry a @@ placeholder, replaced per request (unique ids)."""
    bodies = []
    for b in range(count):
        lines = []
        for i in range(batch):
            features = {f"n{k}": round(rng.gauss(50 * (k + 1), 10), 3) for k in range(10)}
            features["country"] = rng.choice(["DE", "FR", "US", "GB", "ES", "IT"])
            features["device"] = rng.choice(["ios", "android", "web"])
            features["plan"] = rng.choice(["free", "pro", "team"])
            p = rng.random()
            lines.append(json.dumps({
                "id": f"@@-{i}", "model": f"model{b % 3}", "version": "v1",
                "timestamp": now - rng.randint(0, 86_000), "features": features,
                "prediction": "fraud" if p > 0.5 else "ok", "confidence": round(max(p, 1 - p), 4),
                "segments": {"region": rng.choice(["eu", "us", "apac"]), "tier": rng.choice(["a", "b"])},
                "metrics": {"latency_ms": round(rng.gammavariate(2, 20), 1)},
            }, separators=(",", ":")))
        bodies.append(("\n".join(lines) + "\n").encode())
    return bodies


def label_body(request_tag, batch, rng, model):
    return json.dumps([{"id": f"{request_tag}-{i}", "model": model, "label": rng.choice(["fraud", "ok"])}
                       for i in range(0, batch, 2)]).encode()


def post(conn, path, body, content_type):
    conn.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {payload[:200]!r}")
    return json.loads(payload)


def ingest(args, bodies, start, stop):
    """Requests [start, stop), spread over the clients; every other prediction gets a label."""
    def client(c):
        rng = random.Random(c)
        conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
        for r in range(start + c, stop, args.clients):
            tag = f"r{r}"
            body = bodies[r % len(bodies)]
            result = post(conn, "/v1/predictions", body.replace(b"@@", tag.encode()), "application/x-ndjson")
            assert result["accepted"] == args.batch, result
            post(conn, "/v1/labels", label_body(tag, args.batch, rng, f"model{(r % len(bodies)) % 3}"), "application/json")
    threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
    for t in threads: t.start()
    for t in threads: t.join()


def get_ms(args, path, repeat):
    conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        payload = response.read()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status == 200, payload[:200]
    return statistics.median(times), json.loads(payload)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9750)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--checkpoints", default="1000000,5000000,10000000")
    parser.add_argument("--reference", type=int, default=5000,
                        help="reference rows uploaded per model before ingesting (0: the default first-5,000 reference, "
                             "which the first predictions' buckets predate)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait for folds and an evaluation")
    args = parser.parse_args()

    rng = random.Random(11)
    bodies = templates(rng, int(time.time()), 30, args.batch)
    done = 0
    if args.reference:
        # Uploaded first, as from training data, so every bucket is folded under it (fine bins).
        template = bodies[0].split(b"\n")
        conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
        for model in range(3):
            lines = [template[i % args.batch].replace(b"@@", f"ref{i // args.batch}".encode())
                     .replace(b'"model0"', f'"model{model}"'.encode()) for i in range(args.reference)]
            conn.request("PUT", f"/v1/models/model{model}/reference", body=b"\n".join(lines) + b"\n",
                         headers={"Content-Type": "application/x-ndjson"})
            response = conn.getresponse()
            payload = response.read()
            assert response.status == 200, payload[:200]
    print(f"| predictions ingested | RSS (MiB) | wall time (s) |")
    print(f"| ---: | ---: | ---: |")
    t0 = time.time()
    for checkpoint in [int(x) for x in args.checkpoints.split(",")]:
        ingest(args, bodies, done // args.batch, checkpoint // args.batch)
        done = checkpoint
        time.sleep(args.settle)
        print(f"| {done:,} | {rss_mib(args.pid):.1f} | {time.time() - t0:.0f} |", flush=True)
    for model in ["model0"]:
        ms, doc = get_ms(args, f"/v1/models/{model}/metrics?window=1440m", 15)
        snap, _ = get_ms(args, f"/v1/models/{model}/metrics?window=24h", 15)
        print(f"\n24 h document of {model} ({doc['counts']['predictions']:,} predictions, "
              f"{doc['counts']['labeled']:,} labelled): built on request {ms:.1f} ms median of 15; "
              f"from the snapshot {snap:.1f} ms")
        ks = doc["drift"]["features"]["n0"].get("ks", {})
        print(f"KS of n0: D {ks.get('statistic')}, bound {ks.get('bound')} (fine bins: ≈ 0.001; sketch: ≥ 0.0165)")


if __name__ == "__main__":
    main()

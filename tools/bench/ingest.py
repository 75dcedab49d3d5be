#!/usr/bin/env python3
"""Ingestion benchmark client for Vigil (DESIGN §8, issue 3).

Sends NDJSON batches of predictions (10 numeric + 3 categorical features, 2 segments) from
several concurrent keep-alive clients to a running Vigil and reports predictions/s and request
latency percentiles. Every id is unique, so every prediction is really stored (not a duplicate).
Bodies are generated before the clock starts, so the client spends little CPU while timing.
Standard library only.
"""
import argparse
import http.client
import json
import random
import statistics
import threading
import time


def make_body(client, request, batch, rng, ts):
    lines = []
    for i in range(batch):
        features = {f"n{k}": round(rng.gauss(50 * (k + 1), 10), 4) for k in range(10)}
        features["country"] = rng.choice(["DE", "FR", "US", "GB", "ES", "IT"])
        features["device"] = rng.choice(["ios", "android", "web"])
        features["plan"] = rng.choice(["free", "pro", "team"])
        p = rng.random()
        lines.append(json.dumps({
            "id": f"bench-{client}-{request}-{i}", "model": f"model{(client + request) % 3}", "version": "v1",
            "timestamp": ts + request, "features": features,
            "prediction": "fraud" if p > 0.5 else "ok", "confidence": max(p, 1 - p),
            "segments": {"region": rng.choice(["eu", "us", "apac"]), "tier": rng.choice(["a", "b"])},
        }, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def run_client(host, port, bodies, latencies, errors, start_barrier):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    start_barrier.wait()
    for body in bodies:
        t0 = time.perf_counter()
        conn.request("POST", "/v1/predictions", body=body, headers={"Content-Type": "application/x-ndjson"})
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            errors.append(f"HTTP {response.status}: {payload[:200]!r}")
            continue
        result = json.loads(payload)
        if result["rejected"] or result["duplicates"]:
            errors.append(f"unexpected outcome {result}")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9750)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per client first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    ts = int(time.time()) - 3600
    total = args.requests + args.warmup
    bodies = [[make_body(c, r, args.batch, rng, ts) for r in range(total)] for c in range(args.clients)]

    # Warm-up: untimed, so connection set-up and first-touch costs are not measured.
    warm_latencies, errors = [], []
    barrier = threading.Barrier(args.clients)
    threads = [threading.Thread(target=run_client, args=(args.host, args.port, bodies[c][:args.warmup], warm_latencies, errors, barrier))
               for c in range(args.clients)]
    for t in threads: t.start()
    for t in threads: t.join()

    latencies = []
    barrier = threading.Barrier(args.clients + 1)
    threads = [threading.Thread(target=run_client, args=(args.host, args.port, bodies[c][args.warmup:], latencies, errors, barrier))
               for c in range(args.clients)]
    for t in threads: t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads: t.join()
    elapsed = time.perf_counter() - t0

    predictions = args.clients * args.requests * args.batch
    body_bytes = sum(len(b) for c in bodies for b in c[args.warmup:])
    print(json.dumps({
        "clients": args.clients, "batch": args.batch, "requests": args.clients * args.requests,
        "predictions": predictions, "seconds": round(elapsed, 3),
        "predictions_per_second": round(predictions / elapsed),
        "mib_per_second": round(body_bytes / elapsed / 2**20, 1),
        "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 2),
                       "p99": round(percentile(latencies, 0.99) * 1000, 2),
                       "max": round(max(latencies) * 1000, 2)},
        "errors": errors[:5], "error_count": len(errors),
    }, indent=2))
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

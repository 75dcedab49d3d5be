"""The Python client's cost on the serving path and its throughput, and `vigil import` rows/s.

Run by tools/bench/run-client.sh against a release `vigil serve` on loopback:

- caller cost: `log_prediction` timed one call at a time with time.perf_counter_ns over
  --calls calls (the sender thread running, batching and sending meanwhile); p50, p99, p99.9;
- the same, paced at --paced-rate calls a second (as a serving process calls it);
- sustained throughput: --events predictions logged as fast as one thread can, until `flush`
  returns True (every event acknowledged by the server), as events/s end to end.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python", "src"))
from vigil_client import Vigil  # noqa: E402


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--paced-rate", type=int, default=2_000)
    parser.add_argument("--paced-calls", type=int, default=20_000)
    args = parser.parse_args()

    features = {"amount": 129.5, "country": "DE", "age": 41, "is_new": False}
    with Vigil(args.url, batch_size=500, flush_interval=0.2, max_queue=1_000_000) as vigil:
        durations = []
        clock = time.perf_counter_ns
        for i in range(args.calls):
            start = clock()
            vigil.log_prediction(model="bench", id=f"c{i}", prediction="ok", features=features,
                                 confidence=0.91, segments={"region": "eu"}, version="v7")
            durations.append(clock() - start)
        if not vigil.flush(timeout=300):
            sys.exit(f"flush did not finish: {vigil.stats}")
        durations.sort()
        print(f"log_prediction on the caller's thread, {args.calls:,} calls: "
              f"p50 {percentile(durations, 0.5) / 1000:.1f} µs, p99 {percentile(durations, 0.99) / 1000:.1f} µs, "
              f"p99.9 {percentile(durations, 0.999) / 1000:.1f} µs, mean {statistics.fmean(durations) / 1000:.1f} µs")

        # Paced as serving code calls it: --paced-rate calls a second, the sender idle between.
        durations = []
        interval = 1.0 / args.paced_rate
        next_call = time.perf_counter()
        for i in range(args.paced_calls):
            while time.perf_counter() < next_call:
                pass
            next_call += interval
            start = clock()
            vigil.log_prediction(model="bench", id=f"p{i}", prediction="ok", features=features,
                                 confidence=0.91, segments={"region": "eu"}, version="v7")
            durations.append(clock() - start)
        if not vigil.flush(timeout=300):
            sys.exit(f"flush did not finish: {vigil.stats}")
        durations.sort()
        print(f"log_prediction paced at {args.paced_rate:,}/s, {args.paced_calls:,} calls: "
              f"p50 {percentile(durations, 0.5) / 1000:.1f} µs, p99 {percentile(durations, 0.99) / 1000:.1f} µs, "
              f"p99.9 {percentile(durations, 0.999) / 1000:.1f} µs")

        start = time.perf_counter()
        for i in range(args.events):
            vigil.log_prediction(model="bench", id=f"t{i}", prediction="ok", features=features,
                                 confidence=0.91, segments={"region": "eu"}, version="v7")
        if not vigil.flush(timeout=600):
            sys.exit(f"flush did not finish: {vigil.stats}")
        elapsed = time.perf_counter() - start
        stats = vigil.stats
        print(f"sustained, one thread logging {args.events:,} predictions until all acknowledged: "
              f"{args.events / elapsed:,.0f} events/s ({elapsed:.1f} s; stats {stats})")


if __name__ == "__main__":
    main()

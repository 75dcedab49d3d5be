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


FEATURES = {"amount": 129.5, "country": "DE", "age": 41, "is_new": False}


def timed_calls(vigil, prefix, count, interval=None):
    """Sorted durations (ns) of `count` log_prediction calls, back to back or one per `interval`
    seconds, once all of them are acknowledged."""
    durations = []
    clock = time.perf_counter_ns
    next_call = time.perf_counter()
    for i in range(count):
        if interval is not None:
            while time.perf_counter() < next_call:
                pass
            next_call += interval
        start = clock()
        vigil.log_prediction(model="bench", id=f"{prefix}{i}", prediction="ok", features=FEATURES,
                             confidence=0.91, segments={"region": "eu"}, version="v7")
        durations.append(clock() - start)
    if not vigil.flush(timeout=300):
        sys.exit(f"flush did not finish: {vigil.stats}")
    durations.sort()
    return durations


def summary(durations):
    return (f"p50 {percentile(durations, 0.5) / 1000:.1f} µs, p99 {percentile(durations, 0.99) / 1000:.1f} µs, "
            f"p99.9 {percentile(durations, 0.999) / 1000:.1f} µs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--paced-rate", type=int, default=2_000)
    parser.add_argument("--paced-calls", type=int, default=20_000)
    args = parser.parse_args()

    with Vigil(args.url, batch_size=500, flush_interval=0.2, max_queue=1_000_000) as vigil:
        durations = timed_calls(vigil, "c", args.calls)
        print(f"log_prediction on the caller's thread, {args.calls:,} calls: {summary(durations)}, "
              f"mean {statistics.fmean(durations) / 1000:.1f} µs")
        # Paced as serving code calls it: --paced-rate calls a second, the sender working between.
        durations = timed_calls(vigil, "p", args.paced_calls, interval=1.0 / args.paced_rate)
        print(f"log_prediction paced at {args.paced_rate:,}/s, {args.paced_calls:,} calls: {summary(durations)}")

        start = time.perf_counter()
        for i in range(args.events):
            vigil.log_prediction(model="bench", id=f"t{i}", prediction="ok", features=FEATURES,
                                 confidence=0.91, segments={"region": "eu"}, version="v7")
        if not vigil.flush(timeout=600):
            sys.exit(f"flush did not finish: {vigil.stats}")
        elapsed = time.perf_counter() - start
        stats = vigil.stats
        print(f"sustained, one thread logging {args.events:,} predictions until all acknowledged: "
              f"{args.events / elapsed:,.0f} events/s ({elapsed:.1f} s; stats {stats})")


if __name__ == "__main__":
    main()

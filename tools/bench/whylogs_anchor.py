#!/usr/bin/env python3
"""whylogs anchor for the ingestion row of tools/bench/all.sh (issue 13).

Profiles the same prediction rows Vigil ingests (an NDJSON file from `bodies.py predictions
--rows`) with whylogs: every feature, segment, the confidence and the prediction as columns of one
pandas DataFrame, built before the clock starts, profiled in memory (no durability, no HTTP, no
JSON parsing). Prints JSON: rows, each run's seconds, and the median rows/s.
"""
import argparse
import json
import statistics
import time

import pandas as pd
import whylogs as why


def frame(path):
    records = []
    with open(path) as f:
        for line in f:
            item = json.loads(line)
            row = dict(item["features"])
            row.update({f"segment.{k}": v for k, v in item["segments"].items()})
            row["confidence"] = item["confidence"]
            row["prediction"] = item["prediction"]
            row["model"] = item["model"]
            records.append(row)
    return pd.DataFrame.from_records(records)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    df = frame(args.rows)
    why.log(pandas=df.head(1000))  # warm-up: imports, first-call costs
    seconds = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        why.log(pandas=df).profile()
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    print(json.dumps({"rows": len(df), "columns": len(df.columns), "seconds": [round(s, 3) for s in seconds],
                      "rows_per_second": round(len(df) / median), "whylogs": why.__version__}))


if __name__ == "__main__":
    main()

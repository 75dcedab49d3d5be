#!/usr/bin/env python3
"""Request bodies for vigil-load (tools/bench/loadgen), written before any clock starts.

The workload is DESIGN §8's: predictions with 10 numeric + 3 categorical features, 2 segments, a
confidence and a version, over 3 models, every id unique. A bodies file holds records
`<decimal byte length>\\n<bytes>`.

  bodies.py predictions --requests 200 --batch 1000 --out P.bodies [--rows R.ndjson]
  bodies.py labels --requests 200 --batch 1000 --out L.bodies     # labels for those same ids
  bodies.py single --requests 60000 --out S.bodies                 # one JSON object per request

`--rows` also writes every prediction as one NDJSON line (the same rows, for the whylogs
anchor). Standard library only; deterministic for a seed.
"""
import argparse
import json
import random
import time

NUMERIC = 10
COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT"]
DEVICES = ["ios", "android", "web"]
PLANS = ["free", "pro", "team"]


def prediction(rng, prefix, request, i, ts):
    features = {f"n{k}": round(rng.gauss(50 * (k + 1), 10), 4) for k in range(NUMERIC)}
    features["country"] = rng.choice(COUNTRIES)
    features["device"] = rng.choice(DEVICES)
    features["plan"] = rng.choice(PLANS)
    p = rng.random()
    return {
        "id": f"{prefix}-{request}-{i}", "model": f"model{(request + i) % 3}", "version": "v1",
        "timestamp": ts, "features": features,
        "prediction": "fraud" if p > 0.5 else "ok", "confidence": round(max(p, 1 - p), 6),
        "segments": {"region": rng.choice(["eu", "us", "apac"]), "tier": rng.choice(["a", "b"])},
    }


def dumps(item):
    return json.dumps(item, separators=(",", ":"))


def write_record(out, body):
    out.write(b"%d\n" % len(body))
    out.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["predictions", "labels", "single"])
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timestamp", type=int, default=int(time.time()) - 600)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", help="also write every prediction as an NDJSON line here")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    rows = open(args.rows, "w") if args.rows else None
    with open(args.out, "wb") as out:
        for r in range(args.requests):
            if args.kind == "single":
                write_record(out, dumps(prediction(rng, args.prefix, r, 0, args.timestamp)).encode())
                continue
            lines = []
            for i in range(args.batch):
                if args.kind == "labels":
                    # The model and label the prediction of this id got (same seed, same order).
                    item = prediction(rng, args.prefix, r, i, args.timestamp)
                    flip = rng.random() < 0.2
                    label = item["prediction"] if not flip else ("ok" if item["prediction"] == "fraud" else "fraud")
                    lines.append(dumps({"id": item["id"], "model": item["model"], "label": label,
                                        "timestamp": args.timestamp + 60}))
                else:
                    item = prediction(rng, args.prefix, r, i, args.timestamp)
                    rng.random()  # keep the stream aligned with the labels' (their flip draw)
                    line = dumps(item)
                    lines.append(line)
                    if rows:
                        rows.write(line + "\n")
            write_record(out, ("\n".join(lines) + "\n").encode())
    if rows:
        rows.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compare-document benchmark (DESIGN §8: the compare document for two sides of a 24 h window
in <= 20 ms; issue 12). Starts the given vigil binary on a fresh SQLite file, sends a binary
model's traffic on two variants (control and canary) spread over the last 24 h with 10 numeric
features, a segment and a latency metric, labels half of it, and times GET .../compare over
window=1440m (merged from the buckets on request), median of 21, beside the 24 h metrics
document of one side. Standard library only.

    tools/bench/compare.py --binary .build/release/vigil [--predictions 400000]
"""
import argparse
import json
import random
import tempfile
import time


from benchhttp import Server, request, timed  # noqa: E402 (tools/bench, the script's own directory)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--predictions", type=int, default=400_000)
    parser.add_argument("--port", type=int, default=19790)
    args = parser.parse_args()
    config = "evaluation_interval: 5s\nmodels:\n  fraud: {task: binary, positive_class: fraud, segments: [region]}\n"
    with Server(tempfile.mkdtemp(), args.port, config=config, binary=args.binary):
        rng = random.Random(12)
        now = int(time.time())
        batch = 2_000
        for start in range(0, args.predictions, batch):
            lines, labels = [], []
            for i in range(start, min(start + batch, args.predictions)):
                variant = "canary" if i % 10 == 0 else "control"
                p = rng.random()
                predicted = "fraud" if p > 0.5 else "ok"
                lines.append(json.dumps({
                    "id": f"p{i}", "model": "fraud", "version": "v2" if variant == "canary" else "v1",
                    "variant": variant, "timestamp": now - rng.randint(60, 86_000),
                    "features": {f"n{k}": round(rng.gauss(50 * (k + 1), 10), 3) for k in range(10)},
                    "prediction": predicted, "confidence": round(max(p, 1 - p), 4),
                    "segments": {"region": rng.choice(["eu", "us", "apac"])},
                    "metrics": {"latency_ms": round(rng.gammavariate(2, 20), 1)},
                }, separators=(",", ":")))
                if i % 2 == 0:
                    right = rng.random() < (0.8 if variant == "control" else 0.74)
                    labels.append({"id": f"p{i}", "model": "fraud",
                                   "label": predicted if right else ("ok" if predicted == "fraud" else "fraud")})
            status, body = request(args.port, "POST", "/v1/predictions", "\n".join(lines) + "\n", "application/x-ndjson")
            assert status == 200, body[:300]
            status, body = request(args.port, "POST", "/v1/labels", json.dumps(labels))
            assert status == 200, body[:300]
        time.sleep(8)  # folds settled, an evaluation and a flush done
        query = "/v1/models/fraud/compare?baseline=variant:control&candidate=variant:canary&window=1440m"
        compare_ms, body = timed(args.port, query)
        document = json.loads(body)
        metrics_ms, _ = timed(args.port, "/v1/models/fraud/metrics?window=1440m&variant=control")
        print(json.dumps({
            "predictions": args.predictions, "baseline": document["baseline"]["predictions"],
            "candidate": document["candidate"]["predictions"], "entries": len(document["metrics"]),
            "verdict": document["verdict"], "reason": document["reason"],
            "compare_ms_median": round(compare_ms, 2), "metrics_document_ms_median": round(metrics_ms, 2),
        }, indent=1))


if __name__ == "__main__":
    main()

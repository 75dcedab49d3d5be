#!/usr/bin/env python3
"""Console render benchmark (issue 15: pages render within a stated time for 50 models x 200
features). Starts the given vigil binary on a fresh SQLite file with 50 binary models, each with
a 1,000-row reference of 200 features (150 numeric, 50 categorical), then 2,000 labelled
predictions per model over the last hour, half of them drifted; waits for an evaluation, then
times GET / (the overview: every model's 1 h document from the evaluation snapshot), GET
/console/models/m0 (a model page: its document, 200 histograms and a 25-point quality chart
merged through the series read path) and GET /console/alerts, median of 21 each, beside GET
/v1/models/m0/metrics; then 289-point series (a day at 5 minutes) of three gauges, median of 5. Standard library only.

    tools/bench/console.py --binary .build/release/vigil [--models 50 --features 200]
"""
import argparse
import json
import random
import tempfile
import time


from benchhttp import Server, request, timed  # noqa: E402 (tools/bench, the script's own directory)


NDJSON = "application/x-ndjson"


def features(rng, count, shift):
    out = {}
    for k in range(count):
        if k % 4 == 3:
            out[f"c{k}"] = rng.choice(["a", "b", "c", "d"] if not shift else ["a", "b", "c", "e"])
        else:
            out[f"n{k}"] = round(rng.gauss(10 * (k + 1) + (5 if shift else 0), 3), 3)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--predictions", type=int, default=2_000, help="per model")
    parser.add_argument("--port", type=int, default=19791)
    args = parser.parse_args()
    config = "evaluation_interval: 5s\nlimits: {max_models: 200}\nmodels:\n" + "".join(
        f"  m{m}: {{task: binary, positive_class: fraud, segments: [region]}}\n" for m in range(args.models))
    with Server(tempfile.mkdtemp(), args.port, config=config, binary=args.binary):
        rng = random.Random(15)
        now = int(time.time())
        for m in range(args.models):
            model = f"m{m}"
            reference = []
            for i in range(1_000):
                p = rng.random()
                reference.append(json.dumps({
                    "id": f"r{i}", "features": features(rng, args.features, False),
                    "prediction": "fraud" if p > 0.7 else "ok", "confidence": round(max(p, 1 - p), 4),
                    "label": "fraud" if rng.random() < 0.3 else "ok"}, separators=(",", ":")))
            status, body = request(args.port, "PUT", f"/v1/models/{model}/reference", "\n".join(reference).encode(), NDJSON)
            assert status == 200, body[:300]
            lines, labels = [], []
            for i in range(args.predictions):
                p = rng.random()
                predicted = "fraud" if p > 0.7 else "ok"
                lines.append(json.dumps({
                    "id": f"p{i}", "model": model, "timestamp": now - rng.randint(30, 3_500),
                    "features": features(rng, args.features, i % 2 == 0), "prediction": predicted,
                    "confidence": round(max(p, 1 - p), 4), "segments": {"region": rng.choice(["eu", "us"])},
                    "metrics": {"latency_ms": round(rng.gammavariate(2, 20), 1)}}, separators=(",", ":")))
                labels.append(json.dumps({"id": f"p{i}", "model": model,
                                          "label": predicted if rng.random() < 0.8 else ("ok" if predicted == "fraud" else "fraud")}))
            for start in range(0, len(lines), 500):
                status, body = request(args.port, "POST", "/v1/predictions", "\n".join(lines[start:start + 500]).encode(), NDJSON)
                assert status == 200, body[:300]
            status, body = request(args.port, "POST", "/v1/labels", "\n".join(labels).encode(), NDJSON)
            assert status == 200, body[:300]
        # The overview reads the evaluation's snapshot: wait until an evaluation has covered every
        # model (its window gauges name the last one), then one more.
        last = f'vigil_window_predictions{{model="m{args.models - 1}"'
        for _ in range(600):
            if last in request(args.port, "GET", "/metrics")[1].decode():
                break
            time.sleep(0.5)
        time.sleep(6)
        print(f"{args.models} models x {args.features} features, {args.predictions:,} labelled predictions each (median of 21)")
        for name, path in [("overview GET /", "/"), ("model page GET /console/models/m0", "/console/models/m0"),
                           ("alerts GET /console/alerts", "/console/alerts"),
                           ("its JSON document GET /v1/models/m0/metrics", "/v1/models/m0/metrics")]:
            median, body = timed(args.port, path)
            print(f"{name}: {median:.1f} ms ({len(body):,} bytes)")
        # A day of the 1 h window every 5 minutes (289 points) through the series read path: a
        # feature's own PSI merges that feature only, its adjusted p-value all 200, accuracy none.
        for metric in ["quality_accuracy", "feature_drift_psi&feature=n0", "feature_drift_pvalue&feature=n0"]:
            median, _ = timed(args.port, f"/v1/models/m0/series?metric={metric}&window=1h&step=5m", runs=5)
            print(f"series of {metric}, 289 points: {median:.1f} ms (median of 5)")


if __name__ == "__main__":
    main()

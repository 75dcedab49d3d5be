#!/usr/bin/env python3
"""Drift onset to webhook delivered (DESIGN §8, issue 6), against a running release Vigil.

tools/bench/alert-latency.sh starts Vigil with evaluation_interval E and a drift rule with
`for: F`, pointing its webhook at the receiver this script runs on loopback. Each episode uses a
fresh model: upload a reference, then send drifted traffic; the clock starts when that ingest
request is acknowledged (the drift is durably in Vigil) and stops when the firing webhook for
that model arrives. Reports each latency, the median and the maximum, against the bar E + F + 1 s.
Standard library only.
"""
import argparse
import http.client
import http.server
import json
import statistics
import threading
import time

arrivals = {}
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        now = time.perf_counter()
        if body.get("status") == "firing":
            for alert in body["alerts"]:
                with lock:
                    arrivals.setdefault(alert["labels"]["model"], now)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def items(model, n, center, labels=False):
    now = time.time()
    return json.dumps([{"id": f"{model}-{center}-{i}", "model": model, "timestamp": now - 1,
                        "features": {"amount": center + i % 50}, "prediction": "fraud" if i % 2 else "ok",
                        "confidence": 0.7} for i in range(n)]).encode()


def request(conn, method, path, body):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    payload = r.read()
    assert r.status == 200, payload


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="Vigil's port")
    parser.add_argument("--receiver-port", type=int, required=True)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--interval", type=float, required=True, help="evaluation_interval, seconds")
    parser.add_argument("--for", dest="for_", type=float, required=True, help="the rule's for, seconds")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.receiver_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    latencies = []
    for e in range(args.episodes):
        model = f"m{e}"
        request(conn, "PUT", f"/v1/models/{model}/reference", items(model, 400, 0))
        time.sleep(args.interval * 1.5)  # not aligned with the evaluation tick
        request(conn, "POST", "/v1/predictions", items(model, 200, 60))
        onset = time.perf_counter()
        deadline = onset + 10 * (args.interval + args.for_ + 1)
        while time.perf_counter() < deadline:
            with lock:
                if model in arrivals:
                    break
            time.sleep(0.01)
        with lock:
            arrived = arrivals.get(model)
        assert arrived is not None, f"no webhook for {model}"
        latencies.append(arrived - onset)
        print(f"episode {e}: {latencies[-1]:.2f} s", flush=True)
    bar = args.interval + args.for_ + 1
    print(f"\nonset to webhook delivered: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
          f"over {len(latencies)} episodes; bar (evaluation interval + for + 1 s) = {bar:.0f} s")


if __name__ == "__main__":
    main()

"""The client against the real `vigil` binary: nothing lost, the caller never blocked or raised into."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import Server, free_port

from vigil_client import Vigil, VigilError

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def wait_for(condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def predictions_stored(server: Server, model: str, token=None) -> int:
    return server.model(model, token).get("counts", {}).get("predictions", 0)


def test_predictions_and_labels_arrive_and_join(server):
    with Vigil(server.url, batch_size=100, flush_interval=0.2) as vigil:
        for i in range(1_000):
            assert vigil.log_prediction(
                model="fraud", id=f"r{i}", prediction="fraud" if i % 3 == 0 else "ok",
                features={"amount": float(i), "country": "DE" if i % 2 else "FR"}, confidence=0.9,
                segments={"region": "eu"}, version="v7", metrics={"latency_ms": 41},
            )
        for i in range(0, 1_000, 2):
            vigil.log_label(model="fraud", id=f"r{i}", label="ok")
        assert vigil.flush(timeout=30)
        stats = vigil.stats
    assert stats == {"queued": 0, "sent": 1_500, "retried": 0, "dropped": 0, "failed": 0}
    model = server.model("fraud")
    assert model["counts"]["predictions"] == 1_000
    assert model["counts"]["labeled"] == 500
    assert {f["name"]: f["type"] for f in model["features"]} == {"amount": "numeric", "country": "categorical"}
    assert model["versions"] == {"v7": 1_000}


def test_server_down_at_start_then_up_loses_nothing_and_never_blocks(workdir):
    port = free_port()
    vigil = Vigil(f"http://127.0.0.1:{port}", batch_size=200, flush_interval=0.1, max_retry_delay=0.5)
    slowest = 0.0
    began = time.perf_counter()
    for i in range(2_000):
        started = time.perf_counter()
        queued = vigil.log_prediction(model="m", id=f"p{i}", prediction="a", features={"x": i})
        slowest = max(slowest, time.perf_counter() - started)
        assert queued
    # The sender is failing to connect and backing off meanwhile; the caller must not notice
    # (bounds loose enough for a loaded CI machine; a caller waiting on backoff would take seconds).
    total = time.perf_counter() - began
    assert slowest < 0.5, f"a log_prediction call took {slowest * 1000:.1f} ms while the server was down"
    assert total < 5, f"2,000 log_prediction calls took {total:.2f} s while the server was down"
    assert wait_for(lambda: vigil.stats["retried"] > 0, timeout=10)
    assert vigil.flush(timeout=0.3) is False  # nothing can be acknowledged yet
    server = Server(workdir, port=port).start()
    try:
        assert vigil.flush(timeout=60)
        assert predictions_stored(server, "m") == 2_000
        stats = vigil.stats
        assert stats["sent"] == 2_000 and stats["dropped"] == 0 and stats["failed"] == 0
        vigil.close()
    finally:
        server.stop()


def test_a_full_queue_drops_and_counts(workdir):
    vigil = Vigil(f"http://127.0.0.1:{free_port()}", max_queue=100, flush_interval=0.05, max_retry_delay=0.2)
    outcomes = [vigil.log_prediction(model="m", id=f"p{i}", prediction="a") for i in range(250)]
    assert outcomes.count(True) == 100 and outcomes.count(False) == 150
    assert vigil.stats["dropped"] == 150
    assert vigil.stats["queued"] == 100
    started = time.monotonic()
    assert vigil.close(timeout=0.5) is False  # the server never came up
    assert time.monotonic() - started < 5
    stats = vigil.stats
    assert stats["dropped"] == 250 and stats["queued"] == 0
    assert vigil.log_prediction(model="m", id="late", prediction="a") is False  # closed


def test_events_are_flushed_at_interpreter_exit(server):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {SRC!r})
        from vigil_client import Vigil
        vigil = Vigil({server.url!r}, batch_size=10_000, flush_interval=60)
        for i in range(500):
            vigil.log_prediction(model="exit", id=f"e{{i}}", prediction="a", features={{"x": i}})
        # no flush, no close: the interpreter exits with everything still queued
    """)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert time.monotonic() - started < 30
    assert predictions_stored(server, "exit") == 500


def test_the_context_manager_flushes_on_exit(server):
    with Vigil(server.url, batch_size=10_000, flush_interval=60) as vigil:
        for i in range(300):
            vigil.log_prediction(model="ctx", id=f"c{i}", prediction="a")
    assert predictions_stored(server, "ctx") == 300
    assert vigil.stats["sent"] == 300


def test_503_with_retry_after_from_an_overloaded_server_is_retried_until_stored(workdir):
    # One request body at a time (the budget admits a lone request whatever its size): several
    # clients sending at once get 503 `overloaded` with Retry-After, and must retry.
    server = Server(workdir, config="server: {max_inflight_body_bytes: 1024}\n").start()
    try:
        clients = [Vigil(server.url, batch_size=50, flush_interval=0.01, max_retry_delay=1.0) for _ in range(6)]

        def produce(n, vigil):
            for i in range(1_000):
                vigil.log_prediction(model="busy", id=f"c{n}-{i}", prediction="a", features={"x": i, "t": "y" * 40})

        threads = [threading.Thread(target=produce, args=(n, c)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for vigil in clients:
            assert vigil.flush(timeout=120)
        retried = sum(v.stats["retried"] for v in clients)
        assert sum(v.stats["sent"] for v in clients) == 6_000
        assert all(v.stats["failed"] == 0 and v.stats["dropped"] == 0 for v in clients)
        assert predictions_stored(server, "busy") == 6_000
        overloaded = [line for line in server.metrics_text().splitlines()
                      if line.startswith("vigil_http_request_duration_seconds_count") and 'status="503"' in line]
        assert retried > 0, "no request was refused: the test did not overload the server"
        assert overloaded, "the server counted no 503"
        for vigil in clients:
            vigil.close()
    finally:
        server.stop()


def test_429_with_retry_after_is_honoured(workdir):
    server = Server(workdir, config="server: {rate_limit: 2}\n").start()
    try:
        vigil = Vigil(server.url, batch_size=20, flush_interval=0.01, max_retry_delay=5.0)
        for i in range(200):  # 10 requests at 2 per second: some get 429 and wait out Retry-After
            vigil.log_prediction(model="rated", id=f"r{i}", prediction="a")
        assert vigil.flush(timeout=60)
        assert vigil.stats["retried"] > 0
        assert predictions_stored(server, "rated") == 200
        vigil.close()
    finally:
        server.stop()


def test_item_errors_are_counted_never_raised(server, caplog):
    with caplog.at_level(logging.WARNING, logger="vigil_client"):
        with Vigil(server.url, flush_interval=0.05) as vigil:
            vigil.log_prediction(model="ok", id="good", prediction="a")
            vigil.log_prediction(model="not a model name!", id="bad", prediction="a")
            vigil.log_prediction(model="ok", id="", prediction="a")  # an empty id is invalid
            # Queued: the sender thread finds that they cannot be encoded and counts them.
            assert vigil.log_prediction(model="ok", id="x", prediction="a", features={"f": object()}) is True
            assert vigil.log_label(model="ok", id="y", label={1, 2}) is True  # a set is not JSON
            assert vigil.flush(timeout=30)
            stats = vigil.stats
    assert stats["sent"] == 1 and stats["failed"] == 4 and stats["dropped"] == 0
    assert "rejected" in caplog.text
    assert predictions_stored(server, "ok") == 1


def test_tokens_are_sent_and_a_refusal_is_counted(workdir):
    config = "auth:\n  tokens: [{name: svc, env: VIGIL_TEST_TOKEN, scopes: [ingest, read]}]\n"
    server = Server(workdir, config=config, env={"VIGIL_TEST_TOKEN": "t0ken-for-client-tests"}).start()
    try:
        with Vigil(server.url, token="t0ken-for-client-tests", flush_interval=0.05) as good:
            good.log_prediction(model="auth", id="a1", prediction="a")
            assert good.flush(timeout=30)
        assert good.stats["sent"] == 1
        with Vigil(server.url, token="wrong", flush_interval=0.05) as bad:
            bad.log_prediction(model="auth", id="a2", prediction="a")
            assert bad.flush(timeout=30)  # refused for good: not retried for ever
        assert bad.stats["failed"] == 1 and bad.stats["sent"] == 0
        assert predictions_stored(server, "auth", token="t0ken-for-client-tests") == 1
    finally:
        server.stop()


def test_gzip_once_the_server_says_it_takes_it(server):
    with Vigil(server.url, batch_size=500, flush_interval=0.05) as vigil:
        vigil.log_prediction(model="gz", id="first", prediction="a")
        assert vigil.flush(timeout=30)
        assert vigil._server_takes_gzip  # the ingest response's Accept-Encoding: gzip
        for i in range(2_000):
            vigil.log_prediction(model="gz", id=f"g{i}", prediction="a", features={"text": "lorem ipsum " * 10})
        assert vigil.flush(timeout=30)
    assert vigil.stats["sent"] == 2_001 and vigil.stats["failed"] == 0
    assert predictions_stored(server, "gz") == 2_001
    with Vigil(server.url, gzip=True, flush_interval=0.05) as forced:
        for i in range(100):
            forced.log_prediction(model="gz", id=f"f{i}", prediction="a", features={"text": "x" * 100})
    assert forced.stats["sent"] == 100
    assert predictions_stored(server, "gz") == 2_101


def test_a_batch_over_the_servers_item_limit_is_split(workdir):
    server = Server(workdir, config="server: {max_items_per_request: 30}\n").start()
    try:
        with Vigil(server.url, batch_size=500, flush_interval=0.05) as vigil:
            for i in range(400):
                vigil.log_prediction(model="split", id=f"s{i}", prediction="a")
            assert vigil.flush(timeout=60)
        assert vigil.stats["sent"] == 400 and vigil.stats["failed"] == 0
        assert predictions_stored(server, "split") == 400
    finally:
        server.stop()


def test_resending_after_a_lost_response_is_counted_once(server):
    # Ids are idempotent: the same events sent twice are stored once.
    for _ in range(2):
        with Vigil(server.url, flush_interval=0.05) as vigil:
            for i in range(50):
                vigil.log_prediction(model="idem", id=f"i{i}", prediction="a")
        assert vigil.stats["sent"] == 50
    model = server.model("idem")
    assert model["counts"]["predictions"] == 50
    assert model["counts"]["duplicate_predictions"] == 50


def test_numpy_and_pandas_values(server):
    np = pytest.importorskip("numpy", reason="numpy is installed by clients/python/run-tests.sh")
    pd = pytest.importorskip("pandas", reason="pandas is installed by clients/python/run-tests.sh")
    now = pd.Timestamp.now(tz="UTC")
    with Vigil(server.url, flush_interval=0.05) as vigil:
        assert vigil.log_prediction(
            model="np", id=np.str_("n1"), prediction=np.int64(1),
            features={"f32": np.float32(1.5), "i64": np.int64(7), "flag": np.bool_(True), "gone": np.nan,
                      "na": pd.NA, "cat": np.str_("DE")},
            confidence=np.float64(0.75), scores={"1": np.float32(0.75), "0": np.float32(0.25)},
            metrics={"latency_ms": np.int32(12)}, timestamp=now,
        )
        assert vigil.log_prediction(model="np", id="n2", prediction=0, features={"f32": 2.5, "i64": 3},
                                    timestamp=np.datetime64(now.tz_convert(None).to_datetime64()))
        assert vigil.log_prediction(model="np", id="n3", prediction=0, features={"f32": 1.0},
                                    timestamp=dt.datetime.now(dt.timezone.utc))
        assert vigil.log_label(model="np", id="n1", label=np.int64(1), timestamp=now.to_pydatetime())
        assert vigil.flush(timeout=30)
    assert vigil.stats["sent"] == 4 and vigil.stats["failed"] == 0
    model = server.model("np")
    features = {f["name"]: f for f in model["features"]}
    assert features["f32"]["type"] == "numeric" and features["i64"]["type"] == "numeric"
    assert features["flag"]["type"] == "categorical" and features["cat"]["type"] == "categorical"
    assert model["counts"]["labeled"] == 1

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "amount": rng.normal(100, 15, 3_000), "country": rng.choice(["DE", "FR", "IT"], 3_000),
        "prediction": rng.choice(["fraud", "ok"], 3_000), "label": rng.choice(["fraud", "ok"], 3_000),
        "confidence": rng.uniform(0.5, 1.0, 3_000),
    })
    frame.loc[5, "amount"] = np.nan  # missing
    answer = vigil.upload_reference("np-ref", frame, confidence_column="confidence")
    assert answer["rows"] == 3_000, answer
    reference = server.model("np-ref")["reference"]["installed"]
    assert reference["source"] == "upload"
    assert reference["rows"] == 3_000 and reference["labeled"] == 3_000, reference


def test_upload_reference_from_rows_and_its_errors(server):
    vigil = Vigil(server.url)
    rows = [{"amount": float(i), "prediction": "ok" if i % 2 else "fraud"} for i in range(1_000)]
    assert vigil.upload_reference("rows", rows, label_column=None)["rows"] == 1_000
    with pytest.raises(VigilError) as refused:
        vigil.upload_reference("rows", [{"amount": 1.0, "prediction": "ok"}], id_column="missing")
    assert "missing" in str(refused.value)
    with pytest.raises(VigilError):
        vigil.upload_reference("bad name!", rows)
    unreachable = Vigil(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(VigilError) as down:
        unreachable.upload_reference("rows", rows)
    assert "unreachable" in str(down.value)
    unreachable.close(timeout=0.1)
    vigil.close()


def test_bad_constructor_arguments_raise_at_once():
    with pytest.raises(ValueError):
        Vigil("localhost:9750")
    with pytest.raises(ValueError):
        Vigil("http://127.0.0.1:9750", batch_size=0)


def test_a_dict_changed_after_the_call_is_sent_as_it_was(server):
    """Events are encoded on the sender thread; the caller's dicts are copied at the call."""
    with Vigil(server.url, flush_interval=5) as vigil:
        features = {"amount": 1.5}
        assert vigil.log_prediction(model="copy", id="c1", prediction="a", features=features)
        features["late"] = "added after the call"
        features["amount"] = "not a number any more"
        assert vigil.flush(timeout=30)
        assert vigil.stats["sent"] == 1 and vigil.stats["failed"] == 0
    model = server.model("copy")
    assert [(f["name"], f["type"]) for f in model["features"]] == [("amount", "numeric")]

"""HTTP helpers the benchmark scripts share: one request to a loopback vigil, and a GET timed
as the median of several runs. Standard library only."""
import http.client
import statistics
import time


def request(port, method, path, body=None, content_type="application/json", timeout=120):
    """(status, body bytes) of one request on a new connection to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers={"Content-Type": content_type} if body else {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def timed(port, path, runs=21):
    """(median milliseconds, last body) of `runs` GETs of `path`, each asserted 200."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        status, body = request(port, "GET", path)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, body[:300]
    return statistics.median(times), body

"""The Vigil client: queue in the caller's thread, send from a background thread."""

from __future__ import annotations

import atexit
import collections
import email.utils
import gzip as _gzip
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.parse
import weakref
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ._encode import encode_fields, encode_line, plain, timestamp

__all__ = ["Vigil", "VigilError"]

logger = logging.getLogger("vigil_client")

_PREDICTIONS = "/v1/predictions"
_LABELS = "/v1/labels"
# A batch never exceeds these, whatever batch_size says: the server's defaults are 10,000 items
# (server.max_items_per_request) and 10 MiB (server.max_body_bytes) per request.
_MAX_BATCH_ITEMS = 10_000
_MAX_BATCH_BYTES = 4 * 1024 * 1024
_GZIP_MIN_BYTES = 1024
_RETRYABLE = {408, 429, 500, 502, 503, 504}


class VigilError(Exception):
    """A synchronous call (``upload_reference``) the server refused or could not be reached for."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class _Sent(Exception):
    """A response that ends a batch's attempts (accepted, or refused for good)."""


class Vigil:
    """Sends predictions and labels to a Vigil server without ever slowing down or breaking the caller.

    ``log_prediction`` and ``log_label`` copy the event's arguments and append them to a bounded in-memory
    queue; a daemon thread sends the queue as NDJSON batches of up to ``batch_size`` events, at
    least every ``flush_interval`` seconds. 5xx, 408, 429 and connection errors are retried with
    exponential backoff and jitter, honouring ``Retry-After`` (safe: the server ignores a
    re-sent ``(model, id)``). Items the server rejects (4xx item errors) are counted in
    ``stats["failed"]`` and logged, never raised. A full queue drops the new event and counts it
    in ``stats["dropped"]``. Bodies are gzip-compressed once the server says it accepts gzip
    (``gzip=None``, the default), always (``True``) or never (``False``).

    ``close()`` (also called by ``with Vigil(...)`` and at interpreter exit) flushes for up to
    ``close_timeout`` seconds and stops the thread; events still queued then are dropped.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:9750",
        token: Optional[str] = None,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        *,
        timeout: float = 10.0,
        gzip: Optional[bool] = None,
        max_retry_delay: float = 30.0,
        close_timeout: float = 10.0,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url must be http(s)://host[:port], not {url!r}")
        if batch_size < 1 or max_queue < 1 or flush_interval <= 0 or timeout <= 0:
            raise ValueError("batch_size and max_queue must be positive, flush_interval and timeout above 0")
        self.url = url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self._token = token
        self.batch_size = min(batch_size, _MAX_BATCH_ITEMS)
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.timeout = timeout
        self.max_retry_delay = max_retry_delay
        self.close_timeout = close_timeout
        self._gzip = gzip
        self._server_takes_gzip = False

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the sender waits on it for work
        self._idle = threading.Condition(self._lock)  # flush() waits on it for an empty queue
        self._stop = threading.Condition(self._lock)  # a retry's backoff waits on it; close() cuts it short
        self._queues: Dict[str, Deque[bytes]] = {_PREDICTIONS: collections.deque(), _LABELS: collections.deque()}
        self._in_flight = 0
        self._flush_requested = False
        self._closing = False
        self._closed = False
        self._counts = {"queued": 0, "sent": 0, "retried": 0, "dropped": 0, "failed": 0}
        self._connection: Optional[http.client.HTTPConnection] = None
        self._thread: Optional[threading.Thread] = None
        self._start_thread()

        # At interpreter exit: flush what is queued (daemon threads still run during atexit).
        reference = weakref.ref(self)
        self._atexit = lambda: (lambda v: v.close() if v is not None else None)(reference())
        atexit.register(self._atexit)
        if hasattr(os, "register_at_fork"):
            # A forked child (gunicorn, multiprocessing) has no sender thread: give it its own,
            # with an empty queue (the parent sends what it had queued).
            os.register_at_fork(after_in_child=lambda: (lambda v: v._after_fork() if v is not None else None)(reference()))

    # ----- the caller's side: never blocks on the network, never raises -----

    def log_prediction(
        self,
        model: str,
        id: str,
        prediction: Any,
        features: Optional[Mapping[str, Any]] = None,
        confidence: Optional[float] = None,
        scores: Optional[Mapping[str, float]] = None,
        segments: Optional[Mapping[str, Any]] = None,
        version: Optional[str] = None,
        variant: Optional[str] = None,
        metrics: Optional[Mapping[str, float]] = None,
        timestamp: Any = None,
    ) -> bool:
        """Queues one prediction; ``True`` when queued, ``False`` when dropped (queue full or closed).
        ``timestamp`` defaults to now. A value that cannot be encoded is found by the sender
        thread and counted in ``failed`` (and logged)."""
        return self._log(_PREDICTIONS, "prediction", {
            "id": id, "model": model, "version": version, "variant": variant, "timestamp": timestamp,
            "features": features, "prediction": prediction, "confidence": confidence, "scores": scores,
            "segments": segments, "metrics": metrics,
        })

    def log_label(
        self,
        model: str,
        id: str,
        label: Any = None,
        metrics: Optional[Mapping[str, float]] = None,
        timestamp: Any = None,
    ) -> bool:
        """Queues one ground-truth label (or delayed ``metrics`` such as user feedback) for the
        prediction ``id``; ``True`` when queued, ``False`` when dropped."""
        return self._log(_LABELS, "label", {
            "id": id, "model": model, "label": label, "metrics": metrics, "timestamp": timestamp,
        })

    def _log(self, path: str, kind: str, fields: Dict[str, Any]) -> bool:
        """Queues one event as its arguments: the time is taken now and the caller's dicts are
        copied (later changes do not leak in); the sender thread encodes it, so the serving path
        pays only for this."""
        if fields["timestamp"] is None:
            fields["timestamp"] = time.time()
        for key in _MAPPINGS:
            value = fields.get(key)
            if type(value) is dict:
                fields[key] = value.copy()
        return self._enqueue(path, (kind, fields))

    @property
    def stats(self) -> Dict[str, int]:
        """``queued`` (waiting or in flight now), ``sent`` (acknowledged, duplicates included),
        ``retried`` (events re-sent after a retryable failure), ``dropped`` (queue full, closed, or
        still queued when ``close`` gave up), ``failed`` (rejected by the server, or not encodable)."""
        with self._lock:
            counts = dict(self._counts)
            counts["queued"] = sum(len(q) for q in self._queues.values()) + self._in_flight
            return counts

    def flush(self, timeout: float = 10.0) -> bool:
        """Sends everything queued now; ``True`` when all of it was acknowledged (or refused for
        good) within ``timeout`` seconds, ``False`` otherwise. Never raises."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                return self._pending() == 0
            self._flush_requested = True
            self._wake.notify_all()
            while self._pending() > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flushes for up to ``timeout`` seconds (``close_timeout`` by default), then stops the
        sender; events still queued are counted as dropped. ``True`` when nothing was left.
        Later ``log_*`` calls are dropped. Safe to call twice."""
        with self._lock:
            if self._closed:
                return self._pending() == 0
        flushed = self.flush(self.close_timeout if timeout is None else timeout)
        with self._lock:
            self._closing = True
            self._closed = True
            left = sum(len(q) for q in self._queues.values())
            for queue in self._queues.values():
                queue.clear()
            self._counts["dropped"] += left
            self._wake.notify_all()
            self._stop.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # The sender notices _closing between attempts; a request in flight ends by `timeout`.
            thread.join(timeout=self.timeout + 1.0)
        try:
            atexit.unregister(self._atexit)
        except Exception:
            pass
        if left:
            logger.warning("vigil_client: closed with %d events unsent (dropped)", left)
        return flushed and left == 0

    def __enter__(self) -> "Vigil":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ----- synchronous admin call -----

    def upload_reference(
        self,
        model: str,
        data: Any,
        prediction_column: str = "prediction",
        label_column: Optional[str] = "label",
        *,
        id_column: Optional[str] = None,
        confidence_column: Optional[str] = None,
        segment_columns: Sequence[str] = (),
        feature_columns: Optional[Sequence[str]] = None,
        timeout: float = 120.0,
    ) -> Dict[str, Any]:
        """Replaces ``model``'s reference with ``data``: a pandas DataFrame or an iterable of row
        mappings. ``prediction_column`` (required) becomes each row's prediction, ``label_column``
        (when present) its inline label, ``confidence_column`` its confidence, ``segment_columns``
        its segments; every other column (or only ``feature_columns``) is a feature. Rows that are
        already prediction items (with a ``features`` mapping) are sent as they are. Blocks until
        the server answers and returns its response; raises ``VigilError`` when it refuses.
        This is a setup step, not the serving path, so unlike ``log_*`` it does raise."""
        body = b"".join(
            encode_line(row)
            for row in _reference_rows(
                data, prediction_column, label_column, id_column, confidence_column, segment_columns, feature_columns
            )
        )
        if not body:
            raise VigilError("upload_reference: no rows")
        headers = {"Content-Type": "application/x-ndjson"}
        if self._gzip is not False:
            body = _gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        path = f"/v1/models/{urllib.parse.quote(model, safe='')}/reference"
        connection = self._new_connection(timeout)
        try:
            status, response_headers, text = self._request(connection, "PUT", path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            raise VigilError(f"upload_reference: {self.url} unreachable: {error}") from error
        finally:
            connection.close()
        payload = _json_or_text(text)
        if status == 415 and headers.get("Content-Encoding"):
            # An older server without gzip: send it plain.
            self._gzip = False
            return self.upload_reference(
                model, data, prediction_column, label_column, id_column=id_column,
                confidence_column=confidence_column, segment_columns=segment_columns,
                feature_columns=feature_columns, timeout=timeout)
        if status != 200:
            message = payload.get("error") if isinstance(payload, dict) else payload
            raise VigilError(f"upload_reference: HTTP {status}: {message}", status, payload)
        return payload if isinstance(payload, dict) else {"response": payload}

    # ----- internals -----

    def _pending(self) -> int:
        return sum(len(q) for q in self._queues.values()) + self._in_flight

    def _enqueue(self, path: str, line: Any) -> bool:
        with self._lock:
            if self._closed:
                self._counts["dropped"] += 1
                return False
            queues = self._queues
            if len(queues[_PREDICTIONS]) + len(queues[_LABELS]) + self._in_flight >= self.max_queue:
                self._counts["dropped"] += 1
                return False
            queue = queues[path]
            queue.append(line)
            if len(queue) >= self.batch_size:
                self._wake.notify()
            return True

    def _encode_batch(self, path: str, items: List[Any]) -> List[bytes]:
        """Encodes queued events outside the lock (callers keep queueing meanwhile); an event that
        cannot be encoded is counted in ``failed``; what would pass the batch's byte limit goes
        back to the front of its queue, encoded."""
        lines: List[bytes] = []
        size = 0
        for index, item in enumerate(items):
            if index % 16 == 15:
                time.sleep(0)  # hand the GIL to a caller waiting for it: its call, not this batch, is urgent
            try:
                line = _encode_event(item)
            except Exception as error:  # a caller's value we cannot encode: count, never raise
                self._count_failed_encoding(item[0] if isinstance(item, tuple) else "event", error)
                continue
            if lines and size + len(line) > _MAX_BATCH_BYTES:
                rest = [line] + items[index + 1:]
                with self._lock:
                    self._queues[path].extendleft(reversed(rest))
                    self._in_flight = len(lines)
                return lines
            lines.append(line)
            size += len(line)
        with self._lock:
            self._in_flight = len(lines)
        return lines

    def _count_failed_encoding(self, kind: str, error: Exception) -> None:
        with self._lock:
            self._counts["failed"] += 1
        logger.warning("vigil_client: %s not sent: %s", kind, error)

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-client-sender", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Condition(self._lock)
        for queue in self._queues.values():
            queue.clear()
        self._in_flight = 0
        self._connection = None
        if not self._closed:
            self._start_thread()

    def _run(self) -> None:
        while True:
            with self._lock:
                batch = self._next_batch()
                if batch is None:
                    return
                path, items = batch
                self._in_flight = len(items)
            lines = self._encode_batch(path, items)
            try:
                if lines:
                    self._send(path, lines)
            except Exception:  # a bug here must not kill the sender: count and go on
                logger.exception("vigil_client: sender error; %d events counted as failed", len(lines))
                with self._lock:
                    self._counts["failed"] += len(lines)
            with self._lock:
                self._in_flight = 0
                if self._pending() == 0:
                    self._flush_requested = False
                    self._idle.notify_all()

    def _next_batch(self) -> Optional[Tuple[str, List[bytes]]]:
        """Waits (holding the lock) for a full batch, the flush interval, a flush or close; returns
        the next batch, or ``None`` when closing with nothing left."""
        deadline = time.monotonic() + self.flush_interval
        while True:
            if self._closing and self._pending() == 0:
                return None
            full = any(len(q) >= self.batch_size for q in self._queues.values())
            due = time.monotonic() >= deadline or self._flush_requested or self._closing
            if full or (due and self._pending() > 0):
                # Predictions first, so a label's prediction is usually stored before it arrives.
                path = _PREDICTIONS if self._queues[_PREDICTIONS] else _LABELS
                queue = self._queues[path]
                items = [queue.popleft() for _ in range(min(len(queue), self.batch_size))]
                return path, items
            if due:
                deadline = time.monotonic() + self.flush_interval
            self._wake.wait(max(0.0, deadline - time.monotonic()))

    def _send(self, path: str, lines: List[bytes]) -> None:
        """Sends one batch until it is acknowledged, refused for good, or the client closes."""
        attempt = 0
        while True:
            outcome, retry_after = self._attempt(path, lines)
            if outcome == "done":
                return
            if outcome == "split":  # 413: the server's limits are lower than ours
                half = len(lines) // 2
                self._send(path, lines[:half])
                self._send(path, lines[half:])
                return
            # Retryable: back off (full jitter, capped), honouring Retry-After.
            attempt += 1
            delay = min(self.max_retry_delay, 0.1 * (2 ** min(attempt, 16)))
            delay = random.uniform(delay / 2, delay)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_retry_delay))
            with self._lock:
                if self._closing:
                    # close() gave up: what is in flight is dropped with the rest.
                    self._counts["dropped"] += len(lines)
                    return
                self._counts["retried"] += len(lines)
                self._stop.wait(delay)  # only close() wakes it: new events must not cut a backoff short
                if self._closing:
                    self._counts["dropped"] += len(lines)
                    return

    def _attempt(self, path: str, lines: List[bytes]) -> Tuple[str, Optional[float]]:
        body = b"".join(lines)
        headers = {"Content-Type": "application/x-ndjson"}
        use_gzip = self._gzip is True or (self._gzip is None and self._server_takes_gzip)
        if use_gzip and len(body) >= _GZIP_MIN_BYTES:
            body = _gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            if self._connection is None:
                self._connection = self._new_connection(self.timeout)
            status, response_headers, text = self._request(self._connection, "POST", path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            logger.debug("vigil_client: %s unreachable (%s); will retry", self.url, error)
            return "retry", None
        if response_headers.get("connection", "").lower() == "close":
            self._drop_connection()
        if "gzip" in response_headers.get("accept-encoding", "").lower():
            self._server_takes_gzip = True
        if status == 200:
            payload = _json_or_text(text)
            rejected = payload.get("rejected", 0) if isinstance(payload, dict) else 0
            with self._lock:
                self._counts["sent"] += len(lines) - rejected
                self._counts["failed"] += rejected
            if rejected:
                first = (payload.get("errors") or [{}])[0]
                logger.warning(
                    "vigil_client: server rejected %d of %d events; first: %s", rejected, len(lines), first.get("error")
                )
            return "done", None
        if status == 415 and "Content-Encoding" in headers:
            self._gzip, self._server_takes_gzip = False, False
            return "retry", 0.0
        if status == 413 and len(lines) > 1:
            return "split", None
        if status in _RETRYABLE:
            return "retry", _retry_after(response_headers.get("retry-after"))
        # 400, 401, 403, 404, a lone event over 413: retrying cannot help.
        payload = _json_or_text(text)
        message = payload.get("error") if isinstance(payload, dict) else payload
        with self._lock:
            self._counts["failed"] += len(lines)
        logger.error("vigil_client: %s refused %d events: HTTP %d: %s", path, len(lines), status, message)
        return "done", None

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def _request(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: bytes, headers: Dict[str, str]
    ) -> Tuple[int, Dict[str, str], bytes]:
        headers = dict(headers)
        headers["User-Agent"] = "vigil-client-python"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        connection.request(method, self._prefix + path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(1024 * 1024)
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, response_headers, text


_MAPPINGS = ("features", "scores", "segments", "metrics")


def _encode_event(item: Any) -> bytes:
    """A queued event's NDJSON line (events put back after a batch filled are lines already)."""
    if isinstance(item, bytes):
        return item
    _, fields = item
    fields["timestamp"] = timestamp(fields["timestamp"])
    return encode_fields(fields)


def _retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` in seconds: a number, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _json_or_text(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text.decode("utf-8", "replace")


def _reference_rows(
    data: Any,
    prediction_column: str,
    label_column: Optional[str],
    id_column: Optional[str],
    confidence_column: Optional[str],
    segment_columns: Sequence[str],
    feature_columns: Optional[Sequence[str]],
) -> Iterable[Dict[str, Any]]:
    to_dict = getattr(data, "to_dict", None)
    rows: Iterable[Mapping[str, Any]] = to_dict("records") if callable(to_dict) else data
    special = {prediction_column, label_column, id_column, confidence_column, *segment_columns}
    for index, row in enumerate(rows):
        if isinstance(row.get("features"), Mapping):  # already an item
            item = {k: plain(v) for k, v in row.items()}
            item.setdefault("id", f"ref-{index}")
            yield item
            continue
        if prediction_column not in row:
            raise VigilError(f"upload_reference: row {index} has no {prediction_column!r} column")
        if id_column and id_column not in row:
            raise VigilError(f"upload_reference: row {index} has no {id_column!r} column")
        columns = feature_columns if feature_columns is not None else [c for c in row if c not in special]
        yield {
            "id": str(plain(row[id_column])) if id_column else f"ref-{index}",
            "prediction": plain(row[prediction_column]),
            "label": plain(row.get(label_column)) if label_column else None,
            "confidence": plain(row.get(confidence_column)) if confidence_column else None,
            "segments": {c: plain(row.get(c)) for c in segment_columns} or None,
            "features": {str(c): plain(row.get(c)) for c in columns},
        }

"""Turning caller values into Vigil's JSON: plain Python, numpy and pandas values alike.

numpy and pandas are never imported here: their values are recognised by duck typing
(``.item()``, ``.isoformat()``, ``.tolist()``), so the client works without them installed.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
from typing import Any, Mapping, Optional

__all__ = ["encode_line", "encode_fields", "plain", "timestamp"]


def timestamp(value: Any) -> Any:
    """An event time as Vigil takes it: RFC 3339 text or Unix seconds.

    Accepts ``datetime`` (naive ones are taken as UTC), ``date``, pandas ``Timestamp`` and numpy
    ``datetime64`` (through ``isoformat``/``item``), numbers (Unix seconds) and strings (sent as
    they are; the server checks them).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("timestamp must be a datetime, a number of Unix seconds or an RFC 3339 string")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return value
    to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas Timestamp
    if callable(to_pydatetime):
        value = to_pydatetime()
    elif type(value).__name__ == "datetime64":  # numpy datetime64: nanoseconds since the epoch
        nanoseconds = int(value.astype("datetime64[ns]").astype("int64"))
        return nanoseconds / 1e9
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).isoformat().replace(
            "+00:00", "Z"
        )
    item = getattr(value, "item", None)  # a numpy number
    if callable(item):
        return timestamp(item())
    raise TypeError(f"timestamp of type {type(value).__name__} is not supported")


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: numpy/pandas scalars unwrapped, NaN and pandas' missing
    markers turned into ``None`` (Vigil's *missing*), datetimes into RFC 3339 text."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return plain(float(value))
    if isinstance(value, (_dt.datetime, _dt.date)) or callable(getattr(value, "to_pydatetime", None)):
        return timestamp(value)
    name = type(value).__name__
    if name in ("NAType", "NaTType"):  # pandas.NA, pandas.NaT
        return None
    if name == "datetime64":
        return None if str(value) == "NaT" else timestamp(value)
    item = getattr(value, "item", None)  # numpy scalars (np.float32, np.int64, np.bool_, np.str_)
    if callable(item) and getattr(value, "shape", None) == ():
        return plain(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return plain(tolist())
    raise TypeError(f"value of type {name} cannot be sent to Vigil")


def _key(key: Any) -> str:
    """A mapping key as JSON text, spelled as the JSON encoder spells the keys it converts
    (``True`` is ``"true"``, as the server names boolean classes), so both encoding paths agree."""
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    return str(key)


def encode_line(item: Mapping[str, Optional[Any]]) -> bytes:
    """One NDJSON line (with its newline) for ``item``, dropping keys whose value is ``None``."""
    body = {k: v for k, v in item.items() if v is not None}
    return _STRICT.encode(body).encode("utf-8") + b"\n"


def encode_fields(fields: Mapping[str, Optional[Any]]) -> bytes:
    """What ``encode_line({k: plain(v) ...})`` sends, cheaper for the usual values (a top-level
    value that ``plain`` makes missing, such as ``pd.NA``, is sent as ``null`` rather than left
    out: the server reads both as missing).

    The JSON encoder (C) takes str, int, float, bool, None, dict, list and tuple as they are and
    calls ``plain`` only for the rest (numpy and pandas scalars, datetimes, other mappings). Only
    a non-finite float (NaN, which Vigil reads as *missing* once ``plain`` made it ``None``) or a
    key the encoder refuses sends the event down the full ``plain`` path. The sender thread holds
    the GIL for this, so every microsecond saved is one a caller does not wait.
    """
    body = {k: v for k, v in fields.items() if v is not None}
    try:
        return _FAST.encode(body).encode("utf-8") + b"\n"
    except (ValueError, TypeError):
        return encode_line({k: plain(v) for k, v in fields.items()})


_STRICT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=plain)

"""Structured logging: one JSON object per line, tagged with the request id."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Values orjson would write differently from ``json.dumps(default=str)`` go to ``str`` as before.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class JsonFormatter(logging.Formatter):
    """Render a record as JSON; extra fields passed with ``extra=`` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return _dumps(payload)


def _dumps(payload: dict[str, object]) -> str:
    """One line of JSON, ASCII only (anything else escaped, as ``json.dumps`` does).

    orjson writes the usual line (a request's) in a fraction of the time; a line with other characters, or
    a value orjson cannot write (an integer beyond 64 bits), is written by ``json.dumps``. Enums are written
    as their values.
    """
    try:
        line = orjson.dumps(payload, default=str, option=_ORJSON_OPTIONS)
    except TypeError:
        pass
    else:
        if line.isascii():
            return line.decode()
    return json.dumps(payload, default=str, separators=(",", ":"))

"""Logging: plain text or JSON lines (``SWITCHBOARD_LOG_FORMAT=json``), a request id in
every line a request causes, and secrets kept out.

- **Request ids**: the HTTP middleware (``core/metrics.py``) takes the client's
  ``X-Request-Id`` (when it is a short token) or makes one, puts it in the context
  variable :data:`request_id` and echoes it in the response. Every log record made while
  the request runs (and in tasks it starts) carries it as ``request_id``.
- **Secrets**: driver loggers that print SQL parameters (and so password hashes) stay at
  WARNING whatever the level; :class:`RedactFilter` masks bearer tokens, ``Authorization``
  values and secret query parameters (``access_token=``, ``client_secret=``...) in every
  line; the access log redacts query strings the same way.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

QUIET = (
    "aiosqlite",
    "sqlalchemy.engine",
    "asyncpg",
    "httpcore",
    "multipart",
    "alembic.runtime.plugins",
)

#: the id of the HTTP request being served ("" outside requests)
request_id: ContextVar[str] = ContextVar("request_id", default="")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# query parameters and form fields whose values are secrets
SECRET_NAMES = (
    "access_token",
    "refresh_token",
    "token",
    "client_secret",
    "password",
    "secret",
    "api_key",
    "apikey",
    "key",
    "code",
    "signature",
    "sig",
)
_SECRET_PARAM = re.compile(r"(?i)\b(" + "|".join(SECRET_NAMES) + r")=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
_JSON_SECRET = re.compile(
    r"(?i)([\"'](?:" + "|".join(SECRET_NAMES) + r")[\"']\s*:\s*[\"'])([^\"']+)"
)
REDACTED = "REDACTED"


_ID_PREFIX: tuple[int, str] = (0, "")
_ID_COUNTER = itertools.count()


def new_request_id(offered: str | None) -> str:
    """The client's id when it is a plain token of at most 128 characters, else a new one:
    a random prefix per process and a counter (unique across processes and restarts, and
    no system call per request)."""
    global _ID_PREFIX
    if offered and _VALID_ID.match(offered):
        return offered
    pid = os.getpid()
    if _ID_PREFIX[0] != pid:  # a new (forked) process draws its own prefix
        _ID_PREFIX = (pid, os.urandom(8).hex())
    return f"{_ID_PREFIX[1]}{next(_ID_COUNTER):016x}"


def redact(text: str) -> str:
    """``text`` with bearer tokens and secret parameters masked."""
    if "=" in text:
        text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    if "earer" in text or "asic" in text:
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if ":" in text:
        text = _JSON_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_query(query: str) -> str:
    """A query string with the values of secret parameters masked."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", query) if query else query


class ContextFilter(logging.Filter):
    """Adds ``request_id`` to every record and masks secrets in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if getattr(record, "redacted", False):  # the access log redacts its own line
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "redacted",
    "rid",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the record's
    extra fields, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "")
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.rid = f" [{rid}]" if rid else ""
        return redact(super().format(record))


def configure(level: str, fmt: str | None = None) -> None:
    """Log to stderr as ``fmt`` ("text" or "json"; default: the setting ``log_format``) at
    ``level``; replaces any handler the root logger had (uvicorn's loggers propagate)."""
    if fmt is None:
        from switchboard.core.settings import get_settings

        fmt = get_settings().log_format
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt.lower() == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    # our access log (core/metrics.py) replaces uvicorn's, which prints raw query strings
    logging.getLogger("uvicorn.access").disabled = True

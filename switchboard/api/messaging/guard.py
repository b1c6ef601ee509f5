"""Seed 003's server-side failures of a Messaging API operation, in the API's codes:

* ``5000`` (HTTP 504) "Timeout - chat server takes too long to respond": the operation
  did not finish within ``chat_request_timeout_seconds`` (the database kept it waiting:
  a lock held elsewhere, an exhausted pool, a lock or statement timeout). The operation
  is cancelled where it waits: a transaction not yet committed is rolled back, one
  committed stays, and events already handed to the group commit are still written (a
  client that sends them again may thus send them twice, as with any lost answer).
* ``5004`` (HTTP 503) "Chat server disconnected": the database (or the bus) cannot be
  reached: the connection failed or was lost.

Long polls (they hold by design), uploads and file downloads are not guarded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import exc as sa_exc

from switchboard.core.errors import DomainError

log = logging.getLogger(__name__)

P = ParamSpec("P")

TIMEOUT_CODE = "5000"
DISCONNECTED_CODE = "5004"
_LOCK_WORDS = ("database is locked", "lock timeout", "lock_not_available", "statement timeout")
# an OperationalError is also SQLite's answer to a bad statement: only these mean "gone"
_GONE_WORDS = (
    "unable to open",
    "disk i/o",
    "connect",
    "connection",
    "closed",
    "terminat",
    "shutting down",
    "refused",
    "broken pipe",
    "reset by peer",
)


def timed_out() -> DomainError:
    err = DomainError("Timeout - chat server takes too long to respond", code=TIMEOUT_CODE)
    err.status = 504
    err.kind = "timeout"
    return err


def disconnected() -> DomainError:
    err = DomainError("Chat server disconnected", code=DISCONNECTED_CODE)
    err.status = 503
    err.kind = "unavailable"
    return err


def classify(error: BaseException) -> DomainError | None:
    """The Messaging API error of a failure to reach or use the database, else None."""
    if isinstance(error, sa_exc.TimeoutError):  # no pool connection in time
        return timed_out()
    if isinstance(error, sa_exc.DBAPIError):
        text = str(error.orig if error.orig is not None else error).lower()
        if any(word in text for word in _LOCK_WORDS):
            return timed_out()
        if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
            return disconnected()
        if isinstance(error, sa_exc.OperationalError) and any(w in text for w in _GONE_WORDS):
            return disconnected()
        return None
    if isinstance(error, sa_exc.DisconnectionError | ConnectionError | OSError):
        return disconnected()
    return None


def guarded(
    endpoint: Callable[P, Awaitable[Response]],
) -> Callable[P, Awaitable[Response]]:
    """``endpoint`` answering 5000 after ``chat_request_timeout_seconds`` and 5004 when
    the database cannot be reached (the first argument is the request). Costs one timer
    per request (a few microseconds)."""

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> Response:
        request = args[0] if args else kwargs.get("request")
        assert isinstance(request, Request)
        limit = float(request.app.state.rt.settings.chat_request_timeout_seconds)
        try:
            async with asyncio.timeout(limit if limit > 0 else None):
                return await endpoint(*args, **kwargs)
        except DomainError:
            raise
        except TimeoutError as e:
            log.warning("%s %s: no answer within %ss", request.method, request.url.path, limit)
            raise timed_out() from e
        except Exception as e:
            mapped = classify(e)
            if mapped is None:
                raise
            log.warning("%s %s: %s", request.method, request.url.path, mapped.message)
            raise mapped from e

    return run

"""Dispatch by the first segment of the path, before any route is tried.

FastAPI matches a request against its routes one by one; with every public API in one
application that is a scan of some 250 routes per request (most of the CPU of a
``/health``). Instead each first path segment (``/clientweb``, ``/agentapi``,
``/configapi``...) is served by an application holding only the routers that have
paths there; the full application still holds every router (the OpenAPI document,
``/docs``, and whatever no segment claims).

Sub-applications share the runtime (``app.state.rt``) and the API error formats; the
outer middlewares (request id and metrics, body limits, CORS) run once, outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


def route_paths(router: Any, prefix: str = "") -> Iterator[str]:
    """Every path a router serves (its included routers' too)."""
    for route in getattr(router, "routes", ()):
        nested = getattr(route, "original_router", None)
        if nested is not None:  # FastAPI's included router
            context = getattr(route, "include_context", None)
            yield from route_paths(nested, prefix + str(getattr(context, "prefix", "") or ""))
            continue
        path = getattr(route, "path", None)
        if isinstance(path, str):
            yield prefix + path


def segment(path: str) -> str:
    """``/clientweb/api/v2/chats`` -> ``/clientweb``; ``/`` -> ``""``."""
    end = path.find("/", 1)
    return path if end < 0 else path[:end]


def segments_of(modules: Iterable[ModuleType]) -> dict[str, list[ModuleType]]:
    """First path segment -> the API modules with paths under it."""
    out: dict[str, list[ModuleType]] = {}
    for mod in modules:
        for seg in {segment(p) for p in route_paths(mod.router)}:
            if seg and seg != "/" and "{" not in seg:
                out.setdefault(seg, []).append(mod)
    return out


class SegmentDispatch:
    """Pure ASGI: a request whose first path segment has an application of its own goes
    there; anything else to ``app``."""

    def __init__(self, app: ASGIApp, table: dict[str, ASGIApp]) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            target = self.table.get(segment(scope["path"]))
            if target is not None:
                await target(scope, receive, send)
                return
        await self.app(scope, receive, send)

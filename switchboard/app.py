"""The application factory: one FastAPI app serving every public API."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware

from switchboard import __version__
from switchboard.api.platform.docs import install as install_docs
from switchboard.core import errors, registry
from switchboard.core.dispatch import SegmentDispatch, segments_of
from switchboard.core.metrics import ObservabilityMiddleware
from switchboard.core.middleware import SecurityMiddleware
from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())
    registry.import_models()
    rt = runtime or Runtime.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        # what start-up built (routes, models, schemas) lives as long as the process: out
        # of the collector's way, a full collection takes milliseconds, not hundreds
        gc.collect()
        gc.freeze()
        # requests allocate short-lived objects by the thousands: collect young objects
        # less often (a collection is cheap only when rare), the old ones rarely
        gc.set_threshold(settings.gc_threshold, 20, 100)
        tasks: list[asyncio.Task[None]] = []
        if settings.run_background_workers:
            for mod in registry.worker_modules():
                if mod.__name__.split(".")[1] in settings.workers_disabled:
                    continue
                tasks.append(asyncio.create_task(mod.run(rt), name=mod.__name__))
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if runtime is None:
                await rt.stop()

    extra: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # our own metrics are Prometheus (core/metrics.py); FastAPI's OpenTelemetry hooks
        # would look providers up in the environment on every request
        extra["telemetry"] = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(
        **extra,
        title="Switchboard",
        version=__version__,
        description=(
            "Self-hosted contact center: Mobile/Web Messaging API v1/v2, Configuration "
            "API v2 with SCIM 2.0, Real-Time Statistics API, GMS, and the agent API."
        ),
        lifespan=lifespan,
        # /docs is served from local assets (api/platform/docs.py), never a CDN
        docs_url=None,
        redoc_url=None,
    )
    app.state.rt = rt
    # innermost: each first path segment to its own routes (core/dispatch.py); the
    # table is filled below, once the app's exception handlers exist
    modules = registry.api_modules()
    table: dict[str, Any] = {}
    app.add_middleware(SegmentDispatch, table=table)
    # body limits (413), CORS (Messaging API: the tenants' origins), nosniff
    app.add_middleware(SecurityMiddleware, rt=rt)
    # outermost: request id, metrics and access log of every request (core/metrics.py)
    app.add_middleware(ObservabilityMiddleware, access_log_enabled=settings.access_log)
    errors.install(app)
    install_docs(app)  # /docs offline, OpenAPI security schemes
    # every router here too: the OpenAPI document, /docs, paths no segment claims
    for mod in modules:
        app.include_router(mod.router)
    table.update(_segments(modules, app))
    return app


def _segments(modules: list[ModuleType], app: FastAPI) -> dict[str, Any]:
    """First path segment -> the routers that serve it, with the app's exception
    handling (the rest of its middleware runs before the dispatch)."""
    handlers = {k: v for k, v in app.exception_handlers.items() if k not in (500, Exception)}
    groups: dict[tuple[str, ...], Any] = {}
    table: dict[str, Any] = {}
    for seg, mods in segments_of(modules).items():
        key = tuple(m.__name__ for m in mods)
        handler = groups.get(key)
        if handler is None:
            router = APIRouter()
            for mod in mods:  # the modules' plain fast routes are tried first
                router.routes.extend(getattr(mod, "FAST_ROUTES", ()))
            for mod in mods:
                router.include_router(mod.router)
            handler = ExceptionMiddleware(AsyncExitStackMiddleware(router), handlers=handlers)
            groups[key] = handler
        table[seg] = handler
    return table

"""The application factory: one FastAPI app serving every public API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from switchboard import __version__
from switchboard.api.platform.docs import install as install_docs
from switchboard.core import errors, registry
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
        tasks: list[asyncio.Task[None]] = []
        if settings.run_background_workers:
            for mod in registry.worker_modules():
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

    app = FastAPI(
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
    # body limits (413), CORS (Messaging API: the tenants' origins), nosniff
    app.add_middleware(SecurityMiddleware, rt=rt)
    # outermost: request id, metrics and access log of every request (core/metrics.py)
    app.add_middleware(ObservabilityMiddleware, access_log_enabled=settings.access_log)
    errors.install(app)
    install_docs(app)  # /docs offline, OpenAPI security schemes
    for mod in registry.api_modules():
        app.include_router(mod.router)
    return app

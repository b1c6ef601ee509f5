"""``GET /`` (the start page: where the pages and the API documentation are),
``GET /health`` (liveness: the process serves requests; it touches nothing else, so load
balancers may call it often), ``GET /ready`` (readiness: the database and, when
configured, Redis; 503 naming what is unreachable) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from switchboard import __version__
from switchboard.api.common import bearer_token
from switchboard.core import metrics
from switchboard.core.errors import Unauthorized
from switchboard.core.runtime import Runtime

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: str


class ReadyRead(BaseModel):
    status: str
    database: str
    redis: str


PAGES = (
    ("/agent/", "Agent desktop", "answer chats: log in as agent1, agent2 or agent3"),
    ("/wallboard/", "Wallboard", "live queues and agents: log in as supervisor1"),
    ("/chat/", "Demo chat", "talk to the contact center as a customer (entry appId test)"),
    ("/docs", "API documentation", "every API, with its requests, answers and errors"),
)


@router.get("/", include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    rt: Runtime = request.app.state.rt
    items = "\n".join(
        f'<li><a href="{href}">{escape(title)}</a> <span>{escape(what)}</span></li>'
        for href, title, what in PAGES
    )
    demo = escape(rt.settings.demo_tenant)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard</title>
<style>
 body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}}
 h1{{margin-bottom:.2rem}} ul{{padding:0;list-style:none}} li{{margin:.8rem 0}}
 a{{font-weight:600;color:#0b57d0}} span{{display:block;color:#57606a}}
 footer{{margin-top:2rem;color:#57606a;font-size:.9rem}}
</style></head>
<body><main>
<h1>Switchboard</h1>
<p>A self-hosted contact center. Open a page:</p>
<ul>
{items}
</ul>
<p>The demo tenant is <code>{demo}</code>; <code>make run</code> printed its passwords.</p>
<footer>version {escape(__version__)} · <a href="/health">health</a> ·
<a href="/ready">readiness</a> · <a href="/openapi.json">OpenAPI</a></footer>
</main></body></html>"""
    return HTMLResponse(html)


@router.get("/health", summary="Liveness: the process serves requests", response_model=HealthRead)
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/ready",
    summary="Readiness: the database and (when configured) Redis are reachable",
    response_model=ReadyRead,
    responses={503: {"model": ReadyRead, "description": "A dependency is unreachable"}},
)
async def ready(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.rt
    checks = [rt.db.ping()]
    if rt.settings.redis_url:
        checks.append(rt.bus.ping())
    results = await asyncio.gather(*checks)
    db_ok = bool(results[0])
    redis = "not configured"
    redis_ok = True
    if rt.settings.redis_url:
        redis_ok = bool(results[1])
        redis = "ok" if redis_ok else "unreachable"
    ok = db_ok and redis_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if db_ok else "unreachable",
        "redis": redis,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics of every process of this host (and of the database)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format 0.0.4"},
        401: {"description": "metrics_token is set and the request lacks it"},
    },
)
async def prometheus(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    wanted = rt.settings.metrics_token
    if wanted and not hmac.compare_digest(bearer_token(request).encode(), wanted.encode()):
        raise Unauthorized("Authorization: Bearer <metrics_token> is required")
    body = metrics.render_processes()
    try:
        body += await metrics.render_database(rt)
    except Exception:  # the database is down: the process metrics still answer
        body += b"# database metrics unavailable\n"
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

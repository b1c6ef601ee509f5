"""The wallboard: static files of ``switchboard/web/wallboard`` served at ``/wallboard/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime

router = APIRouter(include_in_schema=False)

ROOT = Path(__file__).resolve().parents[2] / "web" / "wallboard"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@router.get("/wallboard")
async def wallboard_redirect() -> Response:
    return RedirectResponse("/wallboard/", status_code=307)


@router.get("/wallboard/")
async def wallboard_index() -> Response:
    return FileResponse(
        ROOT / "index.html", media_type=TYPES[".html"], headers={"Cache-Control": "no-cache"}
    )


@router.get("/wallboard/config.json")
async def wallboard_config(request: Request) -> JSONResponse:
    """Defaults for the sign-in form (the demo tenant's domain)."""
    rt: Runtime = request.app.state.rt
    return JSONResponse(
        {"default_tenant": rt.settings.demo_tenant}, headers={"Cache-Control": "no-cache"}
    )


@router.get("/wallboard/{name}")
async def wallboard_file(name: str) -> Response:
    path = (ROOT / name).resolve()
    if path.parent != ROOT or path.suffix not in TYPES or not path.is_file():
        raise NotFound("No such file")
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})

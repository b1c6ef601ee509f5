"""The agent desktop: plain HTML/JS/CSS served from ``switchboard/web/agent`` at ``/agent/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from switchboard.core.errors import NotFound

WEB = Path(__file__).resolve().parents[2] / "web" / "agent"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".wav": "audio/wav",
}

router = APIRouter(tags=["Agent desktop"], include_in_schema=False)


@router.get("/agent")
async def desktop_redirect() -> Response:
    return RedirectResponse("/agent/", status_code=308)


@router.get("/agent/")
async def desktop_index() -> Response:
    return await desktop_file("index.html")


@router.get("/agent/{name}")
async def desktop_file(name: str) -> Response:
    path = (WEB / name).resolve()
    if path.parent != WEB or not path.is_file() or path.suffix not in TYPES:
        raise NotFound(f"No such file: {name}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})

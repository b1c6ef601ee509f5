"""The demo customer chat page (``/chat/``): a plain web client of the Messaging API v2.

``/chat/?tenantUrl=<domain>&appId=<entry>`` chooses the tenant and entry; without them
the page uses the demo tenant (setting ``demo_tenant``) and its ``test`` entry.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime

FOLDER = Path(__file__).resolve().parents[2] / "web" / "chat"
ASSETS = {"app.js": "text/javascript", "call.js": "text/javascript", "style.css": "text/css"}

router = APIRouter(tags=["Demo chat page"])


@router.get("/chat", include_in_schema=False)
async def chat_redirect() -> Response:
    return RedirectResponse("/chat/", status_code=307)


@router.get("/chat/", response_class=HTMLResponse, summary="Demo customer chat page")
async def chat_page(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    page = (FOLDER / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{DEMO_TENANT}}", html.escape(rt.settings.demo_tenant, quote=True))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/chat/{name}", include_in_schema=False)
async def chat_asset(name: str) -> Response:
    media = ASSETS.get(name)
    if media is None:
        raise NotFound(f"No such resource: /chat/{name}")
    return FileResponse(FOLDER / name, media_type=media, headers={"Cache-Control": "no-cache"})

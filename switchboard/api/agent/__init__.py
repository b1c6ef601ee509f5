"""Agent API v1 (``/agentapi/v1``: REST + the realtime WebSocket) and the agent desktop
page (``/agent/``). See docs/agent-api.md."""

from fastapi import APIRouter

from switchboard.api.agent import desktop, realtime, rest

router = APIRouter()
router.include_router(rest.router)
router.include_router(realtime.router)
router.include_router(desktop.router)

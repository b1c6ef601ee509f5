"""Agent API v1 (``/agentapi/v1``: REST + the realtime WebSocket) and the agent desktop
page (``/agent/``). See docs/agent-api.md."""

from fastapi import APIRouter
from starlette.routing import Route

from switchboard.api.agent import desktop, realtime, rest

router = APIRouter()
router.include_router(rest.router)
router.include_router(realtime.router)
router.include_router(desktop.router)

# the agent's messages, the busiest request of the API, as a plain Starlette route
# tried first by the /agentapi application (core/dispatch.py)
FAST_ROUTES = [
    Route(
        "/agentapi/v1/interactions/{interaction_id}/messages",
        rest.send_message_route,
        methods=["POST"],
    )
]

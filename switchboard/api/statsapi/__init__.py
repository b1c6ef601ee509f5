"""Real-Time Statistics API (``/statsapi``) and the wallboard page (``/wallboard/``).

Errors under ``/statsapi`` are ``{"error_code": "...", "error_message": "..."}``.
"""

from fastapi import APIRouter

from switchboard.api.statsapi import auth, cfg, history, messages, subscription, wallboard
from switchboard.api.statsapi.errors import install_format

install_format()

api = APIRouter(prefix="/statsapi")
api.include_router(auth.router)
api.include_router(subscription.router)
api.include_router(cfg.router)
api.include_router(messages.router)
api.include_router(history.router)

router = APIRouter()
router.include_router(api)
router.include_router(wallboard.router)

"""Mobile/Web Messaging API v1 and v2 (``/clientweb/api/v1``, ``/clientweb/api/v2``), the
Android SDK's ``/clientweb/file/{fileId}``, and the demo customer chat page (``/chat/``).

Errors under ``/clientweb`` answer ``{"error_code": "5005", "error_message": "..."}``.
"""

from fastapi import APIRouter

from switchboard.api.messaging.errors import install
from switchboard.api.messaging.routes import FAST_ROUTES, file_router, v1, v2
from switchboard.api.messaging.web import router as web_router

install()

router = APIRouter()
router.include_router(v1)
router.include_router(v2)
router.include_router(file_router)
router.include_router(web_router)

__all__ = ["FAST_ROUTES", "router"]

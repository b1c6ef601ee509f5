"""Genesys Mobile Services: the Service API (``/genesys/1/service``), the Storage API
(``/genesys/1/storage``) and the Chat API v2 (``/genesys/2/chat``). The Service and
Storage APIs answer under the seed's ``/GMS-web/gms/1`` as well.

Errors under ``/genesys`` answer ``{"message": ..., "exception": ...}`` with the HTTP
status; under ``/genesys/2/chat`` they also carry ``statusCode: 2`` and ``errors``.
"""

from fastapi import APIRouter

from switchboard.api.gms.chat_routes import router as chat_router
from switchboard.api.gms.errors import install
from switchboard.api.gms.routes import ALIAS, PREFIX
from switchboard.api.gms.routes import router as service_router

install()

router = APIRouter()
router.include_router(service_router, prefix=PREFIX)
router.include_router(service_router, prefix=ALIAS, include_in_schema=False)
router.include_router(chat_router)

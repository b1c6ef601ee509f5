"""Platform endpoints: liveness (``/health``) and readiness (``/ready``)."""

from switchboard.api.platform.routes import router

__all__ = ["router"]

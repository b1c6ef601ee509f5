"""Administration API (ours): ``/adminapi/v1``, everything the engine reads, guarded by
the privilege "Manage configuration". See docs/admin-api.md.

``router`` is imported on first use, so that the CLI (``switchboard admin``, which uses
``catalog``) does not load the HTTP routers."""

from typing import Any

__all__ = ["router"]


def __getattr__(name: str) -> Any:
    if name == "router":
        from switchboard.api.admin.routes import router

        return router
    raise AttributeError(name)

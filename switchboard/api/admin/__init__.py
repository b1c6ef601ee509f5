"""Administration API (ours): ``/adminapi/v1``, everything the engine reads, guarded by
the privilege "Manage configuration". See docs/admin-api.md."""

from switchboard.api.admin.routes import router

__all__ = ["router"]

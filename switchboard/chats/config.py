"""Settings of the chat engine (environment prefix ``SWITCHBOARD_CHAT_``).

The core settings hold what other domains share (``long_poll_seconds``, upload limits,
ICE servers, ``push_provider``); these are the chat engine's own knobs.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.core.runtime import Runtime

PROVIDER_KEY = "chats.settings"


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_CHAT_", extra="ignore")

    # a client that has not polled for this long is gone and its chat ends; a tenant
    # may override it with its setting ``chat_poll_abandon_seconds``
    poll_abandon_seconds: int = 120
    # PostgreSQL: commit cursor claims without waiting for the WAL flush (faster; after
    # a database crash the last claims may be redone, i.e. events delivered twice)
    async_cursor_commit: bool = False
    # the timers worker's period
    worker_interval_seconds: float = 1.0
    # relayed signaling rows are purged after this many seconds
    signaling_ttl_seconds: int = 300
    # the handle time assumed by the EWT before the service has history
    default_handle_seconds: int = 180
    # how many recent chats the EWT averages
    handle_time_sample: int = 50
    # the Messaging API caches tenants and entries this long (0: no cache)
    auth_cache_seconds: float = 2.0
    max_parameters: int = 100
    max_events_per_request: int = 100
    max_events_per_answer: int = 500
    # the "webhook" push provider posts each notification to this URL
    push_webhook_url: str | None = None


def chat_settings(rt: Runtime) -> ChatSettings:
    found = rt.providers.get(PROVIDER_KEY)
    if isinstance(found, ChatSettings):
        return found
    created = ChatSettings()
    rt.providers[PROVIDER_KEY] = created
    return created

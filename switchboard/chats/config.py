"""The chat engine's settings, as read from the one ``Settings`` (``chat_*`` fields,
environment ``SWITCHBOARD_CHAT_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.runtime import Runtime


@dataclass(frozen=True)
class ChatSettings:
    poll_abandon_seconds: int
    signaling_ttl_seconds: int
    default_handle_seconds: int
    handle_time_sample: int
    auth_cache_seconds: float
    max_parameters: int
    max_events_per_request: int
    max_events_per_answer: int
    push_webhook_url: str | None


def chat_settings(rt: Runtime) -> ChatSettings:
    s = rt.settings
    return ChatSettings(
        poll_abandon_seconds=s.chat_poll_abandon_seconds,
        signaling_ttl_seconds=s.chat_signaling_ttl_seconds,
        default_handle_seconds=s.chat_default_handle_seconds,
        handle_time_sample=s.chat_handle_time_sample,
        auth_cache_seconds=s.chat_auth_cache_seconds,
        max_parameters=s.chat_max_parameters,
        max_events_per_request=s.chat_max_events_per_request,
        max_events_per_answer=s.chat_max_events_per_answer,
        push_webhook_url=s.chat_push_webhook_url,
    )

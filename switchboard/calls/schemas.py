"""Calls as the agent API shows them."""

from __future__ import annotations

from pydantic import BaseModel

from switchboard.calls.models import Call


class CallRead(BaseModel):
    id: str
    interaction_id: str | None
    chat_id: str
    state: str
    video: bool
    media_path: str
    requested_by: str
    agent_user_id: str | None
    party_id: str | None
    outcome: str | None
    ended_by: str | None
    end_reason: str | None
    step_id: str | None
    requested_at: str
    rung_at: str | None
    answered_at: str | None
    ended_at: str | None
    # seconds from the answer to the end (0 when never answered)
    duration: int
    recording_id: str | None = None

    @classmethod
    def of(cls, call: Call, recording_id: str | None = None) -> CallRead:
        def iso(v: object) -> str | None:
            return v.isoformat() if v is not None else None  # type: ignore[attr-defined]

        duration = 0
        if call.answered_at is not None and call.ended_at is not None:
            duration = max(0, int((call.ended_at - call.answered_at).total_seconds()))
        return cls(
            id=call.id,
            interaction_id=call.interaction_id,
            chat_id=call.chat_id,
            state=call.state,
            video=call.video,
            media_path=call.media_path,
            requested_by=call.requested_by,
            agent_user_id=call.user_id,
            party_id=call.party_id,
            outcome=call.outcome,
            ended_by=call.ended_by,
            end_reason=call.end_reason,
            step_id=call.step_id,
            requested_at=call.requested_at.isoformat(),
            rung_at=iso(call.rung_at),
            answered_at=iso(call.answered_at),
            ended_at=iso(call.ended_at),
            duration=duration,
            recording_id=recording_id,
        )


class CallList(BaseModel):
    calls: list[CallRead]

"""The telephony protocol the dialer places calls through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# answer: a person (or machine) picked up; busy; no_answer: rang out; invalid: the
# number does not exist; failed: the carrier could not place the call
Outcome = Literal["answer", "busy", "no_answer", "invalid", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("answer", "busy", "no_answer", "invalid", "failed")


@dataclass(frozen=True)
class CallRequest:
    tenant_id: str
    call_id: str  # the attempt id; also the call's GIID on our side
    number: str  # E.164
    caller_id: str | None
    attempt_number: int  # 1 for the first call to this record in this campaign


@dataclass(frozen=True)
class CallResult:
    outcome: Outcome
    dialing_seconds: float  # from dialing until answer or failure
    cpa_seconds: float = 0.0  # call-progress analysis after the answer


class Telephony(Protocol):
    async def place_call(self, request: CallRequest) -> CallResult:
        """Dial and wait until the call is answered or fails."""
        ...

    async def hangup(self, call_id: str) -> None:
        """Release the call (no-op when it already ended)."""
        ...

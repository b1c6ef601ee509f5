"""The telephony protocol the dialer places calls through.

Placing a call returns at once with the carrier's id for it; what happens next (rings,
answered by a person or a machine, busy, hung up, recorded) arrives later as
``CallEvent``s: from the carrier's status callbacks (a real carrier, possibly in another
server process) or from the carrier object itself (the simulator). Every event goes to
one sink, ``switchboard.dialer.calls.on_event``, which applies it in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

# answer: a person picked up (or a machine, when nobody asked to tell them apart);
# machine: answering-machine detection heard a machine (or a fax); busy; no_answer: rang
# out; invalid: the number does not exist; failed: the carrier could not place the call
Outcome = Literal["answer", "machine", "busy", "no_answer", "invalid", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("answer", "machine", "busy", "no_answer", "invalid", "failed")

# ringing; answered (``outcome`` answer or machine); ended: unanswered (``outcome``) or
# hung up after the answer; recording: the carrier's recording of the call is ready
EventKind = Literal["ringing", "answered", "ended", "recording"]


class CarrierError(Exception):
    """The carrier refused or could not take a request; ``outcome`` is what it means
    for the call (``invalid`` for a number the carrier rejects, else ``failed``)."""

    def __init__(self, message: str, outcome: Outcome = "failed") -> None:
        super().__init__(message)
        self.outcome: Outcome = outcome


@dataclass(frozen=True)
class CallRequest:
    tenant_id: str
    call_id: str  # the attempt id; also the call's GIID on our side
    number: str  # E.164
    caller_id: str | None
    attempt_number: int  # 1 for the first call to this record in this campaign
    # the agent's leg: the answered call is bridged to this phone number (None: the
    # carrier connects the agent some other way, e.g. the simulator, or WebRTC later)
    agent_number: str | None = None
    machine_detection: str = "off"  # off | enable | detect_message_end
    record: bool = False


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    kind: EventKind
    status: str  # the carrier's status word (Twilio's CallStatus values)
    outcome: Outcome | None = None
    carrier_sid: str | None = None
    answered_by: str | None = None  # human | machine_start | ... (AMD verdict)
    sequence: int | None = None  # orders the events of one call (older ones are ignored)
    duration: int = 0  # seconds talked (ended)
    recording_sid: str | None = None
    recording_url: str | None = None
    recording_duration: int = 0
    error: str | None = None


EventSink = Callable[[CallEvent], Awaitable[None]]


class Telephony(Protocol):
    name: str

    async def place_call(self, request: CallRequest) -> str:
        """Ask the carrier to dial; returns its id for the call. Raises ``CarrierError``
        when the carrier refuses (the call then never rang)."""
        ...

    async def hangup(self, call_id: str, carrier_sid: str | None) -> None:
        """End the call (ringing or answered); a no-op when it already ended."""
        ...

    async def fetch_recording(self, url: str) -> tuple[bytes, str]:
        """The audio of a recording the carrier reported, and its content type."""
        ...

    async def drain(self) -> None:
        """Wait until the events this process's carrier object owes were delivered."""
        ...

    async def close(self) -> None: ...

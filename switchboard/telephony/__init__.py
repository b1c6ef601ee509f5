"""Telephony: placing outbound calls behind the ``Telephony`` protocol.

``telephony_provider`` chooses the implementation from ``PROVIDERS``: the built-in
``simulated`` carrier (outcomes from settings, no network) or ``twilio`` (Twilio
Programmable Voice; status callbacks come back through ``switchboard/api/carriers``).
Each is created once per runtime with the sink its events go to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard.core.runtime import Runtime
from switchboard.telephony.protocol import (
    CallEvent,
    CallRequest,
    CarrierError,
    EventSink,
    Outcome,
    Telephony,
)
from switchboard.telephony.simulated import SimulatedCarrier
from switchboard.telephony.twilio import TwilioCarrier

PROVIDERS: dict[str, Callable[[Runtime, EventSink], Any]] = {
    "simulated": SimulatedCarrier,
    "twilio": TwilioCarrier,
}
PROVIDER_KEY = "telephony"


def get_telephony(rt: Runtime, sink: EventSink) -> Telephony:
    """The runtime's carrier (created once per runtime, with ``sink`` for its events)."""
    found = rt.providers.get(PROVIDER_KEY)
    if found is None:
        factory = PROVIDERS.get(rt.settings.telephony_provider)
        if factory is None:
            raise RuntimeError(f"unknown telephony_provider {rt.settings.telephony_provider!r}")
        found = factory(rt, sink)
        rt.providers[PROVIDER_KEY] = found
    carrier: Telephony = found
    return carrier


async def fetch_recording(rt: Runtime, provider: str, url: str) -> tuple[bytes, str]:
    """Download a recording a carrier reported (a client per provider and runtime)."""
    key = f"{PROVIDER_KEY}.recordings.{provider}"
    fetcher = rt.providers.get(key)
    if fetcher is None:
        if provider != "twilio":
            raise CarrierError(f"the {provider} carrier makes no recordings")
        fetcher = TwilioCarrier(rt)
        rt.providers[key] = fetcher
    found: tuple[bytes, str] = await fetcher.fetch_recording(url)
    return found


__all__ = [
    "PROVIDERS",
    "CallEvent",
    "CallRequest",
    "CarrierError",
    "EventSink",
    "Outcome",
    "SimulatedCarrier",
    "Telephony",
    "TwilioCarrier",
    "fetch_recording",
    "get_telephony",
]

"""Telephony: placing outbound calls behind the ``Telephony`` protocol.

``telephony_provider`` chooses the implementation; the built-in ``simulated`` carrier
answers, rings out, is busy or rejects numbers in the proportions of
``telephony_sim_outcomes`` (or per number, by ``telephony_sim_script``), so a whole
campaign runs on one machine. A real carrier (SIP trunk, CPaaS) implements the same
protocol and registers itself in ``PROVIDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard.core.runtime import Runtime
from switchboard.telephony.protocol import CallRequest, CallResult, Outcome, Telephony
from switchboard.telephony.simulated import SimulatedCarrier

PROVIDERS: dict[str, Callable[[Runtime], Any]] = {"simulated": SimulatedCarrier}


def get_telephony(rt: Runtime) -> Telephony:
    """The runtime's carrier (created once per runtime)."""
    found = rt.providers.get("telephony")
    if found is None:
        factory = PROVIDERS.get(rt.settings.telephony_provider)
        if factory is None:
            raise RuntimeError(f"unknown telephony_provider {rt.settings.telephony_provider!r}")
        found = factory(rt)
        rt.providers["telephony"] = found
    carrier: Telephony = found
    return carrier


__all__ = [
    "PROVIDERS",
    "CallRequest",
    "CallResult",
    "Outcome",
    "SimulatedCarrier",
    "Telephony",
    "get_telephony",
]

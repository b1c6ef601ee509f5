"""The simulated carrier: outcomes and ring times from settings, no network.

* ``telephony_sim_outcomes``: weights of answer / busy / no_answer / invalid / failed;
* ``telephony_sim_script``: ``{"+14155550100": ["busy", "answer"]}``: the outcome of the
  1st, 2nd... call to that number (the last one repeats); scripts win over weights;
* ``telephony_sim_seed``: when set, the weighted choice is a pure function of the seed,
  the number and the attempt number (the same on every run and in every process);
* ``telephony_sim_ring_seconds``: how long a call rings before its outcome (answer after
  a random part of it, no-answer after all of it, busy/invalid at once).
"""

from __future__ import annotations

import asyncio
import random

from switchboard.core.runtime import Runtime
from switchboard.telephony.protocol import OUTCOMES, CallRequest, CallResult, Outcome


class SimulatedCarrier:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._random = random.Random()

    def choose(self, request: CallRequest) -> tuple[Outcome, float]:
        """The outcome of a call and the fraction of the ring time it takes."""
        settings = self._rt.settings
        script = settings.telephony_sim_script.get(request.number)
        if script:
            step = script[min(request.attempt_number, len(script)) - 1]
            for outcome in OUTCOMES:
                if step == outcome:
                    return outcome, 0.5
        rng = self._random
        if settings.telephony_sim_seed is not None:
            rng = random.Random(
                f"{settings.telephony_sim_seed}:{request.number}:{request.attempt_number}"
            )
        weights = [
            (o, max(0.0, float(settings.telephony_sim_outcomes.get(o, 0.0)))) for o in OUTCOMES
        ]
        total = sum(w for _, w in weights)
        if total <= 0:
            return "answer", 0.5
        pick = rng.uniform(0, total)
        chosen: Outcome = "answer"
        for outcome, weight in weights:
            if pick < weight:
                chosen = outcome
                break
            pick -= weight
        return chosen, rng.uniform(0.2, 0.8)

    async def place_call(self, request: CallRequest) -> CallResult:
        outcome, fraction = self.choose(request)
        ring = max(0.0, self._rt.settings.telephony_sim_ring_seconds)
        wait = {"answer": ring * fraction, "no_answer": ring}.get(outcome, min(ring, 0.5) * 0.2)
        if wait > 0:
            await asyncio.sleep(wait)
        cpa = 0.3 if outcome == "answer" and ring > 0 else 0.0
        return CallResult(outcome=outcome, dialing_seconds=wait, cpa_seconds=cpa)

    async def hangup(self, call_id: str) -> None:
        return None

"""The simulated carrier: outcomes and ring times from settings, no network.

* ``telephony_sim_outcomes``: weights of answer / machine / busy / no_answer / invalid /
  failed;
* ``telephony_sim_script``: ``{"+14155550100": ["busy", "answer"]}``: the outcome of the
  1st, 2nd... call to that number (the last one repeats); scripts win over weights;
* ``telephony_sim_seed``: when set, the weighted choice is a pure function of the seed,
  the number and the attempt number (the same on every run and in every process);
* ``telephony_sim_ring_seconds``: how long a call rings before its outcome (answer after
  a random part of it, no-answer after all of it, busy/invalid at once).

A machine is reported as ``machine`` only when the call asked for answering-machine
detection; otherwise it is an answer, as on a real line. Events go to the sink given at
construction, from a task per call (``drain`` waits for them: tests, shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from switchboard.core.runtime import Runtime
from switchboard.telephony.protocol import (
    OUTCOMES,
    CallEvent,
    CallRequest,
    CarrierError,
    EventSink,
    Outcome,
)


class SimulatedCarrier:
    name = "simulated"

    def __init__(self, rt: Runtime, sink: EventSink) -> None:
        self._rt = rt
        self._sink = sink
        self._random = random.Random()
        self._tasks: set[asyncio.Task[None]] = set()
        self._answered: set[str] = set()

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

    def _spawn(self, event: CallEvent, delay: float) -> None:
        async def deliver() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            await self._sink(event)

        task = asyncio.create_task(deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def place_call(self, request: CallRequest) -> str:
        outcome, fraction = self.choose(request)
        sid = "SIM" + request.call_id.replace("-", "")
        ring = max(0.0, self._rt.settings.telephony_sim_ring_seconds)
        if outcome == "machine" and request.machine_detection == "off":
            outcome = "answer"
        if outcome in ("answer", "machine"):
            self._answered.add(request.call_id)
            event = CallEvent(
                request.call_id,
                "answered",
                "in-progress",
                outcome=outcome,
                carrier_sid=sid,
                answered_by="human" if outcome == "answer" else "machine_start",
                sequence=1,
            )
            self._spawn(event, ring * fraction)
        else:
            status = {"busy": "busy", "no_answer": "no-answer"}.get(outcome, "failed")
            wait = ring if outcome == "no_answer" else min(ring, 0.5) * 0.2
            self._spawn(
                CallEvent(
                    request.call_id, "ended", status, outcome=outcome, carrier_sid=sid, sequence=1
                ),
                wait,
            )
        return sid

    async def hangup(self, call_id: str, carrier_sid: str | None) -> None:
        if call_id in self._answered:
            self._answered.discard(call_id)
            self._spawn(
                CallEvent(call_id, "ended", "completed", carrier_sid=carrier_sid, sequence=2), 0.0
            )

    async def fetch_recording(self, url: str) -> tuple[bytes, str]:
        raise CarrierError("the simulated carrier records nothing")

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

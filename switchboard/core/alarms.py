"""Alarms: how background loops sleep until their next due time, or until woken.

A loop computes when its next piece of work is due (an offer's deadline, an inactivity
timer, a relaxation step) and sleeps until then, or until a bus message it listens to
arrives, or until code of this process that has just set an earlier due time calls
``hint(when)``. Idle, nothing runs. A long ``cap`` (a minute) bounds the damage of a
due time set by another process whose wake-up was lost.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from switchboard.core import clock
from switchboard.core.bus import Waiter
from switchboard.core.runtime import Runtime

CAP_SECONDS = 60.0


class Alarm:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._target: float | None = None
        self.wakes = 0

    def hint(self, when: datetime | float | None) -> None:
        """Something is due at ``when``: wake the loop if it sleeps past it."""
        if when is None:
            return
        at = when.timestamp() if isinstance(when, datetime) else float(when)
        if self._target is None or at < self._target:
            self._event.set()

    def ring(self) -> None:
        """Wake the loop now."""
        self._event.set()

    async def sleep(
        self,
        until: datetime | float | None,
        *,
        waiter: Waiter | None = None,
        cap: float = CAP_SECONDS,
    ) -> None:
        """Until ``until`` (None: nothing due), a hint of something earlier, or a
        message on ``waiter``, whichever comes first (at most ``cap`` seconds)."""
        now = clock.epoch()
        at = until.timestamp() if isinstance(until, datetime) else until
        self._target = at
        timeout = cap if at is None else max(0.0, min(cap, at - now))
        if timeout > 0 and not self._event.is_set() and not (waiter and waiter.woken):
            waits: list[asyncio.Future[bool]] = [asyncio.ensure_future(self._event.wait())]
            if waiter is not None:
                waits.append(asyncio.ensure_future(waiter.wait(timeout)))
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # never awaited: awaiting them could swallow our own cancellation
                for w in waits:
                    w.cancel()
        self._event.clear()
        self._target = None
        self.wakes += 1


def alarm(rt: Runtime, name: str) -> Alarm:
    """The process's alarm of one background loop (``"routing"``, ``"chat-timers"``...)."""
    key = f"alarm:{name}"
    found = rt.providers.get(key)
    if isinstance(found, Alarm):
        return found
    created = Alarm()
    rt.providers[key] = created
    return created

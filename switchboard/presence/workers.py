"""The presence pass, one task per server process: it sleeps until the next agent's
grace period or logout delay runs out (or a socket of this process closes and hints an
earlier one), then runs ``presence.actions.run_pass``; while this process holds sockets
it also renews their lease (``refresh``) a few times per lease period."""

from __future__ import annotations

import asyncio
import logging

from switchboard.core import clock
from switchboard.core.alarms import alarm
from switchboard.core.runtime import Runtime
from switchboard.presence.actions import ALARM, local_sockets, refresh, run_pass

log = logging.getLogger(__name__)


async def run(rt: Runtime) -> None:
    wake = alarm(rt, ALARM)
    next_refresh = clock.epoch()
    while True:
        try:
            _changed, due = await run_pass(rt)
            at = due.timestamp() if due is not None else None
            if local_sockets(rt):
                if clock.epoch() >= next_refresh:
                    await refresh(rt)
                    next_refresh = clock.epoch() + rt.settings.agent_presence_lease_seconds / 3
                at = next_refresh if at is None else min(at, next_refresh)
            await wake.sleep(at)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("presence pass failed; retrying")
            await asyncio.sleep(1.0)

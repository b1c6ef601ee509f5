"""The recordings worker, one task per server process: every
``recordings_poll_seconds`` it records the calls that ended since and fetches the
recordings carriers reported (processes race on the unique ``(source, source_id)``:
each recording is made once)."""

from __future__ import annotations

import asyncio
import logging

from switchboard.core.runtime import Runtime
from switchboard.recordings import actions

log = logging.getLogger(__name__)


async def run(rt: Runtime) -> None:
    while True:
        try:
            while await actions.record_finished(rt) >= actions.BATCH:
                await asyncio.sleep(0)  # a backlog: keep going
            await actions.fetch_carrier_recordings(rt)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recordings worker failed; retrying")
        await asyncio.sleep(rt.settings.recordings_poll_seconds)

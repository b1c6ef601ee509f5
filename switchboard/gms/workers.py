"""GMS housekeeping, one task per server process: every ``worker_interval_seconds``
expire due services and callbacks, delete expired storage entries with their files,
and drop ended services past the retention (``actions.purge`` claims rows with row
locks, so N processes never delete the same thing twice)."""

from __future__ import annotations

import asyncio
import logging

from switchboard.core.runtime import Runtime
from switchboard.gms import actions
from switchboard.gms.config import gms_settings

log = logging.getLogger(__name__)


async def run(rt: Runtime) -> None:
    cfg = gms_settings(rt)
    while True:
        try:
            while await actions.purge(rt) >= 200:
                await asyncio.sleep(0)  # a backlog: keep going
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("GMS purge failed; retrying")
        await asyncio.sleep(cfg.worker_interval_seconds)

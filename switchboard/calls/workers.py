"""The media server of each process (``SWITCHBOARD_CALLS_MEDIA_PATH=server``): its own
thread running aiortc, started with the process and stopped with it (docs/calls.md)."""

from __future__ import annotations

import asyncio

from switchboard.calls import media
from switchboard.core.runtime import Runtime


async def run(rt: Runtime) -> None:
    if rt.settings.calls_media_path != "server":
        await asyncio.Event().wait()  # nothing to do in this process: idle until stopped
        return
    await media.run_server(rt)

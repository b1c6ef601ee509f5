"""The runtime: settings, database, bus and pluggable collaborators of one process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard.core.bus import InProcessBus, RedisBus, make_bus
from switchboard.core.db import Database
from switchboard.core.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: InProcessBus | RedisBus
    # collaborators behind Protocols (SMS carrier, push, telephony...), by name
    providers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        from switchboard.core.security import configure_hashing

        configure_hashing(settings.argon2_time_cost, settings.argon2_memory_kib)
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        bus = make_bus(settings.redis_url, settings.bus_prefix, relay_dir=settings.data_dir)
        db.publisher = bus.publish_many
        return cls(settings=settings, db=db, bus=bus)

    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()
        await self.db.dispose()

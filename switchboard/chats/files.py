"""Files exchanged in chats, stored under ``<data_dir>/chat-files/<tenant id>/<file id>``.

An upload is written to a temporary file while it streams in; the size limit
(``max_upload_bytes``, 25 MB) is enforced on every chunk, and a refused upload leaves
nothing behind. A tenant keeps at most ``max_files_per_tenant`` (1000) files: storing
a new one deletes the oldest ones beyond the limit.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select

from switchboard.chats.models import ChatFile
from switchboard.core.db import new_id, utcnow
from switchboard.core.errors import TooLarge
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

FOLDER = "chat-files"


def root(rt: Runtime) -> Path:
    return Path(rt.settings.data_dir)


def path_of(rt: Runtime, f: ChatFile) -> Path:
    return root(rt) / f.storage_path


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"Upload size limit exceeded ({limit} bytes)", code="5501")


class UploadWriter:
    """Receives one upload chunk by chunk; ``abort()`` removes every trace of it."""

    def __init__(self, rt: Runtime, tenant_id: str) -> None:
        self.rt = rt
        self.tenant_id = tenant_id
        self.file_id = new_id()
        self.limit = rt.settings.max_upload_bytes
        self.size = 0
        self.name = "file"
        self.content_type = "application/octet-stream"
        self.relative = f"{FOLDER}/{tenant_id}/{self.file_id}"
        self._final = root(rt) / self.relative
        self._tmp = self._final.with_name(f".{self.file_id}.part")
        self._fh: BinaryIO | None = None
        self.started = False

    def begin(self, name: str, content_type: str | None) -> None:
        self.name = (os.path.basename(name.replace("\\", "/")) or "file")[:512]
        self.content_type = (content_type or "application/octet-stream")[:255]
        self._tmp.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self._tmp, "wb")  # closed by finish() or abort()
        self.started = True

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise too_large(self.limit)
        if self._fh is not None:
            self._fh.write(data)

    def finish(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._final.unlink(missing_ok=True)


async def register(
    rt: Runtime, writer: UploadWriter, *, chat_id: str | None, uploaded_by: str | None
) -> ChatFile:
    """Record a finished upload; delete the tenant's oldest files beyond the limit."""
    doomed: list[str] = []
    try:
        async with rt.db.write() as s:
            f = ChatFile(
                id=writer.file_id,
                tenant_id=writer.tenant_id,
                chat_id=chat_id,
                uploaded_by=uploaded_by,
                name=writer.name,
                content_type=writer.content_type,
                size=writer.size,
                storage_path=writer.relative,
                created_at=utcnow(),
            )
            s.add(f)
            await s.flush()
            count = (
                await s.execute(select(func.count()).where(ChatFile.tenant_id == writer.tenant_id))
            ).scalar_one()
            excess = int(count) - rt.settings.max_files_per_tenant
            if excess > 0:
                oldest = (
                    (
                        await s.execute(
                            select(ChatFile)
                            .where(
                                ChatFile.tenant_id == writer.tenant_id,
                                ChatFile.id != writer.file_id,
                            )
                            .order_by(ChatFile.created_at, ChatFile.id)
                            .limit(excess)
                            .with_for_update(skip_locked=True)
                        )
                    )
                    .scalars()
                    .all()
                )
                for old in oldest:
                    doomed.append(old.storage_path)
                    await s.delete(old)
    except BaseException:
        writer.abort()
        raise
    for relative in doomed:
        with contextlib.suppress(OSError):
            (root(rt) / relative).unlink(missing_ok=True)
    return f


async def get(rt: Runtime, *, file_id: str) -> ChatFile | None:
    async with rt.db.read() as s:
        return await s.get(ChatFile, file_id)

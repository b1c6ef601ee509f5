"""Files of storage entries, under ``<data_dir>/gms/<tenant id>/<entry id>/<file id>``.

Files are written before the transaction that records them; when that transaction
fails they are removed again. Deleting an entry removes its folder after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from switchboard.core.db import new_id
from switchboard.core.runtime import Runtime
from switchboard.gms.schemas import Upload

FOLDER = "gms"


def root(rt: Runtime) -> Path:
    return Path(rt.settings.data_dir)


def entry_dir(rt: Runtime, tenant_id: str, entry_id: str) -> Path:
    return root(rt) / FOLDER / tenant_id / entry_id


def path_of(rt: Runtime, meta: dict[str, Any]) -> Path:
    return root(rt) / str(meta.get("path", ""))


def _copy(src: Any, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name("." + dest.name + ".part")
    src.seek(0)
    with open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    os.replace(tmp, dest)


async def write(
    rt: Runtime, *, tenant_id: str, entry_id: str, uploads: list[Upload]
) -> dict[str, dict[str, Any]]:
    """Store the uploads; their descriptions by key (the last upload of a key wins)."""
    out: dict[str, dict[str, Any]] = {}
    written: list[dict[str, Any]] = []
    try:
        for up in uploads:
            file_id = new_id()
            relative = f"{FOLDER}/{tenant_id}/{entry_id}/{file_id}"
            await asyncio.to_thread(_copy, up.file, root(rt) / relative)
            meta = {
                "name": up.filename,
                "content_type": up.content_type,
                "size": up.size,
                "path": relative,
            }
            written.append(meta)
            if up.key in out:
                remove([out[up.key]], rt)
            out[up.key] = meta
    except BaseException:
        remove(written, rt)
        raise
    return out


def remove(metas: list[dict[str, Any]], rt: Runtime) -> None:
    for meta in metas:
        with contextlib.suppress(OSError):
            path_of(rt, meta).unlink(missing_ok=True)


def remove_entry(rt: Runtime, tenant_id: str, entry_id: str) -> None:
    shutil.rmtree(entry_dir(rt, tenant_id, entry_id), ignore_errors=True)

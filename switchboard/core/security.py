"""Password and secret hashing (argon2), opaque tokens, and generated secrets.

argon2 is deliberately slow (tens of milliseconds and 64 MiB per hash): run on the event
loop it would stall every other request of the process. The ``*_async`` functions run
it in a small dedicated thread pool (``hash_workers`` threads: bounded CPU and memory),
and callers run them outside any database transaction. ``hash_stats()`` counts where
hashes ran, so a test can show that logins never hash on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_dummy_hash: str | None = None
_executor: ThreadPoolExecutor | None = None
_workers = 2
_stats_lock = threading.Lock()
_stats = {"off_loop": 0, "on_loop": 0}


def set_hash_workers(workers: int) -> None:
    """The number of hashing threads (setting ``hash_workers``)."""
    global _workers, _executor
    if max(1, workers) != _workers:
        _workers = max(1, workers)
        old, _executor = _executor, None
        if old is not None:
            old.shutdown(wait=False)


def configure_hashing(time_cost: int, memory_kib: int, workers: int | None = None) -> None:
    """Set the argon2 cost (settings ``argon2_time_cost`` / ``argon2_memory_kib``) and
    the number of hashing threads (``hash_workers``)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _dummy_hash = None
    if workers is not None:
        set_hash_workers(workers)


def _count() -> None:
    try:
        asyncio.get_running_loop()
        where = "on_loop"
    except RuntimeError:
        where = "off_loop"
    with _stats_lock:
        _stats[where] += 1


def hash_stats() -> dict[str, int]:
    """How many argon2 operations ran off the event loop (threads, the CLI) and on it."""
    with _stats_lock:
        return dict(_stats)


_ALPHABET = string.ascii_letters + string.digits


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def hash_secret(value: str) -> str:
    """Hash synchronously: for the CLI and threads. Request handlers await
    :func:`hash_secret_async` instead."""
    _count()
    return _hasher.hash(_bytes(value))


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


def verify_secret(hashed: str | None, value: str) -> bool:
    """Whether ``value`` matches ``hashed``. Without a hash (unknown user, no secret set,
    refused attempt) a dummy hash of the same cost is verified, so that the answer takes
    the same time whatever the reason."""
    _count()
    try:
        if not hashed:
            _hasher.verify(_dummy(), _bytes(value))
            return False
        return bool(_hasher.verify(hashed, _bytes(value)))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_workers, thread_name_prefix="argon2")
    return _executor


async def hash_secret_async(value: str) -> str:
    """:func:`hash_secret` in the hashing threads (never blocks the event loop)."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), hash_secret, value)


async def verify_secret_async(hashed: str | None, value: str) -> bool:
    """:func:`verify_secret` in the hashing threads (never blocks the event loop)."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), verify_secret, hashed, value)


def generate_secret(length: int = 64) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def generate_password() -> str:
    # Letters, digits and a symbol: satisfies the default password policy.
    return generate_secret(14) + "!7a"


def new_token() -> str:
    return secrets.token_hex(32).upper()


def token_digest(token: str) -> str:
    """Tokens are looked up by a SHA-256 digest; the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


# ---- serving files that customers or users uploaded ----------------------------------

# Image types a browser renders without running script; everything else is a download.
INLINE_SAFE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})


def upload_headers(content_type: str | None, filename: str | None = None) -> dict[str, str]:
    """Headers for a response that serves uploaded bytes from our origin, so that they
    can never run script there: a strict sandboxing Content-Security-Policy, nosniff,
    and ``Content-Disposition: attachment`` for anything but plain raster images (an
    SVG, HTML or PDF is downloaded, not rendered)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    inline = ctype in INLINE_SAFE_TYPES
    headers = {
        "Content-Type": ctype if "/" in ctype else "application/octet-stream",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-site",
    }
    if not inline:
        name = (filename or "file").replace("\\", "_").replace('"', "_")
        safe = "".join(c if 32 <= ord(c) < 127 else "_" for c in name)[:200] or "file"
        from urllib.parse import quote

        headers["Content-Disposition"] = (
            f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(name[:200])}"
        )
    return headers

"""Password and secret hashing (argon2), opaque tokens, and generated secrets."""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def configure_hashing(time_cost: int, memory_kib: int) -> None:
    """Set the argon2 cost (settings ``argon2_time_cost`` / ``argon2_memory_kib``)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


_ALPHABET = string.ascii_letters + string.digits


def hash_secret(value: str) -> str:
    return _hasher.hash(value)


def verify_secret(hashed: str | None, value: str) -> bool:
    if not hashed:
        # Spend comparable time so timing does not reveal unknown users.
        _hasher.hash(value)
        return False
    try:
        return _hasher.verify(hashed, value)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


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

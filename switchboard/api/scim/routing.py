"""Registering SCIM routes under both spellings of the resource endpoints: the seed's
``/users`` and RFC 7644's ``/Users`` (``/groups`` and ``/Groups`` likewise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

F = TypeVar("F", bound=Callable[..., Any])

_ALIASES = {"/users": "/Users", "/groups": "/Groups"}


def aliases(path: str) -> list[str]:
    out = [path]
    for low, cap in _ALIASES.items():
        if path == low or path.startswith(low + "/"):
            out.append(cap + path[len(low) :])
    return out


def route(
    router: APIRouter, methods: str | list[str], path: str, **kwargs: Any
) -> Callable[[F], F]:
    """``router.api_route`` for ``path`` and its aliases (hidden from the OpenAPI)."""
    wanted = [methods] if isinstance(methods, str) else list(methods)

    def decorate(fn: F) -> F:
        for i, p in enumerate(aliases(path)):
            extra = dict(kwargs)
            if i:
                extra["include_in_schema"] = False
            router.add_api_route(p, fn, methods=wanted, **extra)
        return fn

    return decorate

"""Discovery of the domain packages: their ORM models and their background workers.

Every domain folder with a ``models.py`` contributes tables to ``Base.metadata``; every
domain with a ``workers.py`` exposing ``async def run(rt)`` gets a background task in
each server process (workers coordinate through database row locks, never in memory).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import switchboard


def _domains() -> list[str]:
    names = []
    for mod in pkgutil.iter_modules(switchboard.__path__):
        if mod.ispkg and mod.name not in ("api", "core", "migrations", "web"):
            names.append(mod.name)
    return sorted(names)


def import_models() -> list[ModuleType]:
    out = []
    for name in _domains():
        try:
            out.append(importlib.import_module(f"switchboard.{name}.models"))
        except ModuleNotFoundError as e:
            if e.name != f"switchboard.{name}.models":
                raise
    return out


def worker_modules() -> list[ModuleType]:
    out = []
    for name in _domains():
        try:
            out.append(importlib.import_module(f"switchboard.{name}.workers"))
        except ModuleNotFoundError as e:
            if e.name != f"switchboard.{name}.workers":
                raise
    return out


def api_modules() -> list[ModuleType]:
    import switchboard.api as api

    out = []
    for mod in pkgutil.iter_modules(api.__path__):
        if mod.ispkg:
            out.append(importlib.import_module(f"switchboard.api.{mod.name}"))
    return out

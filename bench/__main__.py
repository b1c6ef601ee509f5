"""Run every benchmark module of this folder that defines ``main()`` (or the ones named)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    wanted = set(sys.argv[1:])
    folder = Path(__file__).parent
    for mod in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        if mod.name.startswith("_") or (wanted and mod.name not in wanted):
            continue
        module = importlib.import_module(f"bench.{mod.name}")
        entry = getattr(module, "main", None)
        if callable(entry):
            print(f"== {mod.name} ==", flush=True)
            sys.argv = [mod.name]
            entry()


if __name__ == "__main__":
    main()

"""What the browser tests share (issue 13): Debian's Chromium, screenshots kept after the
run, and the axe-core accessibility check.

Screenshots are kept under ``var/screenshots/<test module>/<test name>/NN-<what>.png``
(``var/`` is git-ignored): each test empties its own folder when it starts, so the
folder always holds the last run's pictures of that test, and nothing else.

axe-core's ``axe.min.js`` comes from the npm registry (``npm pack axe-core``; ``.ci/run``
puts it in ``var/axe-core/``; ``AXE_CORE_JS`` may name another copy). Without it the
accessibility checks are reported as skipped, with the reason; they never pass
silently."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "var" / "screenshots"
NO_AXE = (
    "axe-core is not available: the accessibility check did not run "
    "(npm pack axe-core into var/axe-core/, or set AXE_CORE_JS=.../axe.min.js)"
)

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")


def axe_source() -> str | None:
    """axe-core's axe.min.js, if present."""
    for p in (
        os.environ.get("AXE_CORE_JS", ""),
        str(ROOT / "var" / "axe-core" / "axe.min.js"),
        str(ROOT / "node_modules" / "axe-core" / "axe.min.js"),
    ):
        if p and os.path.isfile(p):
            return Path(p).read_text()
    return None


async def serious_violations(page: Any) -> list[str]:
    """The serious and critical axe-core violations of the page as it is now; the test
    is skipped (with the reason) when axe-core is not available."""
    source = axe_source()
    if source is None:
        pytest.skip(NO_AXE)
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=source)
    result = await page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class Axe:
    """Accessibility checks taken in the middle of a functional test: ``check`` runs axe
    on the page as it is (nothing when axe-core is missing), ``verdict`` at the end of
    the test fails on any serious violation found, or skips when none could be looked
    for. The flow under test runs to its end either way."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.missing = axe_source() is None

    async def check(self, page: Any, label: str) -> None:
        if not self.missing:
            self.found[label] = await serious_violations(page)

    def verdict(self) -> None:
        if self.missing:
            pytest.skip("the flow passed; " + NO_AXE)
        assert self.found, "no accessibility check was taken"
        bad = {label: v for label, v in self.found.items() if v}
        assert not bad, bad


class Shots:
    """Numbered screenshots of one test, kept in ``var/screenshots`` after the run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_test(cls, request: pytest.FixtureRequest) -> Shots:
        module = Path(str(request.node.fspath)).stem
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
        return cls(SCREENSHOTS / module / name)

    async def __call__(self, page: Any, name: str) -> Path:
        self.n += 1
        path = self.root / f"{self.n:02d}-{name}.png"
        await page.screenshot(path=str(path))
        return path

"""Issue 12 (6): SCIM photo URLs never reach internal addresses — after resolution, on
every redirect — unless the setting ``fetch_allow_networks`` allows them, and every
refusal answers alike.

Two photo servers listen on the loopback: 127.0.0.1 (allowed by the test settings) and
127.0.0.2 (not allowed). Loopback refusals are checked first: only once they hold does
the test name other internal addresses, which are then refused before any connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_scim_support import PNG, SCIM, scim_headers, user_body


class _Handler(BaseHTTPRequestHandler):
    redirect_to = ""

    def do_GET(self) -> None:
        if self.path.startswith("/redirect") and self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    inner = ThreadingHTTPServer(("127.0.0.2", 0), _Handler)
    handler = type("H", (_Handler,), {"redirect_to": f"http://127.0.0.2:{inner.server_port}/p"})
    outer = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for srv in (inner, outer):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{outer.server_port}", f"http://127.0.0.2:{inner.server_port}"
    for srv in (inner, outer):
        srv.shutdown()
        srv.server_close()


def photos(url: str) -> list[dict[str, Any]]:
    return [{"value": url, "type": "photo", "primary": True}]


async def test_internal_addresses_are_refused(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, servers: tuple[str, str]
) -> None:
    allowed, internal = servers
    assert rt.settings.fetch_allow_networks == ["127.0.0.1/32"]
    h = await scim_headers(client, tenant)
    # the allowed network is fetched as before
    r = await client.post(
        SCIM + "/users", json=user_body("ok1", photos=photos(allowed + "/a")), headers=h
    )
    assert r.status_code == 201, r.text
    refusal: dict[str, Any] | None = None

    async def refused(name: str, url: str) -> None:
        nonlocal refusal
        r = await client.post(SCIM + "/users", json=user_body(name, photos=photos(url)), headers=h)
        assert r.status_code == 400, (url, r.status_code, r.text)
        body = r.json()
        assert body["scimType"] == "invalidValue"
        shape = {k: v for k, v in body.items() if k != "detail"}
        assert body["detail"] == f"Photo URL cannot be fetched: {url}"
        refusal = refusal or shape
        assert shape == refusal  # every refusal answers alike

    # a loopback address outside the allowed network, directly and by a redirect
    await refused("in1", internal + "/p")
    await refused("in2", allowed + "/redirect")
    await refused("in3", f"http://[::ffff:127.0.0.2]:{internal.rsplit(':', 1)[1]}/p")
    await refused("in4", f"http://2130706434:{internal.rsplit(':', 1)[1]}/p")  # 127.0.0.2
    # without the setting, the loopback is refused too
    rt.settings.fetch_allow_networks = []
    try:
        await refused("in5", allowed + "/a")
        await refused("in6", "http://localhost:9/a")
    finally:
        rt.settings.fetch_allow_networks = ["127.0.0.1/32"]
    # the guard holds: now the other internal ranges (refused before any connection)
    for i, url in enumerate(
        (
            "http://10.0.0.1/p.png",
            "http://192.168.1.1/p.png",
            "http://172.16.0.1/p.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.100.100.200/p.png",
            "http://0.0.0.0/p.png",
            "http://[::1]/p.png",
            "http://[fd00::1]/p.png",
            "http://[fe80::1]/p.png",
            "http://224.0.0.1/p.png",
            "http://no-such-host.invalid/p.png",
        )
    ):
        await refused(f"net{i}", url)
    r = await client.get(SCIM + '/users?filter=userName sw "in"', headers=h)
    assert r.json()["totalResults"] == 0

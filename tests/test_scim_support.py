"""Helpers of the SCIM tests (this module has no tests of its own): headers, tenant
settings, a minimal user, and a local HTTP server that serves photos."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.tenants.models import Tenant
from tests.conftest import TenantInfo, get_token

SCIM = "/configapi/v2/scim"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CC_URN = "urn:switchboard:params:scim:schemas:extension:contactcenter:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def scim_headers(client: httpx.AsyncClient, tenant: TenantInfo) -> dict[str, str]:
    token = await get_token(client, tenant)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}


async def set_settings(rt: Runtime, tenant: TenantInfo, **settings: Any) -> None:
    """Tenant settings (test set-up: there is no API for them)."""
    async with rt.db.write() as s:
        row = await s.get(Tenant, tenant.tenant_id)
        assert row is not None
        row.settings = {**(row.settings or {}), **settings}


def user_body(user_name: str = "jdoe", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "John", "familyName": "Doe"},
        "emails": [{"value": user_name if "@" in user_name else f"{user_name}@example.com"}],
    }
    body.update(extra)
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(SCIM + "/users", json=body, headers=headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def assert_error(r: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM error body (RFC 7644 §3.12) with ``status`` as a string."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/scim+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


class _PhotoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/photo"):
            self._send(200, "image/png", PNG)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/photo.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/text":
            self._send(200, "text/html", b"<html>not an image</html>")
        elif path == "/error":
            self._send(500, "text/plain", b"boom")
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="session")
def photo_server() -> Iterator[str]:
    """Base URL of a local HTTP server: /photo*.png (a PNG), /redirect (to it),
    /text (HTML), /error (500), anything else 404."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PhotoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()

"""/docs works offline: Swagger UI's assets are served by the server (no CDN), the page
renders in Chromium with every other address blocked, and the OpenAPI document declares
its security schemes."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"


async def test_docs_page_uses_local_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert "/docs/assets/swagger-ui-bundle.js" in html and "/docs/assets/swagger-ui.css" in html
    assert "cdn" not in html.lower() and "https://" not in html
    r = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert r.status_code == 200 and len(r.content) > 100_000
    assert "javascript" in r.headers["content-type"]
    assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200
    assert (await client.get("/docs/assets/../../etc/passwd")).status_code == 404
    assert (await client.get("/docs/assets/index.html")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


async def test_openapi_security_schemes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert (
        schemes["messaging"]["in"] == "header" and schemes["messaging"]["name"] == "Authorization"
    )
    assert "MOBILE-API-140-327-PLAIN" in schemes["messaging"]["description"]
    assert schemes["statsCookie"] == {**schemes["statsCookie"], "in": "cookie"}
    paths = spec["paths"]
    assert paths["/clientweb/api/v2/chats"]["post"]["security"] == [{"messaging": []}]
    assert {"bearer": []} in paths["/adminapi/v1/entries"]["get"]["security"]
    assert {"bearer": []} in paths["/configapi/v2/user/{username}"]["get"]["security"]
    assert paths["/configapi/v2/oauth/token"]["post"]["security"] == []
    stats = [op for p, item in paths.items() if p.startswith("/statsapi/") for op in item.values()]
    assert stats and all({"statsCookie": []} in op["security"] for op in stats if op["security"])
    assert "security" not in paths["/health"]["get"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")
async def test_docs_render_in_chromium_with_the_network_closed(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    from playwright.async_api import Route, async_playwright

    server = live_server_factory()
    blocked: list[str] = []

    async def only_the_server(route: Route) -> None:
        if route.request.url.startswith(server.base_url):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context()
            await context.route("**/*", only_the_server)
            page = await context.new_page()
            await page.goto(server.base_url + "/docs")
            await page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
            title = await page.text_content(".swagger-ui .info .title") or ""
            assert "Switchboard" in title
            await page.wait_for_selector(".opblock-tag-section", timeout=30000)
            sections = await page.locator(".opblock-tag-section").count()
            assert sections >= 10
            assert await page.locator("text=Administration").count() >= 1
            # the security schemes make the Authorize button appear
            assert await page.locator("button.authorize").count() == 1
        finally:
            await browser.close()
    assert blocked == [], blocked

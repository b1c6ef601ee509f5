"""``/docs`` without a CDN: Swagger UI's assets come from the ``swagger-ui-bundle-v2``
package and are served by the server; and the OpenAPI document's security schemes
(Bearer tokens, the Messaging API's ``MOBILE-API-140-327-PLAIN`` header, the statistics
cookie), each operation naming the scheme its API uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse

ASSETS_URL = "/docs/assets"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(str(swagger_ui_bundle.swagger_ui_path))


SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token: OAuth client credentials from POST "
        "/configapi/v2/oauth/token (Configuration, SCIM, Administration, SMS, recordings), "
        "or an agent session token from POST /agentapi/v1/login (agent API)",
    },
    "oauth2": {
        "type": "oauth2",
        "description": "OAuth 2.0 client credentials (client_id = loginId, client_secret = "
        "the user's API secret, scope = the tenant's domain)",
        "flows": {"clientCredentials": {"tokenUrl": "/configapi/v2/oauth/token", "scopes": {}}},
    },
    "messaging": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Messaging API: `MOBILE-API-140-327-PLAIN appId="<entry appId>", '
        'clientId="<device or WebChat>"`, with the tenant in the query (`tenantUrl`)',
    },
    "statsCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "X-STATSAPI-TOKEN",
        "description": "Real-Time Statistics API session cookie set by POST /statsapi/auth "
        "(the token it answers also works as a Bearer token)",
    },
}

# (path prefix, security requirement); the first match wins; [] means none
RULES: list[tuple[str, list[dict[str, list[str]]]]] = [
    ("/configapi/v2/oauth/token", []),
    ("/statsapi/auth", []),
    ("/agentapi/v1/login", []),
    ("/clientweb/smsapi/v1/inbound", []),
    ("/clientweb/api/", [{"messaging": []}]),
    ("/statsapi", [{"statsCookie": []}, {"bearer": []}]),
    ("/configapi/", [{"bearer": []}, {"oauth2": []}]),
    ("/adminapi/", [{"bearer": []}, {"oauth2": []}]),
    ("/clientweb/smsapi/", [{"bearer": []}, {"oauth2": []}]),
    ("/agentapi/", [{"bearer": []}]),
]


def with_security(spec: dict[str, Any]) -> dict[str, Any]:
    spec.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
    for path, item in spec.get("paths", {}).items():
        for rule_prefix, requirement in RULES:
            if path.startswith(rule_prefix):
                for op in item.values():
                    if isinstance(op, dict) and "security" not in op:
                        op["security"] = requirement
                break
    return spec


def install(app: FastAPI) -> None:
    """Serve ``/docs`` from local assets and add the security schemes to the OpenAPI
    document (call with ``docs_url=None`` given to FastAPI)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = with_security(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(status_code=404)
        return FileResponse(assets_dir() / name, headers={"Cache-Control": "public, max-age=86400"})

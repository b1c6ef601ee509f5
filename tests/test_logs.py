"""JSON log lines (SWITCHBOARD_LOG_FORMAT=json) from a live server: a request id carried
into every line a request causes (the client's X-Request-Id, echoed; or a new one), and
no secret in any line (tokens in query strings redacted)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, TenantInfo


def log_lines(tmp_root: Path, server: LiveServer) -> list[dict[str, Any]]:
    port = server.base_url.rsplit(":", 1)[1]
    out = []
    for line in (tmp_root / f"server-{port}.log").read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_json_lines_with_request_ids_and_no_secrets(
    live_server_factory: Callable[..., LiveServer], tenant: TenantInfo, tmp_root: Path
) -> None:
    server = live_server_factory(log_format="json", log_level="INFO")
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        r = http.post("/configapi/v2/oauth/token", data=tenant.token_form())
        token = r.json()["access_token"]
        h = {"Authorization": f"Bearer {token}", "X-Request-Id": "req-adm-0001"}
        r = http.post("/adminapi/v1/skills", json={"name": "Logged"}, headers=h)
        assert r.status_code == 201
        assert r.headers["x-request-id"] == "req-adm-0001"
        # no id offered, or one that is not a short token: a new one
        r = http.get("/health")
        generated = r.headers["x-request-id"]
        assert len(generated) == 32
        r = http.get("/health", headers={"X-Request-Id": "bad id\twith spaces" + "x" * 200})
        assert r.headers["x-request-id"] != "bad id"
        assert len(r.headers["x-request-id"]) == 32
        # a token in a query string
        r = http.get("/agentapi/v1/me", params={"access_token": token, "q": "1"})
        assert r.status_code == 401
        # a request of the configuration API with the secret in a query string
        http.get("/configapi/v2/team", params={"client_secret": tenant.admin_secret})
    # the server writes its lines as they happen; stop it to flush everything
    server.process.terminate()
    server.process.wait(timeout=30)
    lines = log_lines(tmp_root, server)
    assert lines, "no JSON log lines"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    mine = [x for x in lines if x.get("request_id") == "req-adm-0001"]
    loggers = {x["logger"] for x in mine}
    # the audit line inside the request and the access line after it
    assert {"switchboard.admin", "switchboard.access"} <= loggers, mine
    audit = next(x for x in mine if x["logger"] == "switchboard.admin")
    assert audit["audit"] == "create" and "skill" in audit["message"]
    access = next(x for x in mine if x["logger"] == "switchboard.access")
    assert access["status"] == 201 and access["route"] == "/adminapi/v1/skills"
    assert any(x.get("request_id") == generated for x in lines)
    text = "\n".join(json.dumps(x) for x in lines)
    assert token not in text
    assert tenant.admin_secret not in text
    assert "access_token=REDACTED" in text and "client_secret=REDACTED" in text

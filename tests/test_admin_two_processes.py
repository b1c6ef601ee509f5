"""Issue 16: a change made through the Administration API applies at once in EVERY worker
process, not only in the one that made it, including what a process caches (the
Messaging API keeps tenants and scenario entries for ``chat_auth_cache_seconds``).

A live server runs 2 worker processes. Which process answered a request is read from
the kernel: the server side of the request's TCP connection is a socket that only the
answering process holds (``/proc/net/tcp`` gives its inode, ``/proc/<pid>/fd`` the
holder). Each check asks on fresh connections until every worker has answered, before
the change (so each process has the old value cached) and right after it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.core.bus import InProcessBus, make_bus
from switchboard.core.runtime import Runtime
from tests.conftest import PASSWORD, LiveServer, TenantInfo

ADMIN = "/adminapi/v1"
MSG = "/clientweb/api/v2"
WORKERS = 2
MAX_CONNECTIONS = 400  # bounded: fresh connections until every worker has answered


# ---- which process answered -------------------------------------------------------------


def worker_pids(server: LiveServer) -> set[int]:
    """The worker processes uvicorn started for ``server``: children of its master,
    except multiprocessing's resource tracker."""
    out: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.process.pid and b"resource_tracker" not in cmdline:
            out.add(int(name))
    return out


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection 127.0.0.1:client_port ->
    127.0.0.1:server_port."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return fields[9]
    return None


def answering_pid(r: httpx.Response, pids: set[int]) -> int:
    """The worker holding the server end of ``r``'s (still open) connection."""
    stream = r.extensions["network_stream"]
    client_port = int(stream.get_extra_info("client_addr")[1])
    server_port = int(stream.get_extra_info("server_addr")[1])
    inode = _socket_inode(server_port, client_port)
    assert inode is not None, "the connection is not in /proc/net/tcp"
    target = f"socket:[{inode}]"
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds {target}")


class Workers:
    """The live server's worker processes, each asked on connections of its own."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.pids = worker_pids(server)
        assert len(self.pids) == WORKERS, self.pids

    def ask_each(self, method: str, url: str, **kwargs: Any) -> dict[int, httpx.Response]:
        """The same request answered by every worker: fresh connections until each
        process has answered once (the kernel hands connections to either)."""
        answers: dict[int, httpx.Response] = {}
        for _ in range(MAX_CONNECTIONS):
            with httpx.Client(base_url=self.server.base_url, timeout=10) as http:
                r = http.request(method, url, **kwargs)
                r.read()
                pid = answering_pid(r, self.pids)
            answers.setdefault(pid, r)
            if len(answers) == len(self.pids):
                return answers
        raise AssertionError(f"only {sorted(answers)} of {sorted(self.pids)} answered")


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory(workers=WORKERS)


@pytest.fixture
def workers(server: LiveServer) -> Iterator[Workers]:
    yield Workers(server)


def admin_headers(server: LiveServer, tenant: TenantInfo) -> dict[str, str]:
    r = httpx.post(
        server.base_url + "/configapi/v2/oauth/token", data=tenant.token_form(), timeout=10
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def change(server: LiveServer, method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
    r = httpx.request(
        method, server.base_url + ADMIN + path, json=body, headers=headers, timeout=10
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def customer(tenant: TenantInfo, app_id: str = "test") -> dict[str, Any]:
    return {
        "params": {"tenantUrl": tenant.domain},
        "headers": {
            "Authorization": f'MOBILE-API-140-327-PLAIN appId="{app_id}", clientId="cust-2w"',
            "User-Agent": "MobileClient",
        },
    }


# ---- the tests ---------------------------------------------------------------------------


def test_entry_changes_reach_every_worker(
    server: LiveServer, workers: Workers, tenant: TenantInfo, rt: Runtime
) -> None:
    h = admin_headers(server, tenant)
    asks = customer(tenant)

    # the widget configuration: every process has served (and cached) the entry first
    before = workers.ask_each("GET", MSG + "/configuration", **asks)
    for r in before.values():
        assert r.status_code == 200, r.text
        assert r.json()["definition"]["chatWidgetStyling"]["title"] != "Two Workers"
    change(server, "PATCH", "/entries/test", h, widgetConfiguration={"title": "Two Workers"})
    for pid, r in workers.ask_each("GET", MSG + "/configuration", **asks).items():
        assert r.status_code == 200, (pid, r.text)
        assert r.json()["definition"]["chatWidgetStyling"]["title"] == "Two Workers", pid

    # allowed web origins: every process answers the browser's CORS preflight
    origin = f"https://shop-{secrets.token_hex(3)}.example.com"
    preflight = {
        "params": {"tenantUrl": tenant.domain},
        "headers": {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    }
    for r in workers.ask_each("OPTIONS", MSG + "/chats", **preflight).values():
        assert r.headers.get("access-control-allow-origin") != origin
    change(server, "PATCH", "/entries/test", h, allowedOrigins=[origin])
    for pid, r in workers.ask_each("OPTIONS", MSG + "/chats", **preflight).items():
        assert r.headers.get("access-control-allow-origin") == origin, (pid, r.headers)

    # requested skills and the expected parameters: a new required parameter is enforced
    change(
        server,
        "PATCH",
        "/entries/test",
        h,
        requestedSkills={"Support": 10},
        expectedParameters=[{"name": "ORDER", "type": "string", "required": True}],
    )
    for pid, r in workers.ask_each("GET", MSG + "/parameters", **asks).items():
        assert r.json() == {"parameters": [{"ORDER": "TEXT"}]}, pid
    for pid, r in workers.ask_each("POST", MSG + "/chats", json={"parameters": {}}, **asks).items():
        assert r.status_code == 400 and "ORDER" in r.text, (pid, r.text)


def test_hours_and_services_reach_every_worker(
    server: LiveServer, workers: Workers, tenant: TenantInfo, rt: Runtime
) -> None:
    h = admin_headers(server, tenant)
    asks = customer(tenant)
    for r in workers.ask_each("GET", MSG + "/availability", **asks).values():
        assert r.json()["chat"] == "available", r.text

    # hours of operation: the entry gets hours that are never open (the entry's hours
    # are cached with it), then those hours open every day (the hours themselves)
    change(server, "POST", "/hours", h, name="Two workers", timezone="UTC", weekly={})
    change(server, "PATCH", "/entries/test", h, hours="Two workers")
    for pid, r in workers.ask_each("GET", MSG + "/availability", **asks).items():
        assert r.json()["chat"] == "notAvailable", (pid, r.text)
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    change(server, "PATCH", "/hours/Two workers", h, weekly={d: [["00:00", "24:00"]] for d in days})
    for pid, r in workers.ask_each("GET", MSG + "/availability", **asks).items():
        assert r.json()["chat"] == "available", (pid, r.text)

    # a service: agents of every process see a new chat service (a transfer target),
    # and no longer once it is disabled
    r = httpx.post(
        server.base_url + "/agentapi/v1/login",
        json={"tenant": tenant.domain, "loginId": "agent1", "password": PASSWORD},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    agent = {"headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}

    def names(r: httpx.Response) -> list[str]:
        assert r.status_code == 200, r.text
        return [item["name"] for item in r.json()["items"]]

    for r in workers.ask_each("GET", "/agentapi/v1/services", **agent).values():
        assert "Overflow Chat" not in names(r)
    change(server, "POST", "/services", h, name="Overflow Chat", media="chat")
    for pid, r in workers.ask_each("GET", "/agentapi/v1/services", **agent).items():
        assert "Overflow Chat" in names(r), pid
    change(server, "PATCH", "/services/Overflow Chat", h, enabled=False)
    for pid, r in workers.ask_each("GET", "/agentapi/v1/services", **agent).items():
        assert "Overflow Chat" not in names(r), pid
    for pid, r in workers.ask_each("GET", ADMIN + "/services/Overflow Chat", headers=h).items():
        assert r.json()["enabled"] is False, pid


async def test_relay_between_processes_without_redis(tmp_path: Path) -> None:
    """Two buses on one relay file stand for two processes of one host without Redis:
    configuration and credential messages cross; nothing else does; a process does not
    read its own back; a rotated file makes the other forget what it cached."""
    a = make_bus(None, "relaytest", relay_dir=tmp_path)
    b = make_bus(None, "relaytest", relay_dir=tmp_path)
    assert isinstance(a, InProcessBus) and isinstance(b, InProcessBus)

    class Seen:
        def __init__(self) -> None:
            self.topics: list[tuple[str, str]] = []
            self.resets = 0

        def seen(self, topic: str, payload: str) -> None:
            self.topics.append((topic, payload))

        def reset(self) -> None:
            self.resets += 1

    seen_a, seen_b = Seen(), Seen()
    a.tap("config:", seen_a)
    b.tap("config:", seen_b)
    async with b.listen(["config:t1"]) as waiter:
        await a.publish("config:t1", "entry:test")
        await a.publish_many([("chat:c1", "server:1"), ("auth:revoked", "x")])
        assert seen_b.topics == [] and not waiter.woken  # nothing read yet
        b.catch_up()
        assert seen_b.topics == [("config:t1", "entry:test")]
        assert waiter.woken and waiter.drain() == ["entry:test"]
    a.catch_up()
    assert seen_a.topics == [("config:t1", "entry:test")]  # its own, delivered once
    b.catch_up()
    assert len(seen_b.topics) == 1  # nothing new: one stat
    # a rotated relay: the other process cannot know what it missed
    relay = tmp_path / "bus-relaytest.relay"
    relay.rename(tmp_path / "elsewhere")
    await a.publish("config:t2", "service:s")
    b.catch_up()
    assert seen_b.resets == 1

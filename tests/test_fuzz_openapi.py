"""A property-based fuzzer over every operation of ``/openapi.json`` (issue 12): for each
operation, schemathesis generates requests from the declared parameters and bodies
(hypothesis), sent to the in-process app with valid credentials of a tenant of its own
(and, while it runs, the SMS webhooks' secret and Twilio signatures computed for each
generated form, so that their bodies are parsed); no answer may be a 5xx. Bounded: ``FUZZ_EXAMPLES`` examples per operation (about a minute
per backend); ``SWITCHBOARD_FUZZ_EXAMPLES`` raises it for a longer run.

Operations that still answer 5xx to some inputs and that only their owners can fix are
listed in ``EXCEPTIONS`` with the reason. The list may only shrink: an entry is removed
when its owner fixes the route (``test_exceptions_only_shrink`` pins its length).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings

from switchboard.core.runtime import Runtime
from switchboard.telephony.twilio import signature
from tests.conftest import PASSWORD, TenantInfo, new_tenant
from tests.test_scim_support import set_settings

FUZZ_EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "6"))
SOURCE = ("198.51.100.77", 40000)  # its own client address: its failed logins throttle no one

# (METHOD, path template) -> why it may still answer 5xx. Shrink only.
EXCEPTIONS: dict[tuple[str, str], str] = {}
MAX_EXCEPTIONS = len(EXCEPTIONS)


def _httpx_kwargs(case: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    files = kwargs.get("files")
    if files is not None and not files:
        kwargs.pop("files")
    return kwargs


# the webhooks' and callbacks' secrets while the fuzzer runs: their bodies get past the
# secret (SMS) and the signature (Twilio, signed here for each generated form)
WEBHOOK_SECRET = "fuzz-webhook-secret"
TWILIO_TOKEN = "fuzz-twilio-token"
PUBLIC_URL = "http://testserver"


def _form_pairs(data: Any) -> list[tuple[str, str]]:
    """The pairs httpx sends for a form ``data`` (what the signature covers)."""
    pairs: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        for v in value if isinstance(value, list | tuple) else [value]:
            text = "true" if v is True else "false" if v is False else "" if v is None else str(v)
            pairs.append((str(key), text))
    return pairs


def _webhook_headers(path: str, kwargs: dict[str, Any]) -> dict[str, str]:
    if path.startswith("/clientweb/smsapi/v1/inbound") or path.startswith(
        "/clientweb/smsapi/v1/status"
    ):
        return {"X-Webhook-Secret": WEBHOOK_SECRET}
    if path.startswith("/carriers/twilio/") and isinstance(kwargs.get("data"), dict):
        url = PUBLIC_URL + unquote(urlsplit(str(kwargs["url"])).path)
        return {"X-Twilio-Signature": signature(TWILIO_TOKEN, url, _form_pairs(kwargs["data"]))}
    return {}


def _auth_for(path: str, creds: dict[str, str]) -> dict[str, str]:
    if path.startswith("/statsapi"):
        return {"Authorization": f"Bearer {creds['stats']}"}
    if path.startswith("/agentapi"):
        return {"Authorization": f"Bearer {creds['agent']}"}
    if path.startswith("/clientweb/api"):
        return {"Authorization": 'MOBILE-API-140-327-PLAIN appId="test", clientId="fuzz-client"'}
    return {"Authorization": f"Bearer {creds['admin']}"}


@pytest.mark.timeout(600)
async def test_no_operation_answers_5xx(app: FastAPI, rt: Runtime) -> None:
    tenant = await new_tenant(rt)
    # SCIM bodies may name photo URLs: stored as given, never fetched (no DNS look-ups)
    await set_settings(rt, tenant, scim_photos="url")
    saved = (rt.settings.sms_inbound_secret, rt.settings.twilio_auth_token, rt.settings.public_url)
    rt.settings.sms_inbound_secret = WEBHOOK_SECRET
    rt.settings.twilio_auth_token = TWILIO_TOKEN
    rt.settings.public_url = PUBLIC_URL
    try:
        await _fuzz(app, rt, tenant)
    finally:
        (
            rt.settings.sms_inbound_secret,
            rt.settings.twilio_auth_token,
            rt.settings.public_url,
        ) = saved


async def _fuzz(app: FastAPI, rt: Runtime, tenant: TenantInfo) -> None:
    transport = httpx.ASGITransport(app=app, client=SOURCE)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=60
    ) as client:
        r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form())
        creds = {"admin": r.json()["access_token"]}
        r = await client.post(
            "/statsapi/auth",
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
        creds["stats"] = r.json()["token"]
        r = await client.post(
            "/agentapi/v1/login",
            json={"tenant": tenant.domain, "loginId": "agent1", "password": PASSWORD},
        )
        creds["agent"] = r.json()["access_token"]
        schema = schemathesis.openapi.from_dict(app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        failures: dict[tuple[str, str], list[str]] = {}
        counted = 0

        def send(kwargs: dict[str, Any]) -> httpx.Response:
            return asyncio.run_coroutine_threadsafe(client.request(**kwargs), loop).result(60)

        def fuzz(operation: Any) -> None:
            nonlocal counted
            key = (operation.method.upper(), operation.path)

            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case: Any) -> None:
                nonlocal counted
                kwargs = _httpx_kwargs(case)
                kwargs.setdefault("params", {})
                if key[1].startswith("/clientweb/api"):
                    kwargs["params"] = {**kwargs["params"], "tenantUrl": tenant.domain}
                kwargs["headers"] = {
                    **kwargs.get("headers", {}),
                    **_auth_for(key[1], creds),
                    **_webhook_headers(key[1], kwargs),
                }
                response = send(kwargs)
                counted += 1
                if response.status_code >= 500:
                    failures.setdefault(key, []).append(
                        f"{response.status_code} {kwargs.get('params')} "
                        f"{str(kwargs.get('json', kwargs.get('content', '')))[:120]!r}"
                        f" -> {response.text[:160]!r}"
                    )

            run()

        for operation in sorted(operations, key=lambda o: (o.path, o.method)):
            await asyncio.to_thread(fuzz, operation)
    assert counted >= len(operations)
    unexpected = {k: v for k, v in failures.items() if k not in EXCEPTIONS}
    assert not unexpected, "\n".join(
        f"{m} {p}: {len(v)} x 5xx, e.g. {v[0]}" for (m, p), v in sorted(unexpected.items())
    )


def test_exceptions_only_shrink() -> None:
    assert len(EXCEPTIONS) <= MAX_EXCEPTIONS
    assert all(reason.strip() for reason in EXCEPTIONS.values())

"""scim2-tester (the SCIM compliance checker from PyPI, with scim2-client over httpx2)
against a live server: discovery, every CRUD and every PATCH check on users and groups.

The tenant is configured as docs/scim.md ("Compliance") explains: the checker assumes a
user created with only the required attributes holds no other values, so the tenant
assigns no default role and no extension; and its photo URLs (``https://<uuid>.test``)
resolve nowhere, so photos are kept by URL (fetching is tested in test_scim_photos.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from switchboard.core.runtime import Runtime
from tests.conftest import LiveServer, TenantInfo, get_token
from tests.test_scim_support import CC_URN, SCIM, set_settings


def _run_checker(base_url: str, token: str) -> list[Any]:
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server
    from scim2_tester.checkers import core_schemas_validation
    from scim2_tester.utils import CheckConfig, CheckContext

    with httpx2.Client(
        base_url=base_url + SCIM, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        scim_client = SyncSCIMClient(http)
        results = list(check_server(scim_client))
        # A check the library ships but check_server does not run.
        results += core_schemas_validation(CheckContext(scim_client, CheckConfig()))
        return results


def _describe(results: list[Any]) -> str:
    return "\n".join(
        f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '')[:300]}"
        for r in results
    )


async def test_scim2_tester_checks(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    rt: Runtime,
    live_server_factory: Callable[..., LiveServer],
) -> None:
    from scim2_tester import Status

    await set_settings(
        rt, tenant, scim_default_roles=[], scim_assign_extension=False, scim_photos="url"
    )
    server = live_server_factory()
    token = await get_token(client, tenant)
    results = await asyncio.to_thread(_run_checker, server.base_url, token)

    counts = Counter(r.status for r in results)
    assert counts[Status.SUCCESS] >= 80, _describe(results)
    # Every check succeeds but two. check_add_attribute's expectation contradicts RFC
    # 7644 §3.5.2.1: it first adds the whole contact-center extension (team and one
    # skill), then adds a skill and expects to read back that skill alone, where "add"
    # on a multi-valued attribute appends to what is there. check_remove_attribute
    # expects a removed externalId to be absent; we answer "externalId": "" as the
    # seed's examples show (issue 11). See docs/scim.md.
    others = [r for r in results if r.status != Status.SUCCESS]
    assert len(others) == 2, _describe(others)
    (removed,) = [r for r in others if r.title == "check_remove_attribute"]
    assert removed.resource_type == "User" and "'externalId'" in (removed.reason or "")
    assert removed.data["modify_actual"] == ""
    (skills,) = [r for r in others if r.title == "check_add_attribute"]
    assert skills.title == "check_add_attribute" and skills.resource_type == "User"
    assert skills.data["urn"] == f"{CC_URN}:skills"
    added = [s.value for s in skills.data["expected"]]
    returned = [s.value for s in skills.data["modify_actual"]]
    assert len(added) == 1 and added[0] in returned and len(returned) == 2

    titles = {r.title for r in results}
    for title in (
        "service_provider_config_endpoint",
        "service_provider_config_endpoint_methods",
        "query_all_resource_types",
        "query_resource_type_by_id",
        "access_invalid_resource_type",
        "resource_types_schema_validation",
        "resource_types_endpoint_methods",
        "query_all_schemas",
        "access_schema_by_id",
        "access_invalid_schema",
        "schemas_endpoint_methods",
        "core_schemas_validation",
        "random_url",
        "object_creation",
        "object_query",
        "object_query_without_id",
        "object_query_with_attributes",
        "object_list_with_attributes",
        "search_with_attributes",
        "object_replacement",
        "object_deletion",
        "check_add_attribute",
        "check_remove_attribute",
        "check_replace_attribute",
    ):
        assert title in titles, title
    assert {r.resource_type for r in results if r.resource_type} == {"User", "Group"}

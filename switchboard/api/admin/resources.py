"""One registrar for the Administration API's collections: list, create, read, change
(PATCH: only the fields sent change) and delete, each one service read or one action."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from switchboard.api.admin.catalog import Resource
from switchboard.api.admin.common import ERRORS, WRITE_ERRORS, Admin, parse_body, rt_of
from switchboard.api.common import body_doc
from switchboard.core.runtime import Runtime

log = logging.getLogger("switchboard.admin")


def register(router: APIRouter, res: Resource) -> None:
    item = res.path + "/{ref:path}"

    async def list_items(request: Request, principal: Admin) -> list[Any]:
        async with rt_of(request).db.read() as s:
            return [await res.read(s, x) for x in await res.list_all(s, principal.tenant_id)]

    async def read_one(rt: Runtime, tenant_id: str, ref: str) -> BaseModel:
        async with rt.db.read() as s:
            return await res.read(s, await res.find(s, tenant_id, ref))

    async def get_item(ref: str, request: Request, principal: Admin) -> Any:
        return await read_one(rt_of(request), principal.tenant_id, ref)

    async def create_item(request: Request, principal: Admin, response: Response) -> Any:
        data = await parse_body(request, res.create_model)
        rt = rt_of(request)
        row = await res.create(rt, principal.tenant_id, data)
        log.info(
            "%s created %s %s",
            principal.login_id,
            res.singular,
            row.id,
            extra={"tenant": principal.tenant_domain, "audit": "create"},
        )
        response.status_code = 201
        return await read_one(rt, principal.tenant_id, row.id)

    async def update_item(ref: str, request: Request, principal: Admin) -> Any:
        data = await parse_body(request, res.update_model)
        rt = rt_of(request)
        row = await res.update(rt, principal.tenant_id, ref, data)
        log.info(
            "%s changed %s %s (%s)",
            principal.login_id,
            res.singular,
            row.id,
            ", ".join(sorted(data.model_fields_set)),
            extra={"tenant": principal.tenant_domain, "audit": "update"},
        )
        return await read_one(rt, principal.tenant_id, row.id)

    async def delete_item(ref: str, request: Request, principal: Admin) -> Response:
        await res.delete(rt_of(request), principal.tenant_id, ref)
        log.info(
            "%s deleted %s %s",
            principal.login_id,
            res.singular,
            ref,
            extra={"tenant": principal.tenant_domain, "audit": "delete"},
        )
        return Response(status_code=204)

    ref_doc = f"The {res.singular}'s {res.key}"
    router.add_api_route(
        res.path,
        list_items,
        methods=["GET"],
        summary=f"List {res.plural}",
        response_model=list[res.read_model],  # type: ignore[name-defined]
        responses=ERRORS,
        operation_id=f"admin_list_{res.plural.replace(' ', '_').replace('-', '_')}",
    )
    router.add_api_route(
        res.path,
        create_item,
        methods=["POST"],
        status_code=201,
        summary=f"Create a {res.singular}",
        response_model=res.read_model,
        responses=WRITE_ERRORS,
        openapi_extra=body_doc(res.create_model),
        operation_id=f"admin_create_{res.singular.replace(' ', '_').replace('-', '_')}",
    )
    router.add_api_route(
        item,
        get_item,
        methods=["GET"],
        summary=f"Get a {res.singular}",
        description=ref_doc,
        response_model=res.read_model,
        responses=ERRORS,
        operation_id=f"admin_get_{res.singular.replace(' ', '_').replace('-', '_')}",
    )
    router.add_api_route(
        item,
        update_item,
        methods=["PATCH"],
        summary=f"Change a {res.singular} (only the fields sent)",
        description=ref_doc,
        response_model=res.read_model,
        responses=WRITE_ERRORS,
        openapi_extra=body_doc(res.update_model),
        operation_id=f"admin_update_{res.singular.replace(' ', '_').replace('-', '_')}",
    )
    router.add_api_route(
        item,
        delete_item,
        methods=["DELETE"],
        status_code=204,
        summary=f"Delete a {res.singular}",
        description=ref_doc,
        responses={**ERRORS, 409: {"description": "Still in use (the message says where)"}},
        operation_id=f"admin_delete_{res.singular.replace(' ', '_').replace('-', '_')}",
    )

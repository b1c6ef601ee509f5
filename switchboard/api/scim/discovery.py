"""Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, plus the
searches across every resource type (``GET /`` and ``POST /.search``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from scim2_models import (
    URI,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    External,
    Filter,
    Meta,
    Pagination,
    Patch,
    Reference,
    Resource,
    ResourceType,
    Schema,
    SchemaExtension,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
)

from switchboard.api.scim import bodies
from switchboard.api.scim.common import (
    LIST_SCHEMA,
    MAX_RESULTS,
    Manager,
    base_url,
    dump,
    page,
    query_search,
    read_object,
    response,
    runtime,
    search_request,
    tenant_facts,
)
from switchboard.api.scim.errors import ScimError, method_not_allowed
from switchboard.api.scim.groups import search_groups
from switchboard.api.scim.users import search_users
from switchboard.users import scim
from switchboard.users.scim import ScimGroup, ScimUser

router = APIRouter(tags=["SCIM 2.0: discovery"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired access token"},
    403: {"description": "The privilege Manage users is missing"},
    404: {"description": "No such resource type or schema"},
}


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=MAX_RESULTS,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description=(
                    "A Configuration API access token (POST /configapi/v2/oauth/token, "
                    "client credentials) of a user with the privilege Manage users."
                ),
                spec_uri=Reference[External]("https://www.rfc-editor.org/rfc/rfc6750"),
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )


def resource_types(base: str) -> list[ResourceType]:
    user = ResourceType(
        id="User",
        name="User",
        description="Users of the contact center (agents, supervisors, administrators)",
        endpoint=Reference[URI]("/users"),
        schema_=Reference[URI](scim.USER_SCHEMA),
        schema_extensions=[SchemaExtension(schema_=Reference[URI](scim.CC_SCHEMA), required=False)],
        meta=Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/User"),
    )
    group = ResourceType(
        id="Group",
        name="Group",
        description="Teams of the contact center",
        endpoint=Reference[URI]("/groups"),
        schema_=Reference[URI](scim.GROUP_SCHEMA),
        schema_extensions=[],
        meta=Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/Group"),
    )
    return [user, group]


async def schemas(request: Request, tenant_id: str) -> list[Schema]:
    facts = await tenant_facts(runtime(request), tenant_id)
    out = scim.published_schemas(
        role_names=facts.role_names,
        team_names=facts.team_names,
        allow_username_change=facts.allow_username_change,
    )
    out += [ResourceType.to_schema(), ServiceProviderConfig.to_schema(), Schema.to_schema()]
    base = base_url(request)
    for s in out:
        s.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{s.id}")
    return out


def _list(resources: list[Any]) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": [dump(r, Context.RESOURCE_QUERY_RESPONSE) for r in resources],
    }


# ---- ServiceProviderConfig ----------------------------------------------------------


@router.get("/ServiceProviderConfig", summary="Service provider configuration", responses=ERRORS)
async def get_service_provider_config(request: Request, principal: Manager) -> JSONResponse:
    return response(
        dump(service_provider_config(base_url(request)), Context.RESOURCE_QUERY_RESPONSE)
    )


# ---- ResourceTypes ----------------------------------------------------------------------


@router.get("/ResourceTypes", summary="Resource types", responses=ERRORS)
async def list_resource_types(request: Request, principal: Manager) -> JSONResponse:
    return response(_list(resource_types(base_url(request))))


@router.get("/ResourceTypes/{name}", summary="Resource type", responses=ERRORS)
async def get_resource_type(name: str, request: Request, principal: Manager) -> JSONResponse:
    for rt in resource_types(base_url(request)):
        if (rt.id or "").lower() == name.lower():
            return response(dump(rt, Context.RESOURCE_QUERY_RESPONSE))
    raise ScimError(404, f"Resource type not found: {name}")


# ---- Schemas ----------------------------------------------------------------------------


@router.get("/Schemas", summary="Schemas", responses=ERRORS)
async def list_schemas(request: Request, principal: Manager) -> JSONResponse:
    return response(_list(await schemas(request, principal.tenant_id)))


@router.get("/Schemas/{schema_id}", summary="Schema", responses=ERRORS)
async def get_schema(schema_id: str, request: Request, principal: Manager) -> JSONResponse:
    for s in await schemas(request, principal.tenant_id):
        if (s.id or "").lower() == schema_id.lower():
            return response(dump(s, Context.RESOURCE_QUERY_RESPONSE))
    raise ScimError(404, f"Schema not found: {schema_id}")


# ---- searching every resource type -----------------------------------------------------------


async def _search_all(
    request: Request, tenant_id: str, search: SearchRequest[Any]
) -> list[Resource[Any]]:
    rt = runtime(request)
    base = base_url(request)
    users = await search_users(rt, tenant_id, search, base)
    groups = await search_groups(rt, tenant_id, search, base)
    return [*users, *groups]


@router.get("/", summary="Query users and groups", responses=ERRORS)
async def query_all(request: Request, principal: Manager) -> JSONResponse:
    search = query_search(ScimUser | ScimGroup, request)
    found = await _search_all(request, principal.tenant_id, search)
    return response(page(search, found, Context.RESOURCE_QUERY_RESPONSE))


@router.post(
    "/.search",
    summary="Search users and groups",
    responses=ERRORS,
    openapi_extra=bodies.SEARCH_DOC,
)
async def search_all(request: Request, principal: Manager) -> JSONResponse:
    search = search_request(ScimUser | ScimGroup, await read_object(request))
    found = await _search_all(request, principal.tenant_id, search)
    return response(page(search, found, Context.SEARCH_RESPONSE))


# ---- other methods ------------------------------------------------------------------------

_WRITES = ["POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/ServiceProviderConfig", methods=_WRITES, include_in_schema=False)
@router.api_route("/ResourceTypes", methods=_WRITES, include_in_schema=False)
@router.api_route("/ResourceTypes/{name}", methods=_WRITES, include_in_schema=False)
@router.api_route("/Schemas", methods=_WRITES, include_in_schema=False)
@router.api_route("/Schemas/{name:path}", methods=_WRITES, include_in_schema=False)
async def discovery_read_only(request: Request) -> None:
    raise method_not_allowed(["GET"])


@router.api_route("/.search", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def search_post_only(request: Request) -> None:
    raise method_not_allowed(["POST"])


@router.api_route("/", methods=["PUT", "PATCH", "DELETE"], include_in_schema=False)
async def root_other(request: Request) -> None:
    raise method_not_allowed(["GET"])

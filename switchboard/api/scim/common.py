"""What the SCIM routers share: authorisation, bodies, query parameters, responses,
entity tags, and the tenant facts the schemas publish."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import (
    Context,
    Resource,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)
from sqlalchemy import select

from switchboard.api.common import json_body
from switchboard.api.configapi.deps import require
from switchboard.api.scim.errors import (
    SCIM_MEDIA_TYPE,
    ScimError,
    from_scim_exception,
    from_validation_error,
)
from switchboard.auth.service import Principal
from switchboard.core.runtime import Runtime
from switchboard.teams.models import Team
from switchboard.tenants.models import Tenant
from switchboard.users import scim
from switchboard.users.models import Privilege, Role

PREFIX = "/configapi/v2/scim"
# the seed's Postman collection sends its SCIM bodies as text/plain (or without a type)
CONTENT_TYPES = ("application/scim+json", "application/json", "text/plain", "")
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#: The most resources one page holds (ServiceProviderConfig ``filter.maxResults``).
MAX_RESULTS = 500
#: How often a write computed from a read is retried when the resource changed meanwhile.
WRITE_ATTEMPTS = 5

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_USERS))]

T = TypeVar("T")
R = TypeVar("R", bound=Resource[Any])


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def scim_call(fn: Callable[[], T]) -> T:
    """Run a scim2-models call, turning its errors into SCIM error responses."""
    try:
        return fn()
    except ValidationError as e:
        raise from_validation_error(e) from e
    except SCIMException as e:
        raise from_scim_exception(e) from e


async def read_object(request: Request) -> dict[str, Any]:
    body = await json_body(request, content_types=CONTENT_TYPES)
    if not isinstance(body, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    return body


def response(
    payload: dict[str, Any],
    *,
    status: int = 200,
    version: str | None = None,
    location: str | None = None,
) -> JSONResponse:
    headers: dict[str, str] = {}
    if version:
        headers["ETag"] = version
    if location:
        headers["Location"] = location
    return JSONResponse(payload, status_code=status, media_type=SCIM_MEDIA_TYPE, headers=headers)


def dump(
    resource: Resource[Any], ctx: Context, params: ResponseParameters[Any] | None = None
) -> dict[str, Any]:
    """The wire form of a resource, extension schemas last (easier to read)."""
    body = resource.model_dump(scim_ctx=ctx, response_parameters=params, scim_policy=scim.POLICY)
    if isinstance(resource, scim.ScimUser):
        _complete_user(body, params)
    urns = [k for k in body if k.startswith("urn:")]
    for key in urns:
        body[key] = body.pop(key)
    return body


#: Attributes of a user that the seed always shows, empty when unset (``"externalId":
#: ""``; ``"groups": []`` for a user without a team). Only the wire form has them: the
#: resource itself keeps them unassigned, so filters (``externalId pr``) and entity tags
#: are unchanged.
ALWAYS_SHOWN: dict[str, Any] = {"externalId": "", "groups": []}


def _top_names(paths: Sequence[Any] | None) -> set[str]:
    prefix = scim.USER_SCHEMA.lower() + ":"
    names: set[str] = set()
    for path in paths or ():
        text = str(path).lower().removeprefix(prefix)
        names.add(text.split(".", 1)[0])
    return names


def _complete_user(body: dict[str, Any], params: ResponseParameters[Any] | None) -> None:
    wanted = _top_names(params.attributes if params is not None else None)
    excluded = _top_names(params.excluded_attributes if params is not None else None)
    for name, empty in ALWAYS_SHOWN.items():
        key = name.lower()
        if name in body or key in excluded or (wanted and key not in wanted):
            continue
        body[name] = copy.copy(empty)


def response_parameters(model: type[R], request: Request) -> ResponseParameters[Any]:
    q = request.query_params
    raw: dict[str, Any] = {}
    if q.get("attributes"):
        raw["attributes"] = q["attributes"]
    if q.get("excludedAttributes"):
        raw["excludedAttributes"] = q["excludedAttributes"]
    cls: Any = ResponseParameters[model]  # type: ignore[valid-type]
    params: ResponseParameters[Any] = scim_call(
        lambda: cls.model_validate(raw, scim_policy=scim.POLICY)
    )
    return params


def search_request(model: Any, raw: dict[str, Any]) -> SearchRequest[Any]:
    """A validated search (``filter``, ``sortBy``, ``startIndex``, ``count``...)."""
    cls: Any = SearchRequest[model]
    request: SearchRequest[Any] = scim_call(
        lambda: cls.model_validate(raw, scim_ctx=Context.SEARCH_REQUEST, scim_policy=scim.POLICY)
    )
    if request.cursor is not None:
        raise ScimError(400, "Cursor pagination is not supported", "invalidValue")
    return request


def query_search(model: Any, request: Request) -> SearchRequest[Any]:
    names = (
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
    )
    raw = {k: request.query_params[k] for k in names if request.query_params.get(k) is not None}
    return search_request(model, raw)


def page(
    search: SearchRequest[Any],
    matches: Sequence[Resource[Any]],
    ctx: Context,
) -> dict[str, Any]:
    """A ListResponse of the matches ``search`` selects (already filtered)."""
    ordered = search.sort(matches)
    start = search.start_index or 1
    count = MAX_RESULTS if search.count is None else min(search.count, MAX_RESULTS)
    chosen = ordered[start - 1 : start - 1 + count]
    body: dict[str, Any] = {"schemas": [LIST_SCHEMA], "totalResults": len(ordered)}
    if search.start_index is not None or search.count is not None or len(chosen) < len(ordered):
        body["startIndex"] = start
        body["itemsPerPage"] = len(chosen)
    body["Resources"] = [dump(r, ctx, search) for r in chosen]
    return body


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def check_if_match(request: Request, version: str) -> None:
    """``If-Match`` (RFC 7232, weak comparison): 412 when the resource changed."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    if version.removeprefix("W/") not in _tags(header):
        raise ScimError(412, "The resource changed: its version no longer matches If-Match")


def not_modified(request: Request, version: str) -> Response | None:
    header = request.headers.get("if-none-match")
    if header is None:
        return None
    if header.strip() == "*" or version.removeprefix("W/") in _tags(header):
        return Response(status_code=304, headers={"ETag": version})
    return None


@dataclass(frozen=True)
class TenantFacts:
    allow_username_change: bool
    photos: str
    role_names: list[str]
    team_names: list[str]


async def tenant_facts(rt: Runtime, tenant_id: str) -> TenantFacts:
    async with rt.db.read() as s:
        tenant = await s.get(Tenant, tenant_id)
        roles = (await s.execute(select(Role.name).where(Role.tenant_id == tenant_id))).all()
        teams = (await s.execute(select(Team.name).where(Team.tenant_id == tenant_id))).all()
    settings = tenant.settings if tenant is not None else {}
    return TenantFacts(
        allow_username_change=bool((settings or {}).get(scim.SETTING_ALLOW_USERNAME_CHANGE)),
        photos=str((settings or {}).get(scim.SETTING_PHOTOS, "fetch")),
        role_names=sorted(r for (r,) in roles),
        team_names=sorted(t for (t,) in teams),
    )


def photo_fetcher(rt: Runtime) -> scim.PhotoFetcher:
    fetcher: scim.PhotoFetcher | None = rt.providers.get("scim_photos")
    if fetcher is not None:
        return fetcher
    from switchboard.api.scim.photos import GuardedPhotoFetcher

    # never internal addresses unless the setting fetch_allow_networks allows them
    return GuardedPhotoFetcher(rt.settings.fetch_allow_networks)


async def fetch_photo(rt: Runtime, url: str, mode: str) -> scim.FetchedPhoto:
    """Fetch a photo as the tenant setting ``scim_photos`` says: "fetch" (a URL that
    fails is an error), "lenient" (it is kept without an image) or "url" (not fetched)."""
    if mode == "url":
        return scim.FetchedPhoto(url=url, content_type=None, data=None)
    try:
        return await photo_fetcher(rt).fetch(url)
    except scim.PhotoError:
        if mode == "lenient":
            return scim.FetchedPhoto(url=url, content_type=None, data=None)
        raise


def normalize_id(value: str) -> str:
    """Ids are lower-case UUIDs; the seed's examples spell them in upper case."""
    return value.strip().lower()

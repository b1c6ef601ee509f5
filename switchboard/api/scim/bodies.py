"""The request bodies of the SCIM operations, as the OpenAPI document declares them.

The routes read their bodies themselves (``common.read_object``: ``application/scim+json``,
``application/json``, and, for the seed's Postman collection, ``text/plain``) and validate
them with ``scim2_models``; these JSON schemas describe the same shapes for clients and
for the fuzzer (``tests/test_fuzz_openapi.py``). Unknown attributes are ignored, so the
objects stay open.
"""

from __future__ import annotations

from typing import Any

from switchboard.api.common import body_doc
from switchboard.users.scim import CC_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MEDIA_TYPES = ("application/scim+json", "application/json")


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _multi(**properties: Any) -> dict[str, Any]:
    """A multi-valued attribute: a list of {value, type, primary, ...}."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"value": _string(), **properties},
            "required": ["value"],
        },
    }


USER: dict[str, Any] = {
    "type": "object",
    "required": ["schemas", "userName"],
    "properties": {
        "schemas": {
            "type": "array",
            "items": {"type": "string", "enum": [USER_SCHEMA, CC_SCHEMA]},
            "minItems": 1,
        },
        "externalId": _string(),
        "userName": {"type": "string", "description": "The loginId"},
        "name": {
            "type": "object",
            "properties": {"givenName": _string(), "familyName": _string()},
        },
        "nickName": _string(),
        "title": _string(),
        "timezone": {"type": "string", "description": "IANA time zone"},
        "active": {"type": "boolean"},
        "password": _string(),
        "emails": _multi(type=_string(), primary={"type": "boolean"}),
        "phoneNumbers": _multi(type=_string(), primary={"type": "boolean"}),
        "addresses": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": _string(),
                    "locality": _string(),
                    "region": _string(),
                    "country": _string(),
                    "primary": {"type": "boolean"},
                },
            },
        },
        "photos": _multi(
            type=_string(), primary={"type": "boolean"}, value={"type": "string", "format": "uri"}
        ),
        "roles": _multi(),
        CC_SCHEMA: {
            "type": "object",
            "properties": {
                "team": {"type": "string", "description": "The name of an existing team"},
                "skills": _multi(level={"type": "integer"}),
            },
        },
    },
    "example": {
        "schemas": [USER_SCHEMA],
        "userName": "jdoe",
        "name": {"givenName": "John", "familyName": "Doe"},
        "emails": [{"value": "jdoe@example.com", "primary": True}],
        "active": True,
    },
}

GROUP: dict[str, Any] = {
    "type": "object",
    "required": ["schemas", "displayName"],
    "properties": {
        "schemas": {
            "type": "array",
            "items": {"type": "string", "enum": [GROUP_SCHEMA]},
            "minItems": 1,
        },
        "displayName": {"type": "string", "description": "The team's name"},
        "members": _multi(type={"type": "string", "enum": ["User"]}),
    },
    "example": {"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": []},
}

PATCH: dict[str, Any] = {
    "type": "object",
    "required": ["schemas", "Operations"],
    "properties": {
        "schemas": {
            "type": "array",
            "items": {"type": "string", "enum": [PATCH_SCHEMA]},
            "minItems": 1,
        },
        "Operations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["op"],
                "properties": {
                    "op": {"type": "string", "enum": ["add", "remove", "replace"]},
                    "path": _string(),
                    "value": {},
                },
            },
        },
    },
    "example": {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    },
}

SEARCH: dict[str, Any] = {
    "type": "object",
    "properties": {
        "schemas": {"type": "array", "items": {"type": "string", "enum": [SEARCH_SCHEMA]}},
        "filter": {"type": "string", "description": 'e.g. userName eq "jdoe"'},
        "attributes": {"type": "array", "items": _string()},
        "excludedAttributes": {"type": "array", "items": _string()},
        "sortBy": _string(),
        "sortOrder": {"type": "string", "enum": ["ascending", "descending"]},
        "startIndex": {"type": "integer"},
        "count": {"type": "integer"},
    },
    "example": {"schemas": [SEARCH_SCHEMA], "filter": 'userName sw "j"', "count": 10},
}


def doc(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a SCIM body (in either media type)."""
    return body_doc(schema, MEDIA_TYPES[0], also=MEDIA_TYPES[1:])


USER_DOC = doc(USER)
GROUP_DOC = doc(GROUP)
PATCH_DOC = doc(PATCH)
SEARCH_DOC = doc(SEARCH)
